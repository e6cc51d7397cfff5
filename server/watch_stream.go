package server

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/server/v3http"
)

// memberWatch is a member's watch stream (one POST /v3/watch): an
// mvcc.WatchStream on the member's current store that survives the store
// being replaced.
//
// Installing a snapshot from the leader swaps the store and closes the old
// one (snap.go installSnapshot), which closes every mvcc stream on it. The
// forwarder goroutine (run) then opens a stream on the new store and
// re-registers every watcher with its ID and options, starting at the
// first revision it has not delivered, so the client sees no gap and no
// duplicate; a watcher whose next revision the new store has compacted
// gets the ordinary compacted cancel. Control responses that the closed
// stream had not delivered yet (created, canceled, enqueued) are produced
// here, in order, before anything from the new stream; the Created that
// re-registration produces is dropped.
//
// Watch IDs the client leaves to the server are assigned here (the lowest
// free ID from a counter that only grows, as etcd's stream does), so the
// sequence does not restart with the new mvcc stream.
//
// Concurrency: calls (Watch, Cancel, RequestProgress, Enqueue) and the
// forwarder share mu; a call made while the store is being swapped waits
// for the swap and goes to the new stream. Lock order: mu, then mvcc's
// hub (mvcc calls are made under mu; the hub never waits for mu).
type memberWatch struct {
	s      *Server
	out    chan mvcc.WatchResponse // closed when the forwarder exits
	ctx    context.Context         // ends on Close or member stop
	cancel context.CancelFunc
	done   chan struct{} // closed when the forwarder exits
	// failed is why the stream ended, when the member ended it (set
	// before ctx is canceled): Recv returns it instead of ErrClosed.
	failed atomic.Pointer[error]

	mu struct {
		sync.Mutex
		store *mvcc.Store
		ws    *mvcc.WatchStream
		// swapped is closed (and replaced) each time ws is replaced.
		swapped chan struct{}
		// watchers are the live watchers, by ID: every watcher created
		// and neither canceled by a call nor seen canceled by mvcc.
		watchers map[int64]*memberWatcher
		// nextID is the next automatic watch ID (never decreases).
		nextID int64
		// pending are the control responses of calls, in call order,
		// not yet forwarded: what to produce if the stream closes.
		pending []mvcc.WatchResponse
		// progress: a RequestProgress is not answered yet.
		progress bool
	}
}

// memberWatcher is what re-registering a watcher needs.
type memberWatcher struct {
	req mvcc.WatchRequest // as created, with its ID
	// next is the first revision not yet forwarded to the client.
	// Invariant: every matching event below next was forwarded.
	next int64
	// createdSeen: its Created was forwarded; until then responses
	// with its ID belong to an earlier watcher with the same ID.
	createdSeen bool
	// suppressCreated: re-registered; drop the Created mvcc sends.
	suppressCreated bool
}

var _ v3http.WatchStream = (*memberWatch)(nil)

// newMemberWatch opens a watch stream on the member's current store.
func (s *Server) newMemberWatch() (*memberWatch, error) {
	select {
	case <-s.stopc:
		return nil, ErrStopped
	default:
	}
	if s.Leader() != raftpb.None {
		// The guard is polled every heartbeat: do not refuse a watch in
		// the heartbeat after a leader became known.
		s.watchGuard.set(0, s.cfg.ElectionTimeout)
	}
	lost, leaderless := s.watchGuard.current()
	if leaderless {
		return nil, ErrNoLeader
	}
	store := s.Store()
	ws, err := store.NewWatchStream()
	if err != nil {
		return nil, err
	}
	m := &memberWatch{s: s, out: make(chan mvcc.WatchResponse), done: make(chan struct{})}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.mu.store, m.mu.ws = store, ws
	m.mu.swapped = make(chan struct{})
	m.mu.watchers = make(map[int64]*memberWatcher)
	go func() {
		select {
		case <-s.stopc:
			m.cancel()
		case <-lost:
			// Cut off from the leader: the store no longer moves.
			err := ErrNoLeader
			m.failed.Store(&err)
			m.cancel()
		case <-m.ctx.Done():
		}
	}()
	go m.run()
	return m, nil
}

