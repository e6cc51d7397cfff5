package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Transport moves raft messages between this member and its peers. Create
// one with New, feed it peers with AddPeer, give it the peer listener with
// Serve, hand it each Ready's messages with Send, and Stop it once.
//
// All methods are safe for concurrent use. Send and SendSnapshot never block
// on the network.
type Transport struct {
	cfg Config
	log *slog.Logger
	met *metrics
	// epoch is cfg.Now() at New; ping payloads are nanoseconds since it.
	epoch time.Time

	// ctx is cancelled by Stop; every goroutine and connection watches it.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts every goroutine the Transport starts. Stop waits for it.
	wg sync.WaitGroup

	// mu guards the fields below. It is never held while calling the
	// Handler or doing I/O, and no other lock is taken while holding it.
	mu struct {
		sync.Mutex
		stopped bool
		peers   map[raftpb.NodeID]*peer
		// inbound maps accepted connections to the member that dialled
		// them (None until its handshake is accepted).
		inbound map[net.Conn]raftpb.NodeID
		// current is the newest accepted app/msg connection per peer and
		// stream. A newer one from the same peer closes the older (the peer
		// redialled, so the old one is dead or half-open).
		// Invariant: every value is also a key of inbound.
		current   map[streamKey]net.Conn
		listeners map[net.Listener]struct{}
	}
}

// New validates cfg and returns a Transport with no peers. It starts no
// goroutine until AddPeer or Serve.
func New(cfg Config) (*Transport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	met, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	t := &Transport{cfg: cfg, met: met, epoch: cfg.Now()}
	t.log = cfg.Logger.With("member", cfg.ID.String())
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.mu.peers = make(map[raftpb.NodeID]*peer)
	t.mu.inbound = make(map[net.Conn]raftpb.NodeID)
	t.mu.current = make(map[streamKey]net.Conn)
	t.mu.listeners = make(map[net.Listener]struct{})
	return t, nil
}

// AddPeer starts the two outbound streams to member id at addr ("host:port").
// They dial in the background and redial with backoff forever, until
// RemovePeer or Stop. Messages from id are accepted only once it is a peer.
// It returns an error wrapping ErrPeerExists if id is already a peer,
// ErrConfig for id None or this member's own id, ErrStopped after Stop.
func (t *Transport) AddPeer(id raftpb.NodeID, addr string) error {
	if id == raftpb.None || id == t.cfg.ID {
		return fmt.Errorf("%w: cannot add peer %s (none or self)", ErrConfig, id)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.stopped {
		return ErrStopped
	}
	if _, ok := t.mu.peers[id]; ok {
		return fmt.Errorf("%w: %s", ErrPeerExists, id)
	}
	t.mu.peers[id] = t.startPeerLocked(id, addr)
	return nil
}

// RemovePeer stops sending to id, drops its queued messages, closes its
// connections (both directions) and refuses its future handshakes. It does
// not wait for the connections' goroutines (Stop does). Removing an unknown
// id returns an error wrapping ErrUnknownPeer.
func (t *Transport) RemovePeer(id raftpb.NodeID) error {
	t.mu.Lock()
	p, ok := t.mu.peers[id]
	if !ok {
		t.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrUnknownPeer, id)
	}
	delete(t.mu.peers, id)
	var conns []net.Conn
	for c, from := range t.mu.inbound {
		if from == id {
			conns = append(conns, c)
		}
	}
	t.mu.Unlock()
	p.stop()
	for _, c := range conns {
		c.Close()
	}
	return nil
}

// UpdatePeer points the outbound streams of id at a new address: current
// outbound connections are closed and queued messages dropped (raft
// retries); inbound connections from id are kept.
func (t *Transport) UpdatePeer(id raftpb.NodeID, addr string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.stopped {
		return ErrStopped
	}
	p, ok := t.mu.peers[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPeer, id)
	}
	p.stop()
	t.mu.peers[id] = t.startPeerLocked(id, addr)
	return nil
}

// Reachable reports whether both outbound streams to id are currently
// connected (handshake accepted). It is a hint for health checks; a
// message sent right after it returns true may still be lost.
func (t *Transport) Reachable(id raftpb.NodeID) bool {
	t.mu.Lock()
	p := t.mu.peers[id]
	t.mu.Unlock()
	return p != nil && p.app.connected.Load() && p.msg.connected.Load()
}

