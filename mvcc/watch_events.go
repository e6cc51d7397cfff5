package mvcc

import "sort"

// readEventsLocked returns the events of the log entries with
// from <= main <= to that want accepts, in
// (main, sub) order. It scans about budget entries at most but never stops
// inside a revision, and returns the last revision it scanned completely.
// Callers hold mu (read).
func (s *Store) readEventsLocked(from, to int64, budget int, want func(key string, tomb bool) bool, wantPrev bool) ([]Event, int64) {
	log := s.mu.log
	i := sort.Search(len(log), func(i int) bool { return log[i].main >= from })
	var evs []Event
	upto := to
	scanned := 0
	for ; i < len(log) && log[i].main <= to; i++ {
		e := &log[i]
		if scanned >= budget && e.main != log[i-1].main {
			upto = log[i-1].main
			break
		}
		scanned++
		if !want(e.key, e.tomb) {
			continue
		}
		if ev, ok := s.eventLocked(e, wantPrev); ok {
			evs = append(evs, ev)
		}
	}
	return evs, upto
}

// eventLocked rebuilds the event of one log entry. PrevKv follows etcd: none
// for a create, none when the revision before the event is compacted.
func (s *Store) eventLocked(e *logEnt, wantPrev bool) (Event, bool) {
	it, found := s.mu.tree.Get(keyItem{key: e.key})
	var ev Event
	if e.tomb {
		ev = Event{Type: EventDelete, Kv: &KeyValue{Key: []byte(e.key), ModRevision: e.main}}
	} else {
		if !found {
			return Event{}, false
		}
		r := it.find(e.main, e.sub)
		if r == nil {
			return Event{}, false
		}
		ev = Event{Type: EventPut, Kv: r.toKV(e.key)}
		if r.create == r.main {
			return ev, true
		}
	}
	if wantPrev && found && e.main-1 >= s.mu.compactRev {
		if p := it.live(e.main - 1); p != nil {
			ev.PrevKv = p.toKV(e.key)
		}
	}
	return ev, true
}