// call runs f on the current mvcc stream under mu; when the stream turns
// out closed by a store swap, it waits for the forwarder to replace it and
// runs f again. f changes state only after its mvcc call succeeded.
func (m *memberWatch) call(f func(ws *mvcc.WatchStream) error) error {
	for {
		m.mu.Lock()
		swapped := m.mu.swapped
		err := f(m.mu.ws)
		m.mu.Unlock()
		if !errors.Is(err, mvcc.ErrClosed) {
			return err
		}
		select {
		case <-swapped:
		case <-m.done:
			return mvcc.ErrClosed
		}
	}
}

// Watch creates a watcher; see v3http.WatchStream.
func (m *memberWatch) Watch(req mvcc.WatchRequest) (int64, error) {
	var id int64
	err := m.call(func(ws *mvcc.WatchStream) error {
		st := m.mu.store.Status()
		r := req
		r.StartRevision = v3http.LenientWatchStart(r.StartRevision, int64(st.CompactRevision))
		id = r.WatchID
		auto := id == 0
		if auto {
			id = m.mu.nextID
			for m.mu.watchers[id] != nil {
				id++
			}
			// mvcc picks 0 itself when asked for 0 (its "any ID").
			r.WatchID = id
		}
		got, err := ws.Watch(r)
		if err != nil {
			return err
		}
		if got != id {
			m.s.log.Error("watch: mvcc assigned an unexpected watch ID", "want", id, "got", got)
			id = got
		}
		if auto {
			m.mu.nextID = id + 1
		}
		r.WatchID = id
		w := &memberWatcher{req: r, next: r.StartRevision}
		if w.next == 0 {
			// Refined to the Created header's revision + 1 when it
			// is forwarded; a lower bound is safe meanwhile.
			w.next = int64(st.Revision) + 1
		}
		m.mu.watchers[id] = w
		m.mu.pending = append(m.mu.pending, mvcc.WatchResponse{
			Header: mvcc.ResponseHeader{Revision: int64(st.Revision)}, WatchID: id, Created: true})
		return nil
	})
	return id, err
}

// Cancel removes a watcher; see v3http.WatchStream.
func (m *memberWatch) Cancel(id int64) error {
	return m.call(func(ws *mvcc.WatchStream) error {
		if err := ws.Cancel(id); err != nil {
			return err
		}
		delete(m.mu.watchers, id)
		m.mu.pending = append(m.mu.pending, mvcc.WatchResponse{
			Header: mvcc.ResponseHeader{Revision: m.mu.store.Rev()}, WatchID: id, Canceled: true})
		return nil
	})
}

// RequestProgress asks for a stream-wide progress response.
func (m *memberWatch) RequestProgress() error {
	return m.call(func(ws *mvcc.WatchStream) error {
		if err := ws.RequestProgress(); err != nil {
			return err
		}
		m.mu.progress = true
		return nil
	})
}

// Enqueue queues r behind everything queued so far.
func (m *memberWatch) Enqueue(r mvcc.WatchResponse) error {
	return m.call(func(ws *mvcc.WatchStream) error {
		if err := ws.Enqueue(r); err != nil {
			return err
		}
		m.mu.pending = append(m.mu.pending, r)
		return nil
	})
}

// Recv returns the next response; ErrClosed once the stream ended, or
// ErrNoLeader when the member ended it for having no leader.
func (m *memberWatch) Recv(ctx context.Context) (mvcc.WatchResponse, error) {
	select {
	case r, ok := <-m.out:
		if !ok {
			if p := m.failed.Load(); p != nil {
				return mvcc.WatchResponse{}, *p
			}
			return mvcc.WatchResponse{}, mvcc.ErrClosed
		}
		return r, nil
	case <-ctx.Done():
		return mvcc.WatchResponse{}, ctx.Err()
	}
}

// Close ends the stream and waits for the forwarder to exit.
func (m *memberWatch) Close() {
	m.cancel()
	m.mu.Lock()
	m.mu.ws.Close()
	m.mu.Unlock()
	<-m.done
}

// run is the forwarder: it moves responses from the mvcc stream to out,
// keeping what re-registration needs, and swaps streams when the store is
// replaced. It exits on Close, on member stop, or when the store closes
// without a replacement.
func (m *memberWatch) run() {
	defer close(m.done)
	defer close(m.out)
	for {
		m.mu.Lock()
		ws := m.mu.ws
		m.mu.Unlock()
		r, err := ws.Recv(m.ctx)
		if err != nil {
			if !errors.Is(err, mvcc.ErrClosed) || m.ctx.Err() != nil {
				return
			}
			lost, ok := m.swap(ws)
			if !ok {
				return
			}
			for _, r := range lost {
				if !m.emit(r) {
					return
				}
			}
			continue
		}
		if m.track(&r) && !m.emit(r) {
			return
		}
	}
}

