package mvcc

import (
	"fmt"
	"sort"
	"sync/atomic"
)

// watcher is one watch. Owned by the hub goroutine.
type watcher struct {
	id             int64
	st             *streamState
	kr             keyRange
	noPut          bool
	noDelete       bool
	prevKV         bool
	progressNotify bool
	// minRev is the next revision this watcher needs.
	// Invariant: every matching event below minRev has been sent.
	minRev int64
	// synced: the watcher receives new revisions as the hub dispatches
	// them; otherwise it catches up from the log.
	synced bool
	// sentSinceProgress: events were sent since the last ProgressNotify.
	sentSinceProgress bool
}

// wantsEntry reports whether w wants a write of key (a delete when tomb),
// before any event is built.
func (w *watcher) wantsEntry(key string, tomb bool) bool {
	if tomb && w.noDelete || !tomb && w.noPut {
		return false
	}
	return w.kr.contains(key)
}

// wants is wantsEntry for a built event.
func (w *watcher) wants(ev *Event) bool {
	if ev.Type == EventPut && w.noPut || ev.Type == EventDelete && w.noDelete {
		return false
	}
	return w.kr.contains(string(ev.Kv.Key))
}

// streamState is the hub's view of a WatchStream.
type streamState struct {
	ws       *WatchStream
	watchers map[int64]*watcher
	nextID   int64
	// backlog holds control responses (created, canceled, progress) that
	// did not fit in the channel. Events are sent only when it is empty,
	// which keeps every response in order.
	backlog         []WatchResponse
	progressPending bool
}

// hub is the single owner of every watcher and stream (see doc.go). All
// fields below the channels are touched only by the hub goroutine.
type hub struct {
	s     *Store
	wakeC chan struct{} // capacity 1: "something may have changed"
	ctl   chan func()
	quit  chan struct{}
	done  chan struct{}
	// published is rev, readable by the compactor: revisions above it
	// may not have reached synced watchers yet, so the compactor keeps
	// what they need.
	published atomic.Int64

	rev      int64 // every event <= rev went to the synced watchers
	streams  map[*WatchStream]*streamState
	unsynced map[*watcher]struct{}
	synced   map[*watcher]struct{}
}

// newHub starts the hub goroutine at the store's current revision; it must
// run before any write (New and Restorer.Finish call it).
func newHub(s *Store) *hub {
	h := &hub{
		s:        s,
		wakeC:    make(chan struct{}, 1),
		ctl:      make(chan func()),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		rev:      s.mu.rev,
		streams:  make(map[*WatchStream]*streamState),
		unsynced: make(map[*watcher]struct{}),
		synced:   make(map[*watcher]struct{}),
	}
	h.published.Store(h.rev)
	go h.run()
	return h
}

// wake tells the hub to look for work. It never blocks.
func (h *hub) wake() {
	select {
	case h.wakeC <- struct{}{}:
	default:
	}
}

// stop ends the hub goroutine and waits for it; streams get closed.
func (h *hub) stop() {
	close(h.quit)
	<-h.done
}

// do runs f on the hub goroutine and waits for it.
func (h *hub) do(f func()) error {
	fin := make(chan struct{})
	select {
	case h.ctl <- func() { f(); close(fin) }:
	case <-h.done:
		return ErrClosed
	}
	select {
	case <-fin:
		return nil
	case <-h.done:
		return ErrClosed
	}
}

// run is the hub goroutine. Every wake-up (a write, a consumer read, a
// control call) ends in one round, so no work is left waiting for a timer:
// the hub needs no clock. On quit it closes every stream's channel, which
// makes Recv return ErrClosed.
func (h *hub) run() {
	defer close(h.done)
	for {
		select {
		case <-h.quit:
			for _, st := range h.streams {
				close(st.ws.ch)
			}
			return
		case f := <-h.ctl:
			f()
		case <-h.wakeC:
		}
		h.round()
	}
}

// round does all currently possible work: flush backlogs, dispatch new
// revisions, catch up unsynced watchers, answer deferred progress requests.
func (h *hub) round() {
	for _, st := range h.streams {
		h.flush(st)
	}
	h.dispatch()
	more := h.syncUnsynced()
	for _, st := range h.streams {
		h.tryProgress(st)
		h.flush(st)
	}
	if more {
		h.wake()
	}
}

// flush moves control responses from the backlog into the channel while
// there is room; it never blocks.
func (h *hub) flush(st *streamState) {
	for len(st.backlog) > 0 {
		select {
		case st.ws.ch <- st.backlog[0]:
			st.backlog = st.backlog[1:]
		default:
			return
		}
	}
}

