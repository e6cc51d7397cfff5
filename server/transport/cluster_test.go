package transport

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// TestDeliveryInOrderThreeMembers: three transports on loopback, every
// member sends interleaved MsgApp and heartbeats to both others; each
// receiver sees, per sender and per stream, exactly 1..n in order.
func TestDeliveryInOrderThreeMembers(t *testing.T) {
	checkNoLeaks(t)
	nodes := []*node{
		startNode(t, 1, "127.0.0.1:0", nil),
		startNode(t, 2, "127.0.0.1:0", nil),
		startNode(t, 3, "127.0.0.1:0", nil),
	}
	mesh(t, nodes...)
	waitReachable(t, nodes...)

	const n = 500
	for _, a := range nodes {
		for i := 1; i <= n; i += 10 {
			var batch []raftpb.Message
			for j := i; j < i+10; j++ {
				for _, b := range nodes {
					if a == b {
						continue
					}
					batch = append(batch,
						raftpb.Message{Type: raftpb.MsgApp, From: a.id, To: b.id, Term: 1, Index: raftpb.Index(j),
							Entries: []raftpb.Entry{{Term: 1, Index: raftpb.Index(j + 1), Data: bytes.Repeat([]byte{byte(j)}, j)}}},
						raftpb.Message{Type: raftpb.MsgHeartbeat, From: a.id, To: b.id, Term: 1, Commit: raftpb.Index(j)})
				}
			}
			a.tr.Send(batch)
		}
	}
	for _, b := range nodes {
		b.rec.wait(t, "all messages", func(r *recorder) bool { return len(r.msgs) == 2*2*n }, nil)
		for _, a := range nodes {
			if a == b {
				continue
			}
			var apps, beats raftpb.Index
			for _, m := range b.rec.from(a.id) {
				switch m.Type {
				case raftpb.MsgApp:
					apps++
					if m.Index != apps || len(m.Entries) != 1 || len(m.Entries[0].Data) != int(apps) {
						t.Fatalf("%s<-%s: MsgApp #%d is %v", b.id, a.id, apps, m)
					}
				case raftpb.MsgHeartbeat:
					beats++
					if m.Commit != beats {
						t.Fatalf("%s<-%s: heartbeat #%d has commit %d", b.id, a.id, beats, m.Commit)
					}
				default:
					t.Fatalf("unexpected %v", m)
				}
			}
			if apps != n || beats != n {
				t.Fatalf("%s<-%s: %d appends and %d heartbeats, want %d each", b.id, a.id, apps, beats, n)
			}
		}
		if got := metricValue(t, b.reg, "etcd_network_peer_received_bytes_total", "From", "1"); b.id != 1 && got <= 0 {
			t.Errorf("%s: received bytes from 1 = %v, want > 0", b.id, got)
		}
	}
	if got := metricValue(t, nodes[0].reg, "etcd_network_peer_sent_bytes_total", "To", "2"); got <= 0 {
		t.Errorf("sent bytes to 2 = %v, want > 0", got)
	}
}

// TestPeerRestartTrafficResumes: a peer stops and a new Transport comes up
// on the same address; the survivor's streams redial and traffic flows
// again both ways, and the outage was reported.
func TestPeerRestartTrafficResumes(t *testing.T) {
	checkNoLeaks(t)
	a := startNode(t, 1, "127.0.0.1:0", nil)
	b := startNode(t, 2, "127.0.0.1:0", nil)
	mesh(t, a, b)
	beat := func(from, to *node, commit raftpb.Index) func() {
		return func() {
			from.tr.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: from.id, To: to.id, Term: 1, Commit: commit}})
		}
	}
	b.rec.wait(t, "a heartbeat before the restart", func(r *recorder) bool { return len(r.msgs) > 0 }, beat(a, b, 1))

	b.stop()
	a.rec.wait(t, "the outage reported", func(r *recorder) bool { return r.unreachable[2] > 0 }, beat(a, b, 2))

	b2 := startNode(t, 2, b.addr, nil)
	if err := b2.tr.AddPeer(1, a.addr); err != nil {
		t.Fatal(err)
	}
	b2.rec.wait(t, "a heartbeat after the restart", func(r *recorder) bool { return len(r.msgs) > 0 }, beat(a, b2, 3))
	a.rec.wait(t, "a heartbeat from the restarted peer", func(r *recorder) bool { return len(r.msgs) > 0 }, beat(b2, a, 4))
	for _, m := range b2.rec.from(1) {
		if m.Commit != 3 {
			t.Fatalf("restarted peer got %v; only commit=3 heartbeats were sent after its start", m)
		}
	}
}

