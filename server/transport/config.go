package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Handler is the raft loop's side of the transport: where received messages
// and delivery outcomes go.
//
// Every method may be called from any transport goroutine, concurrently, and
// ReportUnreachable/ReportSnapshot may also be called synchronously from
// inside Send or SendSnapshot (on the caller's goroutine). So no method may
// block for long (hand the value to the raft loop through a buffered channel
// or drop it) and none may call Stop. No transport lock is held during a call.
// After Stop returns, no method is called again.
type Handler interface {
	// Process delivers one message received from a peer, addressed to this
	// member. Messages of one stream (see doc.go) arrive in the order they
	// were sent; a slow Process back-pressures that stream of that peer only.
	Process(m raftpb.Message)
	// ReportUnreachable says a message to id was dropped: its queue was full,
	// the connection failed, or the peer could not be dialled. Raft should
	// treat the peer's progress as unknown and retry; it may be called many
	// times in a row.
	ReportUnreachable(id raftpb.NodeID)
	// ReportSnapshot gives the outcome of a SendSnapshot (or of a MsgSnap
	// passed to Send): ok means the receiver consumed the whole body, its
	// SnapshotHandler returned nil and its Handler got the MsgSnap.
	ReportSnapshot(id raftpb.NodeID, ok bool)
}

// SnapshotHandler is the receiving side of a snapshot transfer. It is called
// with the MsgSnap (metadata in m.Snapshot) and the body as a stream: body
// reads block until the sender's bytes arrive, and return io.EOF after
// exactly the announced size, or an error wrapping ErrSnapshot if the stream
// is cut or inconsistent. The handler typically writes body to a file; it
// must not keep body after returning. If it returns nil (whether or not it
// read everything: the rest is then read and discarded to check it), the
// transport passes m to Handler.Process and tells the sender ok; otherwise
// the sender gets its error text and ReportSnapshot(false).
type SnapshotHandler func(m raftpb.Message, body io.Reader) error

// Config configures a Transport. Zero values take the documented defaults;
// New validates the rest once.
type Config struct {
	// ID is this member's raft id. Required, non-zero.
	ID raftpb.NodeID
	// ClusterID is sent in every handshake; peers of another cluster are
	// refused. Required, non-zero.
	ClusterID uint64
	// Handler receives messages and delivery reports. Required.
	Handler Handler
	// SnapshotHandler consumes received snapshot bodies. nil discards
	// bodies (reading them to the end) and still passes the MsgSnap to Process.
	SnapshotHandler SnapshotHandler
	// Logger receives connection events and refusals. nil discards logs.
	Logger *slog.Logger
	// TLS, if set, wraps every connection: tls.Client for dialling (with
	// ServerName defaulted to the peer's host) and tls.Server for accepting.
	// For mutual TLS set Certificates, RootCAs, ClientCAs and
	// ClientAuth = tls.RequireAndVerifyClientCert. nil = plain TCP.
	TLS *tls.Config
	// Dial opens a raw connection to addr ("host:port"). Default: a
	// net.Dialer with DialTimeout over "tcp". Tests inject throttled conns.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// DialTimeout bounds one dial plus TLS and transport handshake; on the
	// accepting side it bounds how long a new connection may take to
	// complete TLS and send its handshake. Default 1s.
	DialTimeout time.Duration
	// WriteTimeout fails a connection on which no write progress was made
	// for this long (a stalled or paused peer). Default 5s.
	WriteTimeout time.Duration
	// AppQueueSize and MsgQueueSize bound the per-peer queues of MsgApp and
	// of all other messages; a full queue drops the message. Default 4096 each.
	AppQueueSize, MsgQueueSize int
	// MaxFrameSize caps one frame's payload, on send and on receive. An
	// encoded message larger than this is dropped and reported. It must be
	// the same on every member. Default 64 MiB; allowed 4 KiB..1 GiB.
	MaxFrameSize int
	// SnapshotChunkSize is the body bytes per snapshot frame. Default
	// 256 KiB; must not exceed MaxFrameSize.
	SnapshotChunkSize int
	// PingInterval is how often the msg stream sends a ping to measure the
	// round-trip time. Default 5s.
	PingInterval time.Duration
	// BackoffMin and BackoffMax bound the jittered exponential delay
	// between redials of a peer. Defaults 50ms and 5s.
	BackoffMin, BackoffMax time.Duration
	// Seed seeds the backoff jitter (mixed with the peer id and stream, so
	// streams do not redial in lockstep). 0 means "use ID".
	Seed uint64
	// Now is the clock for RTT measurement and I/O deadlines. Default
	// time.Now; a replacement must track the wall clock (deadlines are
	// handed to the kernel).
	Now func() time.Time
	// Registerer, if set, gets the etcd_network_peer_* metrics; Stop
	// unregisters them, so a new Transport may register on it again.
	Registerer prometheus.Registerer
}

// Defaults, named so tests and docs can refer to them.
const (
	DefaultDialTimeout       = time.Second
	DefaultWriteTimeout      = 5 * time.Second
	DefaultQueueSize         = 4096
	DefaultMaxFrameSize      = 64 << 20
	DefaultSnapshotChunkSize = 256 << 10
	DefaultPingInterval      = 5 * time.Second
	DefaultBackoffMin        = 50 * time.Millisecond
	DefaultBackoffMax        = 5 * time.Second
	minFrameSize             = 4 << 10
	maxFrameSizeLimit        = 1 << 30
)

// withDefaults returns c with zero fields defaulted, or an error wrapping
// ErrConfig naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	if c.ID == raftpb.None {
		return bad("ID is required (non-zero)")
	}
	if c.ClusterID == 0 {
		return bad("ClusterID is required (non-zero)")
	}
	if c.Handler == nil {
		return bad("Handler is required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.AppQueueSize == 0 {
		c.AppQueueSize = DefaultQueueSize
	}
	if c.MsgQueueSize == 0 {
		c.MsgQueueSize = DefaultQueueSize
	}
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = DefaultMaxFrameSize
	}
	if c.SnapshotChunkSize == 0 {
		c.SnapshotChunkSize = min(DefaultSnapshotChunkSize, c.MaxFrameSize)
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = max(DefaultBackoffMax, c.BackoffMin)
	}
	if c.Seed == 0 {
		c.Seed = uint64(c.ID)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	switch {
	case c.DialTimeout < 0 || c.WriteTimeout < 0 || c.PingInterval < 0:
		return bad("DialTimeout %v, WriteTimeout %v and PingInterval %v must be positive", c.DialTimeout, c.WriteTimeout, c.PingInterval)
	case c.AppQueueSize < 0 || c.MsgQueueSize < 0:
		return bad("queue sizes must be positive, got AppQueueSize %d MsgQueueSize %d", c.AppQueueSize, c.MsgQueueSize)
	case c.MaxFrameSize < minFrameSize || c.MaxFrameSize > maxFrameSizeLimit:
		return bad("MaxFrameSize %d outside [%d, %d]", c.MaxFrameSize, minFrameSize, maxFrameSizeLimit)
	case c.SnapshotChunkSize < 0 || c.SnapshotChunkSize > c.MaxFrameSize:
		return bad("SnapshotChunkSize %d must be in (0, MaxFrameSize=%d]", c.SnapshotChunkSize, c.MaxFrameSize)
	case c.BackoffMin < 0 || c.BackoffMax < c.BackoffMin:
		return bad("need 0 < BackoffMin (%v) <= BackoffMax (%v)", c.BackoffMin, c.BackoffMax)
	}
	return c, nil
}
