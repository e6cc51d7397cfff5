package transport

import (
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// countHandler counts deliveries, pokes progress every 256 of them, and
// closes done when want have arrived.
type countHandler struct {
	n        atomic.Int64
	want     int64
	done     chan struct{}
	progress chan struct{}
}

func (h *countHandler) Process(raftpb.Message) {
	n := h.n.Add(1)
	if n == h.want {
		close(h.done)
	}
	if n%256 == 0 {
		select {
		case h.progress <- struct{}{}:
		default:
		}
	}
}
func (h *countHandler) ReportUnreachable(raftpb.NodeID)    {}
func (h *countHandler) ReportSnapshot(raftpb.NodeID, bool) {}

// benchPair starts a sender and a receiver on loopback and waits until the
// sender's streams are up.
func benchPair(b *testing.B, recv Handler) (*Transport, func()) {
	b.Helper()
	quiet := slog.New(slog.DiscardHandler)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	rx, err := New(Config{ID: 2, ClusterID: 1, Handler: recv, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	go rx.Serve(l)
	tx, err := New(Config{ID: 1, ClusterID: 1, Handler: &countHandler{}, Logger: quiet, AppQueueSize: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	rx.AddPeer(1, "127.0.0.1:1")
	tx.AddPeer(2, l.Addr().String())
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !tx.Reachable(2) {
		<-tick.C
	}
	return tx, func() { tx.Stop(); rx.Stop() }
}

// BenchmarkPipelinedAppends measures MsgApp throughput (one 4 KiB entry
// each) from one transport to another over loopback, sent in batches of 64
// like a busy leader's Ready. Reports messages/s and MB/s.
func BenchmarkPipelinedAppends(b *testing.B) {
	h := &countHandler{want: int64(b.N), done: make(chan struct{}), progress: make(chan struct{}, 1)}
	tx, stop := benchPair(b, h)
	defer stop()
	entry := make([]byte, 4<<10)
	batch := make([]raftpb.Message, 0, 64)
	b.SetBytes(int64(len(entry)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch = append(batch, raftpb.Message{Type: raftpb.MsgApp, From: 1, To: 2, Term: 1, Index: raftpb.Index(i),
			Entries: []raftpb.Entry{{Term: 1, Index: raftpb.Index(i + 1), Data: entry}}})
		if len(batch) == cap(batch) || i == b.N-1 {
			tx.Send(batch)
			batch = batch[:0]
			// Stay below the queue bound: a benchmark of drops is no use.
			for int64(i)-h.n.Load() > 1<<15 {
				<-h.progress
			}
		}
	}
	<-h.done
}
