package transport

import (
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// TestOversizedMessageDroppedNotFatal: a message that encodes above
// MaxFrameSize is dropped and reported on the sending side, and the
// stream keeps working for the next message.
func TestOversizedMessageDroppedNotFatal(t *testing.T) {
	checkNoLeaks(t)
	small := func(c *Config) { c.MaxFrameSize = 8 << 10 }
	a := startNode(t, 1, "127.0.0.1:0", small)
	b := startNode(t, 2, "127.0.0.1:0", small)
	mesh(t, a, b)
	waitReachable(t, a, b)
	a.tr.Send([]raftpb.Message{
		{Type: raftpb.MsgApp, From: 1, To: 2, Term: 1, Index: 1, Entries: []raftpb.Entry{{Term: 1, Index: 2, Data: make([]byte, 9<<10)}}},
		{Type: raftpb.MsgApp, From: 1, To: 2, Term: 1, Index: 2, Entries: []raftpb.Entry{{Term: 1, Index: 3, Data: make([]byte, 1<<10)}}},
	})
	b.rec.wait(t, "the small append", func(r *recorder) bool { return len(r.msgs) == 1 }, nil)
	if m := b.rec.from(1)[0]; m.Index != 2 {
		t.Fatalf("received %v, want only the small append (index 2)", m)
	}
	a.rec.wait(t, "the drop reported", func(r *recorder) bool { return r.unreachable[2] > 0 }, nil)
	if !a.logs.contains("larger than MaxFrameSize") {
		t.Error("the drop was not logged")
	}
}

// TestReceiverRefusesFrameAboveItsLimit: a sender configured with a larger
// MaxFrameSize than the receiver gets its stream cut by the receiver (which
// never allocates the frame), the failure is counted, and the sender
// reconnects and keeps delivering small messages.
func TestReceiverRefusesFrameAboveItsLimit(t *testing.T) {
	checkNoLeaks(t)
	a := startNode(t, 1, "127.0.0.1:0", nil)
	b := startNode(t, 2, "127.0.0.1:0", func(c *Config) { c.MaxFrameSize = 64 << 10 })
	mesh(t, a, b)
	waitReachable(t, a, b)
	a.tr.Send([]raftpb.Message{{Type: raftpb.MsgApp, From: 1, To: 2, Term: 1, Index: 1,
		Entries: []raftpb.Entry{{Term: 1, Index: 2, Data: make([]byte, 100<<10)}}}})
	b.rec.wait(t, "the refusal logged", func(*recorder) bool { return b.logs.contains("frame too large") }, func() {})
	if got := metricValue(t, b.reg, "etcd_network_peer_received_failures_total", "From", "1"); got < 1 {
		t.Errorf("received failures from 1 = %v, want >= 1", got)
	}
	b.rec.wait(t, "a small append after the reconnect", func(r *recorder) bool { return len(r.msgs) > 0 }, func() {
		a.tr.Send([]raftpb.Message{{Type: raftpb.MsgApp, From: 1, To: 2, Term: 1, Index: 5}})
	})
	for _, m := range b.rec.from(1) {
		if m.Index != 5 {
			t.Fatalf("received %v; the oversized append must never arrive", m)
		}
	}
}

// TestUpdatePeerRedials: a peer moves to a new address; after UpdatePeer
// the streams dial the new one and traffic resumes.
func TestUpdatePeerRedials(t *testing.T) {
	checkNoLeaks(t)
	a := startNode(t, 1, "127.0.0.1:0", nil)
	b := startNode(t, 2, "127.0.0.1:0", nil)
	mesh(t, a, b)
	waitReachable(t, a, b)
	// The new incarnation listens while the old one still holds its port,
	// so the addresses differ; then the old one goes away.
	b2 := startNode(t, 2, "127.0.0.1:0", nil)
	b.stop()
	if err := b2.tr.AddPeer(1, a.addr); err != nil {
		t.Fatal(err)
	}
	if err := a.tr.UpdatePeer(2, b2.addr); err != nil {
		t.Fatal(err)
	}
	b2.rec.wait(t, "a heartbeat at the new address", func(r *recorder) bool { return len(r.msgs) > 0 }, func() {
		a.tr.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Term: 1}})
	})
}