// Send queues msgs for their recipients and returns at once. A MsgApp goes
// on the recipient's app stream, a MsgSnap is sent as SendSnapshot(m, empty
// body, 0), anything else goes on the msg stream. A message whose queue is
// full, or that is queued while the peer is unreachable, is dropped and
// reported with Handler.ReportUnreachable (synchronously, for a full
// queue). Messages to an id that is not a peer are dropped and logged.
// Send does not retain msgs' slices beyond encoding, but the caller must
// not modify the messages' Entries/Context while they are queued.
func (t *Transport) Send(msgs []raftpb.Message) {
	for i := range msgs {
		m := msgs[i]
		if m.Type == raftpb.MsgSnap {
			t.SendSnapshot(m, io.NopCloser(eofReader{}), 0)
			continue
		}
		t.mu.Lock()
		p, ok := t.mu.peers[m.To]
		t.mu.Unlock()
		if !ok {
			t.log.Debug("dropping message to unknown peer", "to", m.To.String(), "type", m.Type.String())
			continue
		}
		w := p.msg
		if m.Type == raftpb.MsgApp {
			w = p.app
		}
		select {
		case w.queue <- m:
		default:
			t.met.sentFailures.WithLabelValues(peerLabel(m.To)).Inc()
			t.log.Debug("peer queue full, dropping message", "to", m.To.String(), "stream", w.kind.String(), "type", m.Type.String())
			t.cfg.Handler.ReportUnreachable(m.To)
		}
	}
}

// Serve accepts peer connections on l until l fails or Stop is called, and
// handles each on its own goroutine. It blocks; run it on a goroutine of
// your own. Stop closes l. It returns nil after Stop, ErrStopped if called
// after Stop (closing l), ErrConfig for a nil l, or the accept error that
// ended it.
func (t *Transport) Serve(l net.Listener) error {
	if l == nil {
		return fmt.Errorf("%w: Serve needs a listener, got nil", ErrConfig)
	}
	t.mu.Lock()
	if t.mu.stopped {
		t.mu.Unlock()
		l.Close()
		return ErrStopped
	}
	t.mu.listeners[l] = struct{}{}
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.mu.listeners, l)
		t.mu.Unlock()
	}()
	for {
		conn, err := l.Accept()
		if err != nil {
			if t.ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("transport: accepting peer connections on %s: %w", l.Addr(), err)
		}
		if !t.track(conn) {
			conn.Close()
			return nil
		}
		go t.handleInbound(conn)
	}
}

// track registers an accepted connection and its goroutine; false after Stop.
func (t *Transport) track(conn net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.stopped {
		return false
	}
	t.mu.inbound[conn] = raftpb.None
	t.wg.Add(1)
	return true
}

// Stop closes every listener and connection, drops queued messages, and
// waits until every goroutine of the Transport has ended. In-flight
// SendSnapshot transfers fail (ReportSnapshot false) unless they end
// first. After Stop returns the Handler is never called again; further
// calls to Send are no-ops. Stop is idempotent.
func (t *Transport) Stop() {
	t.mu.Lock()
	if t.mu.stopped {
		t.mu.Unlock()
		t.wg.Wait()
		return
	}
	t.mu.stopped = true
	peers := t.mu.peers
	t.mu.peers = map[raftpb.NodeID]*peer{}
	var closers []io.Closer
	for l := range t.mu.listeners {
		closers = append(closers, l)
	}
	for c := range t.mu.inbound {
		closers = append(closers, c)
	}
	t.mu.Unlock()
	t.cancel()
	for _, p := range peers {
		p.stop()
	}
	for _, c := range closers {
		c.Close()
	}
	t.wg.Wait()
	t.met.unregister()
}

// stoppedErr returns ErrStopped if Stop has begun.
func (t *Transport) stoppedErr() error {
	if t.ctx.Err() != nil {
		return ErrStopped
	}
	return nil
}

// isClosedErr reports whether err is the expected result of closing a
// connection (by us, by Stop or by the peer), as opposed to a fault.
func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, context.Canceled)
}

// streamKey names one inbound stream: the peer that dialled it and its kind.
type streamKey struct {
	from raftpb.NodeID
	kind streamKind
}

// eofReader is an empty snapshot body.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
