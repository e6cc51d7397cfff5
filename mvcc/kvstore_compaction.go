package mvcc

import (
	"context"
	"fmt"
	"runtime"
	"sort"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Compact applies a compaction at rev as raft entry idx. From now on reads
// below rev fail with ErrCompacted and watchers that still need revisions
// below rev are cancelled. The revisions themselves are dropped in the
// background by the compactor, in batches, so this returns at once; every
// read at or above rev gives the same answer before, during and after.
// rev <= the previous compact revision is ErrCompacted, rev above the
// current revision ErrFutureRev; errors still record idx as applied.
func (s *Store) Compact(idx raftpb.Index, rev int64) (*CompactResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginApplyLocked(idx); err != nil {
		return nil, err
	}
	switch {
	case rev < 0:
		return nil, fmt.Errorf("%w: compact %d", ErrNegativeRevision, rev)
	case rev <= s.mu.compactRev:
		return nil, fmt.Errorf("%w: compact %d <= compact revision %d", ErrCompacted, rev, s.mu.compactRev)
	case rev > s.mu.rev:
		return nil, fmt.Errorf("%w: compact %d > current %d", ErrFutureRev, rev, s.mu.rev)
	}
	s.mu.compactRev = rev
	s.compactor.kickIt()
	s.hub.wake()
	return &CompactResponse{Header: ResponseHeader{Revision: s.mu.rev}}, nil
}

// compactor owns the goroutine that physically drops compacted revisions.
// It holds Store.mu for writing for one batch of keys at a time.
type compactor struct {
	s    *Store
	kick chan struct{} // capacity 1: "compactRev moved"
	quit chan struct{}
	done chan struct{}
}

// newCompactor starts the compactor goroutine; stop ends it.
func newCompactor(s *Store) *compactor {
	c := &compactor{s: s, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// kickIt asks for a sweep; it never blocks (kicks coalesce).
func (c *compactor) kickIt() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// stop ends the goroutine, abandoning a sweep between two batches (the
// store stays consistent: each batch is complete).
func (c *compactor) stop() {
	close(c.quit)
	<-c.done
}

// run sweeps once per kick until stopped.
func (c *compactor) run() {
	defer close(c.done)
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
		}
		c.sweep()
	}
}

// sweep walks the whole keyspace in batches, dropping what compaction at
// the current compact revision no longer needs, then trims the log. If
// the compact revision moves during the walk, later batches use the new
// one; the next kick walks again.
func (c *compactor) sweep() {
	s := c.s
	cursor, first := "", true
	var swept int64 // the lowest target any batch used
	for {
		select {
		case <-c.quit:
			return
		default:
		}
		s.mu.Lock()
		target := c.targetLocked()
		if first {
			if target <= s.mu.swept {
				s.mu.Unlock()
				return
			}
			swept = target
		}
		n := s.sweepBatchLocked(&cursor, first, target)
		s.mu.Unlock()
		first = false
		if n < s.cfg.CompactionBatch {
			break
		}
		// Let the writer and readers waiting for the lock in first.
		runtime.Gosched()
	}
	s.mu.Lock()
	s.trimLogLocked(swept)
	s.mu.swept = swept
	s.releaseWaitersLocked(false)
	s.mu.Unlock()
}

// sweptWaiter is one WaitCompaction call.
type sweptWaiter struct {
	rev int64
	ch  chan struct{}
}

// WaitCompaction blocks until the compactor has physically dropped what
// compaction at rev made unreachable (etcd's "physical" compaction), the
// store closes (ErrClosed) or ctx ends. It returns at once for a revision
// already swept; for a revision never compacted it waits for ctx.
func (s *Store) WaitCompaction(ctx context.Context, rev int64) error {
	s.mu.Lock()
	if s.mu.swept >= rev {
		s.mu.Unlock()
		return nil
	}
	if s.mu.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	w := sweptWaiter{rev: rev, ch: make(chan struct{})}
	s.mu.sweptWaiters = append(s.mu.sweptWaiters, w)
	s.mu.Unlock()
	select {
	case <-w.ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mu.swept >= rev {
		return nil
	}
	return ErrClosed
}

// releaseWaitersLocked wakes the waiters whose revision is swept (all of
// them when closing). Callers hold mu for writing.
func (s *Store) releaseWaitersLocked(all bool) {
	keep := s.mu.sweptWaiters[:0]
	for _, w := range s.mu.sweptWaiters {
		if all || w.rev <= s.mu.swept {
			close(w.ch)
			continue
		}
		keep = append(keep, w)
	}
	s.mu.sweptWaiters = keep
}

// targetLocked is the revision the compactor may sweep at: the compact
// revision, but never above what the hub has dispatched, since synced
// watchers still need those revisions (the hub kicks the compactor again
// as it advances).
func (c *compactor) targetLocked() int64 {
	return min(c.s.mu.compactRev, c.s.hub.published.Load()+1)
}

// sweepBatchLocked compacts up to CompactionBatch keys after *cursor (from
// the first key when first) and advances *cursor. It returns how many keys
// it looked at.
func (s *Store) sweepBatchLocked(cursor *string, first bool, target int64) int {
	batch := make([]keyItem, 0, s.cfg.CompactionBatch)
	s.mu.tree.AscendGreaterOrEqual(keyItem{key: *cursor}, func(it keyItem) bool {
		if !first && it.key == *cursor {
			return true
		}
		batch = append(batch, it)
		return len(batch) < s.cfg.CompactionBatch
	})
	for _, it := range batch {
		i := it.firstRetained(target)
		if i == 0 {
			continue
		}
		for j := 0; j < i; j++ {
			s.mu.bytesData -= int64(len(it.revs[j].value)) + recOverhead
		}
		if i == len(it.revs) {
			s.mu.tree.Delete(it)
			s.mu.bytesData -= int64(len(it.key)) + itemOverhead
			continue
		}
		// A fresh slice: views may still hold the old one.
		it.revs = append([]rec(nil), it.revs[i:]...)
		s.mu.tree.ReplaceOrInsert(it)
	}
	if len(batch) > 0 {
		*cursor = batch[len(batch)-1].key
	}
	return len(batch)
}

// trimLogLocked drops log entries below target (no watcher can need them:
// a watcher below the compact revision is cancelled).
func (s *Store) trimLogLocked(target int64) {
	log := s.mu.log
	p := sort.Search(len(log), func(i int) bool { return log[i].main >= target })
	if p == 0 {
		return
	}
	if p > len(log)-p {
		s.mu.log = append(make([]logEnt, 0, (len(log)-p)*5/4+16), log[p:]...)
		return
	}
	s.mu.log = log[p:]
}