// send delivers an event response if the stream has room right now.
func (h *hub) send(st *streamState, r WatchResponse) bool {
	if len(st.backlog) > 0 {
		return false
	}
	select {
	case st.ws.ch <- r:
		return true
	default:
		return false
	}
}

// control queues a control response behind everything already sent to
// the stream; it is never dropped, whatever the consumer's speed (the
// backlog is bounded by the number of control calls the client makes).
func (h *hub) control(st *streamState, r WatchResponse) {
	st.backlog = append(st.backlog, r)
	h.flush(st)
}

// dispatch sends every revision above h.rev to the synced watchers, in
// bounded chunks. A watcher whose stream is full becomes unsynced at the
// first revision it did not get.
func (h *hub) dispatch() {
	s := h.s
	// PrevKv costs an index lookup per event: only when someone wants it.
	wantPrev := false
	for w := range h.synced {
		wantPrev = wantPrev || w.prevKV
	}
	for {
		s.mu.RLock()
		cur, compactRev, swept := s.mu.rev, s.mu.compactRev, s.mu.swept
		if cur <= h.rev {
			s.mu.RUnlock()
			if swept < compactRev {
				s.compactor.kickIt()
			}
			return
		}
		if len(h.synced) == 0 {
			// Nobody to tell: skip the revisions without reading them.
			s.mu.RUnlock()
			h.rev = cur
			h.published.Store(cur)
			continue
		}
		evs, upto := s.readEventsLocked(h.rev+1, cur, s.cfg.WatchBatchEvents, h.anySynced, wantPrev)
		s.mu.RUnlock()
		for w := range h.synced {
			sel := selectEvents(evs, w)
			if len(sel) == 0 {
				continue
			}
			r := WatchResponse{Header: ResponseHeader{Revision: upto}, WatchID: w.id, Events: sel}
			if !h.send(w.st, r) {
				// Full stream: fall back to history from the first
				// revision of this chunk; nothing is lost, the writer
				// never waited.
				w.minRev = max(w.minRev, h.rev+1)
				w.synced = false
				delete(h.synced, w)
				h.unsynced[w] = struct{}{}
				continue
			}
			w.minRev = upto + 1
			w.sentSinceProgress = true
		}
		h.rev = upto
		h.published.Store(upto)
	}
}

// anySynced reports whether some synced watcher wants an event of type
// (tomb) on key; dispatch builds only those events.
func (h *hub) anySynced(key string, tomb bool) bool {
	for w := range h.synced {
		if w.wantsEntry(key, tomb) {
			return true
		}
	}
	return false
}

// selectEvents returns the events of evs w wants (at or above w.minRev),
// without PrevKv unless w asked for it.
func selectEvents(evs []Event, w *watcher) []Event {
	var sel []Event
	for i := range evs {
		ev := evs[i]
		if ev.Kv.ModRevision < w.minRev || !w.wants(&ev) {
			continue
		}
		if !w.prevKV {
			ev.PrevKv = nil
		}
		sel = append(sel, ev)
	}
	return sel
}

// syncUnsynced catches unsynced watchers up from the log, a bounded amount
// each, cancelling those whose next revision was compacted. It reports
// whether work remains that does not depend on a consumer reading.
func (h *hub) syncUnsynced() bool {
	s := h.s
	more := false
	for _, w := range h.sortedUnsynced() {
		st := w.st
		// At most 4 chunks per watcher per round, so one far-behind
		// watcher does not starve the others; more is reported instead.
		for step := 0; step < 4; step++ {
			if len(st.backlog) > 0 {
				break
			}
			s.mu.RLock()
			compactRev := s.mu.compactRev
			if w.minRev < compactRev {
				// etcd's rule: the watcher needs a revision that is
				// gone. It ends with the compact revision so the client
				// can re-list and resume from there.
				s.mu.RUnlock()
				h.removeWatcher(w)
				h.control(st, WatchResponse{Header: ResponseHeader{Revision: h.rev}, WatchID: w.id,
					Canceled: true, CompactRevision: compactRev, CancelReason: ErrCompacted.Error()})
				break
			}
			if w.minRev > h.rev {
				// Caught up with what dispatch has handled: from now
				// on dispatch feeds it.
				s.mu.RUnlock()
				delete(h.unsynced, w)
				w.synced = true
				h.synced[w] = struct{}{}
				break
			}
			evs, upto := s.readEventsLocked(w.minRev, h.rev, s.cfg.WatchBatchEvents, w.wantsEntry, w.prevKV)
			s.mu.RUnlock()
			if len(evs) > 0 {
				r := WatchResponse{Header: ResponseHeader{Revision: h.rev}, WatchID: w.id, Events: evs}
				if !h.send(st, r) {
					break
				}
				w.sentSinceProgress = true
			}
			w.minRev = upto + 1
			if step == 3 {
				more = true
			}
		}
	}
	return more
}