func (m *memberWatch) emit(r mvcc.WatchResponse) bool {
	select {
	case m.out <- r:
		return true
	case <-m.ctx.Done():
		return false
	}
}

// track updates the re-registration state for a response from mvcc and
// reports whether it goes to the client.
func (m *memberWatch) track(r *mvcc.WatchResponse) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.mu.watchers[r.WatchID]
	if len(m.mu.pending) > 0 && len(r.Events) == 0 && r.CompactRevision == 0 {
		p := m.mu.pending[0]
		if p.WatchID == r.WatchID && p.Created == r.Created && p.Canceled == r.Canceled && (r.Created || r.Canceled) &&
			!(r.Created && w != nil && w.suppressCreated) {
			m.mu.pending = m.mu.pending[1:]
		}
	}
	switch {
	case len(r.Events) > 0:
		if w != nil && w.createdSeen {
			w.next = r.Events[len(r.Events)-1].Kv.ModRevision + 1
		}
	case r.Created && r.Canceled:
		// A refused create (enqueued): nothing to track.
	case r.Created:
		if w == nil {
			break
		}
		if w.suppressCreated {
			w.suppressCreated = false
			return false
		}
		w.createdSeen = true
		if w.req.StartRevision == 0 {
			w.next = r.Header.Revision + 1
		}
	case r.Canceled:
		if r.CompactRevision != 0 && w != nil && w.createdSeen {
			delete(m.mu.watchers, r.WatchID)
		}
	case r.WatchID == mvcc.ProgressWatchID:
		m.mu.progress = false
		for _, w := range m.mu.watchers {
			if w.createdSeen {
				w.next = max(w.next, r.Header.Revision+1)
			}
		}
	default: // a watcher's progress notification
		if w != nil && w.createdSeen {
			w.next = max(w.next, r.Header.Revision+1)
		}
	}
	return true
}

// swap replaces the closed stream old by a stream on the member's new
// store and re-registers every watcher. It returns the control responses
// the old stream lost, to be forwarded first; ok is false when there is
// no new store (the member is stopping).
func (m *memberWatch) swap(old *mvcc.WatchStream) (lost []mvcc.WatchResponse, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.ws != old {
		return nil, true
	}
	store := m.s.Store()
	if store == m.mu.store || m.ctx.Err() != nil {
		return nil, false
	}
	ws, err := store.NewWatchStream()
	if err != nil {
		// The new store closed too: the next Recv sees ErrClosed and
		// swaps again, or the member is stopping.
		m.s.log.Warn("watch: cannot reopen stream on the new store", "err", err)
		m.mu.store = store
		return nil, m.ctx.Err() == nil && m.s.Store() != store
	}
	lost = m.mu.pending
	m.mu.pending = nil
	for _, r := range lost {
		if w := m.mu.watchers[r.WatchID]; w != nil && r.Created && !r.Canceled {
			w.createdSeen = true
		}
	}
	ids := make([]int64, 0, len(m.mu.watchers))
	for id := range m.mu.watchers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		w := m.mu.watchers[id]
		req := w.req
		req.StartRevision = w.next
		got, err := ws.Watch(req)
		if err != nil || got != id {
			m.s.log.Error("watch: re-registering a watcher after a snapshot failed", "watch_id", id, "got", got, "err", err)
			delete(m.mu.watchers, id)
			lost = append(lost, mvcc.WatchResponse{Header: mvcc.ResponseHeader{Revision: store.Rev()}, WatchID: id,
				Canceled: true, CancelReason: "shelf: watch lost while installing a snapshot"})
			continue
		}
		w.suppressCreated = true
	}
	if m.mu.progress {
		_ = ws.RequestProgress()
	}
	m.s.log.Info("watch stream moved to the store installed from a snapshot", "watchers", len(ids), "revision", store.Rev())
	m.mu.store, m.mu.ws = store, ws
	close(m.mu.swapped)
	m.mu.swapped = make(chan struct{})
	return lost, true
}
