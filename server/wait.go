package server

import (
	"sync"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// result is what applying a request produced, handed to the waiting client.
type result struct {
	resp any
	err  error
}

// waitRegistry maps request IDs to the channel of the client waiting for the
// request to be applied. Registered by client goroutines, triggered by the
// raft loop's apply step.
type waitRegistry struct {
	mu struct {
		sync.Mutex
		m map[uint64]chan result
	}
}

func newWaitRegistry() *waitRegistry {
	w := &waitRegistry{}
	w.mu.m = make(map[uint64]chan result)
	return w
}

// register returns the channel on which the result of request id arrives.
func (w *waitRegistry) register(id uint64) <-chan result {
	ch := make(chan result, 1)
	w.mu.Lock()
	w.mu.m[id] = ch
	w.mu.Unlock()
	return ch
}

// trigger delivers r to the waiter of id, if any (requests proposed by
// other members have none here).
func (w *waitRegistry) trigger(id uint64, r result) {
	w.mu.Lock()
	ch := w.mu.m[id]
	delete(w.mu.m, id)
	w.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// cancel forgets id (the client gave up).
func (w *waitRegistry) cancel(id uint64) {
	w.mu.Lock()
	delete(w.mu.m, id)
	w.mu.Unlock()
}

// appliedNotifier lets readers wait until the applied index reaches a value.
type appliedNotifier struct {
	mu struct {
		sync.Mutex
		applied raftpb.Index
		waiters map[raftpb.Index][]chan struct{}
	}
}

func newAppliedNotifier() *appliedNotifier {
	a := &appliedNotifier{}
	a.mu.waiters = make(map[raftpb.Index][]chan struct{})
	return a
}

// set records that everything up to i is applied and wakes its waiters.
func (a *appliedNotifier) set(i raftpb.Index) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if i <= a.mu.applied {
		return
	}
	a.mu.applied = i
	for at, chs := range a.mu.waiters {
		if at <= i {
			for _, ch := range chs {
				close(ch)
			}
			delete(a.mu.waiters, at)
		}
	}
}

// get returns the applied index.
func (a *appliedNotifier) get() raftpb.Index {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mu.applied
}

// wait returns a channel closed once index i is applied.
func (a *appliedNotifier) wait(i raftpb.Index) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := make(chan struct{})
	if i <= a.mu.applied {
		close(ch)
		return ch
	}
	a.mu.waiters[i] = append(a.mu.waiters[i], ch)
	return ch
}

// len returns the number of requests waiting to be applied.
func (w *waitRegistry) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.mu.m)
}