// sortedUnsynced orders unsynced watchers by ID so rounds are fair and
// repeatable.
func (h *hub) sortedUnsynced() []*watcher {
	ws := make([]*watcher, 0, len(h.unsynced))
	for w := range h.unsynced {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].id < ws[j].id })
	return ws
}

// addStream registers a new stream (no watchers yet).
func (h *hub) addStream(ws *WatchStream) {
	h.streams[ws] = &streamState{ws: ws, watchers: make(map[int64]*watcher)}
}

// removeStream drops a stream and its watchers and closes its channel;
// responses still buffered are discarded with it.
func (h *hub) removeStream(ws *WatchStream) {
	st := h.streams[ws]
	if st == nil {
		return
	}
	for _, w := range st.watchers {
		h.removeWatcher(w)
	}
	delete(h.streams, ws)
	close(ws.ch)
}

// addWatcher registers w on ws. start 0 means the revision after the
// current one; a start below the compact revision cancels at once.
func (h *hub) addWatcher(ws *WatchStream, w *watcher, id, start int64) (int64, error) {
	st := h.streams[ws]
	if st == nil {
		return 0, ErrClosed
	}
	if id == 0 {
		for st.watchers[st.nextID] != nil {
			st.nextID++
		}
		id = st.nextID
		st.nextID++
	} else if st.watchers[id] != nil {
		return 0, fmt.Errorf("%w: %d", ErrDuplicateWatchID, id)
	}
	h.s.mu.RLock()
	cur, compactRev := h.s.mu.rev, h.s.mu.compactRev
	h.s.mu.RUnlock()
	w.id, w.st = id, st
	h.control(st, WatchResponse{Header: ResponseHeader{Revision: cur}, WatchID: id, Created: true})
	if start != 0 && start < compactRev {
		h.control(st, WatchResponse{Header: ResponseHeader{Revision: cur}, WatchID: id,
			Canceled: true, CompactRevision: compactRev, CancelReason: ErrCompacted.Error()})
		return id, nil
	}
	// A watcher starting above what dispatch has handled is synced at once
	// (dispatch skips revisions below its minRev); otherwise it catches up.
	w.minRev = start
	if start == 0 {
		w.minRev = cur + 1
	}
	st.watchers[id] = w
	if w.minRev > h.rev {
		w.synced = true
		h.synced[w] = struct{}{}
	} else {
		h.unsynced[w] = struct{}{}
	}
	return id, nil
}

// removeWatcher forgets w; the caller sends whatever final response fits.
func (h *hub) removeWatcher(w *watcher) {
	delete(h.synced, w)
	delete(h.unsynced, w)
	delete(w.st.watchers, w.id)
}

// cancel is WatchStream.Cancel on the hub goroutine.
func (h *hub) cancel(ws *WatchStream, id int64) error {
	st := h.streams[ws]
	if st == nil {
		return ErrClosed
	}
	w := st.watchers[id]
	if w == nil {
		return fmt.Errorf("%w: %d", ErrWatcherNotExist, id)
	}
	h.removeWatcher(w)
	h.control(st, WatchResponse{Header: ResponseHeader{Revision: h.rev}, WatchID: id, Canceled: true})
	return nil
}

// requestProgress is WatchStream.RequestProgress on the hub goroutine: it
// dispatches first, so the answer reflects every committed revision.
func (h *hub) requestProgress(ws *WatchStream) {
	st := h.streams[ws]
	if st == nil {
		return
	}
	h.dispatch()
	st.progressPending = true
	h.tryProgress(st)
}

// tryProgress answers a pending stream-wide progress request once every
// watcher of the stream is synced.
func (h *hub) tryProgress(st *streamState) {
	if !st.progressPending {
		return
	}
	for _, w := range st.watchers {
		if !w.synced {
			return
		}
	}
	st.progressPending = false
	h.control(st, WatchResponse{Header: ResponseHeader{Revision: h.rev}, WatchID: ProgressWatchID})
}

// progressNotify is Store.ProgressNotify on the hub goroutine (etcd's
// per-watcher progress ticker: only quiet, synced, opted-in watchers).
func (h *hub) progressNotify() {
	h.dispatch()
	for _, st := range h.streams {
		for _, w := range st.watchers {
			if w.progressNotify && w.synced && !w.sentSinceProgress {
				h.control(st, WatchResponse{Header: ResponseHeader{Revision: h.rev}, WatchID: w.id})
			}
			w.sentSinceProgress = false
		}
	}
}
