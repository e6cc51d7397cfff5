package transport

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// gate throttles connections deterministically: once a connection has
// written more than allowance bytes, its writes block until open is
// closed (or the connection is closed). blocked is closed the first time
// any write blocks.
type gate struct {
	allowance int
	open      chan struct{}
	once      sync.Once
	blocked   chan struct{}
}

func newGate(allowance int) *gate {
	return &gate{allowance: allowance, open: make(chan struct{}), blocked: make(chan struct{})}
}

func (g *gate) dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &gatedConn{Conn: c, g: g, closed: make(chan struct{})}, nil
}

type gatedConn struct {
	net.Conn
	g       *gate
	written int
	// deadline is the last write deadline set; a blocked Write honours it
	// like a socket would. Only the writing goroutine touches it.
	deadline  time.Time
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *gatedConn) SetWriteDeadline(t time.Time) error {
	c.deadline = t
	return c.Conn.SetWriteDeadline(t)
}

func (c *gatedConn) Write(p []byte) (int, error) {
	if c.written+len(p) > c.g.allowance {
		select {
		case <-c.g.open:
		default:
			c.g.once.Do(func() { close(c.g.blocked) })
			var expired <-chan time.Time
			if !c.deadline.IsZero() {
				timer := time.NewTimer(time.Until(c.deadline))
				defer timer.Stop()
				expired = timer.C
			}
			select {
			case <-c.g.open:
			case <-c.closed:
				return 0, net.ErrClosed
			case <-expired:
				return 0, os.ErrDeadlineExceeded
			}
		}
	}
	n, err := c.Conn.Write(p)
	c.written += n
	return n, err
}

func (c *gatedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// TestHeartbeatNotStuckBehindLargeAppend: a 20 MiB MsgApp is in flight on
// a connection that stops accepting bytes after 1 MiB; heartbeats sent
// after it still arrive while it is stuck, and it arrives intact once the
// connection is released. With a single stream per peer this test would
// time out: the heartbeats would queue behind the append.
func TestHeartbeatNotStuckBehindLargeAppend(t *testing.T) {
	checkNoLeaks(t)
	g := newGate(1 << 20)
	// The write deadline is armed before a gated Write blocks: keep it far
	// beyond how long the gate may stay closed on a loaded machine.
	a := startNode(t, 1, "127.0.0.1:0", func(c *Config) { c.Dial, c.WriteTimeout = g.dial, 10*waitTimeout })
	b := startNode(t, 2, "127.0.0.1:0", nil)
	mesh(t, a, b)
	waitReachable(t, a, b)

	big := make([]byte, 20<<20)
	fillPattern(big, 0)
	a.tr.Send([]raftpb.Message{{Type: raftpb.MsgApp, From: 1, To: 2, Term: 1, Index: 7,
		Entries: []raftpb.Entry{{Term: 1, Index: 8, Data: big}}}})
	<-g.blocked // the append's frame is now stuck mid-write

	const beats = 5
	for i := 1; i <= beats; i++ {
		a.tr.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Term: 1, Commit: raftpb.Index(i)}})
	}
	b.rec.wait(t, "heartbeats while the append is stuck", func(r *recorder) bool { return len(r.msgs) >= beats }, nil)
	for i, m := range b.rec.from(1) {
		if m.Type != raftpb.MsgHeartbeat || m.Commit != raftpb.Index(i+1) {
			t.Fatalf("message %d before the gate opened is %v; want heartbeat commit=%d (the append must still be in flight)", i, m, i+1)
		}
	}

	close(g.open)
	b.rec.wait(t, "the large append", func(r *recorder) bool { return len(r.msgs) == beats+1 }, nil)
	m := b.rec.from(1)[beats]
	if m.Type != raftpb.MsgApp || m.Index != 7 || len(m.Entries) != 1 || len(m.Entries[0].Data) != len(big) {
		t.Fatalf("last message is %v, want the 20 MiB MsgApp", m)
	}
	if !bytes.Equal(m.Entries[0].Data, big) {
		t.Fatal("the append's data was corrupted in transit")
	}
}

// TestStalledPeer: a peer that accepts the connection but stops reading
// (a SIGSTOPped process, a full receive window) neither blocks Send nor
// holds the stream forever: the write deadline fails the connection, the
// loss is reported, and the writer redials.
func TestStalledPeer(t *testing.T) {
	checkNoLeaks(t)
	g := newGate(256 << 10) // never opened
	a := startNode(t, 1, "127.0.0.1:0", func(c *Config) {
		c.Dial, c.WriteTimeout, c.AppQueueSize = g.dial, 50*time.Millisecond, 16
	})
	b := startNode(t, 2, "127.0.0.1:0", nil)
	mesh(t, a, b)
	waitReachable(t, a, b)
	entry := make([]byte, 64<<10)
	for i := range 1000 { // 64 MiB offered to a stream that takes 256 KiB
		a.tr.Send([]raftpb.Message{{Type: raftpb.MsgApp, From: 1, To: 2, Term: 1, Index: raftpb.Index(i),
			Entries: []raftpb.Entry{{Term: 1, Index: raftpb.Index(i + 1), Data: entry}}}})
	}
	a.rec.wait(t, "the write timeout to fail the stream", func(*recorder) bool {
		return a.logs.contains("i/o timeout")
	}, func() {})
	a.rec.mu.Lock()
	reported := a.rec.unreachable[2]
	a.rec.mu.Unlock()
	if reported == 0 {
		t.Fatal("drops to a stalled peer were not reported")
	}
	a.rec.wait(t, "a redial after the timeout", func(*recorder) bool {
		return strings.Count(a.logs.String(), `msg="peer stream connected" member=1 peer=2 stream=app`) >= 2
	}, func() {})
}
