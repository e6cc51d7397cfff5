package server

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// readBatch is one ReadIndex round shared by every linearizable read that
// arrived while the previous round was in flight.
type readBatch struct {
	done  chan struct{} // closed when index is known (or err is set)
	index raftpb.Index
	err   error
}

// readBatcher turns concurrent linearizable reads into as few ReadIndex
// rounds as possible: a read joins the pending batch; the read loop sends
// one request per batch, each with a fresh context that is never reused,
// even when a round is retried.
type readBatcher struct {
	s    *Server
	kick chan struct{}
	mu   struct {
		sync.Mutex
		pending *readBatch
	}
	seq uint64 // read loop only
}

func newReadBatcher(s *Server) *readBatcher {
	return &readBatcher{s: s, kick: make(chan struct{}, 1)}
}

// readIndex returns an index such that a read of the local store once it
// has applied that index is linearizable.
func (r *readBatcher) readIndex(ctx context.Context) (raftpb.Index, error) {
	r.mu.Lock()
	b := r.mu.pending
	if b == nil {
		b = &readBatch{done: make(chan struct{})}
		r.mu.pending = b
	}
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	select {
	case <-b.done:
		return b.index, b.err
	case <-ctx.Done():
		return 0, ErrTimeout
	case <-r.s.stopc:
		return 0, errStopped
	}
}

// loop runs the batches, one round at a time.
func (r *readBatcher) loop() {
	for {
		select {
		case <-r.kick:
		case <-r.s.stopc:
			return
		}
		r.mu.Lock()
		b := r.mu.pending
		r.mu.pending = nil
		r.mu.Unlock()
		if b == nil {
			continue
		}
		r.round(b)
	}
}

// round asks raft for a read index for b, retrying with a fresh context
// every election timeout (the leader may have changed and dropped it)
// until it gets one or the member stops.
func (r *readBatcher) round(b *readBatch) {
	for {
		r.seq++
		ctx := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(r.s.id)), r.seq)
		rb := &readBatch{done: make(chan struct{})}
		select {
		case r.s.readc <- readIndexRequest{ctx: ctx, batch: rb}:
		case <-r.s.stopc:
			b.err = errStopped
			close(b.done)
			return
		}
		t := time.NewTimer(r.s.cfg.ElectionTimeout)
		select {
		case <-rb.done:
			t.Stop()
			b.index = rb.index
			close(b.done)
			return
		case <-t.C:
			// No answer: the leader may have changed and dropped the
			// request. Retry with a fresh context.
		case <-r.s.stopc:
			t.Stop()
			b.err = errStopped
			close(b.done)
			return
		}
	}
}