// TestSendNeverBlocksWhenPeerDown: with a peer that never answers and tiny
// queues, Send of many messages returns, drops are reported and counted.
func TestSendNeverBlocksWhenPeerDown(t *testing.T) {
	checkNoLeaks(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	a := startNode(t, 1, "127.0.0.1:0", func(c *Config) { c.AppQueueSize, c.MsgQueueSize = 4, 4 })
	if err := a.tr.AddPeer(2, deadAddr); err != nil {
		t.Fatal(err)
	}
	const total = 2000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range total {
			typ := raftpb.MsgApp
			if i%2 == 0 {
				typ = raftpb.MsgHeartbeat
			}
			a.tr.Send([]raftpb.Message{{Type: typ, From: 1, To: 2, Term: 1, Index: raftpb.Index(i)}})
		}
	}()
	a.rec.wait(t, "Send to return", func(*recorder) bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}, nil)
	a.rec.mu.Lock()
	reported := a.rec.unreachable[2]
	a.rec.mu.Unlock()
	// Every message is dropped: at Send (queue full, reported at once) or
	// by the writer after a failed dial (reported once per drain). At most
	// 4+4 can still sit in the queues.
	if reported == 0 {
		t.Errorf("ReportUnreachable(2) never called for %d sends to a dead peer", total)
	}
	if got := metricValue(t, a.reg, "etcd_network_peer_sent_failures_total", "To", "2"); got < total-8 {
		t.Errorf("sent failures to 2 = %v, want >= %d", got, total-8)
	}
	t.Logf("%d sends: %d ReportUnreachable calls", total, reported)
	if a.tr.Reachable(2) {
		t.Error("a dead peer is reported reachable")
	}
}

// TestRTTMeasuredByPing: the msg stream's ping/pong feeds the RTT histogram.
func TestRTTMeasuredByPing(t *testing.T) {
	checkNoLeaks(t)
	fast := func(c *Config) { c.PingInterval = 5 * time.Millisecond }
	a := startNode(t, 1, "127.0.0.1:0", fast)
	b := startNode(t, 2, "127.0.0.1:0", fast)
	mesh(t, a, b)
	a.rec.wait(t, "three RTT samples", func(*recorder) bool {
		return metricValue(t, a.reg, "etcd_network_peer_round_trip_time_seconds", "To", "2") >= 3
	}, func() {})
}

// TestRemovePeerClosesBothDirections: after RemovePeer, the removed member
// is refused and reported unreachable by its own side.
func TestRemovePeerClosesBothDirections(t *testing.T) {
	checkNoLeaks(t)
	a := startNode(t, 1, "127.0.0.1:0", nil)
	b := startNode(t, 2, "127.0.0.1:0", nil)
	mesh(t, a, b)
	waitReachable(t, a, b)
	if err := a.tr.RemovePeer(2); err != nil {
		t.Fatal(err)
	}
	if err := a.tr.RemovePeer(2); err == nil {
		t.Fatal("removing twice succeeded")
	}
	b.rec.wait(t, "b sees a refuse it", func(r *recorder) bool { return r.unreachable[1] > 0 }, func() {
		b.tr.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 2, To: 1, Term: 1}})
	})
	a.rec.wait(t, "the refusal logged", func(*recorder) bool { return a.logs.contains("is not a peer of member 1") }, func() {
		b.tr.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 2, To: 1, Term: 1}})
	})
	if got := len(a.rec.from(2)); got != 0 {
		t.Errorf("a processed %d messages from a removed peer", got)
	}
}

// TestStopUnderLoad: Stop while appends stream between three members and a
// snapshot is mid-transfer returns, ends every goroutine (checkNoLeaks),
// makes later calls harmless, and calls no Handler method after returning.
func TestStopUnderLoad(t *testing.T) {
	checkNoLeaks(t)
	nodes := []*node{
		startNode(t, 1, "127.0.0.1:0", nil),
		startNode(t, 2, "127.0.0.1:0", nil),
		startNode(t, 3, "127.0.0.1:0", nil),
	}
	mesh(t, nodes...)
	waitReachable(t, nodes...)
	nodes[0].tr.SendSnapshot(snapMsg(1, 2), &patternBody{size: 1 << 30}, 1<<30)
	entry := make([]byte, 16<<10)
	for i := range 200 {
		for _, a := range nodes {
			for _, b := range nodes {
				if a != b {
					a.tr.Send([]raftpb.Message{{Type: raftpb.MsgApp, From: a.id, To: b.id, Term: 1, Index: raftpb.Index(i),
						Entries: []raftpb.Entry{{Term: 1, Index: raftpb.Index(i + 1), Data: entry}}}})
				}
			}
		}
	}
	for _, n := range nodes {
		n.stop()
	}
	counts := make([]int, len(nodes))
	for i, n := range nodes {
		n.rec.mu.Lock()
		counts[i] = len(n.rec.msgs) + len(n.rec.snaps) + len(n.rec.unreachable)
		n.rec.mu.Unlock()
		n.tr.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: n.id, To: 1 + n.id%3, Term: 1}})
		if err := n.tr.AddPeer(9, "127.0.0.1:1"); !errors.Is(err, ErrStopped) {
			t.Errorf("AddPeer after Stop: %v", err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := n.tr.Serve(l); !errors.Is(err, ErrStopped) {
			t.Errorf("Serve after Stop: %v", err)
		}
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve after Stop left its listener open: %v", err)
		}
	}
	for i, n := range nodes {
		n.rec.mu.Lock()
		after := len(n.rec.msgs) + len(n.rec.snaps) + len(n.rec.unreachable)
		n.rec.mu.Unlock()
		if after != counts[i] {
			t.Errorf("node %s: Handler called after Stop returned", n.id)
		}
	}
}
