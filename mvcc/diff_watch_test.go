package mvcc

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// newWatch opens a watcher (sometimes on a new stream) at a random start
// revision, some of them already compacted or in the future.
func (d *differ) newWatch() {
	var st *tstream
	for _, s := range d.streams {
		if !s.closed && len(s.watchers) < 6 {
			st = s
			break
		}
	}
	if st == nil || d.rng.Intn(4) == 0 {
		if len(d.streams) >= 12 {
			return
		}
		ws, err := d.s.NewWatchStream()
		if err != nil {
			d.t.Fatal(err)
		}
		st = &tstream{ws: ws, watchers: map[int64]*twatch{}, fast: d.rng.Intn(2) == 0}
		d.streams = append(d.streams, st)
	}
	k, e := d.keyRange()
	w := &twatch{key: k, end: e, noPut: d.rng.Intn(8) == 0, noDe: d.rng.Intn(8) == 0, prev: d.rng.Intn(2) == 0}
	req := WatchRequest{Key: k, RangeEnd: e, PrevKv: w.prev}
	if w.noPut {
		req.Filters = append(req.Filters, FilterNoPut)
	}
	if w.noDe {
		req.Filters = append(req.Filters, FilterNoDelete)
	}
	if d.rng.Intn(3) > 0 {
		lo := max(1, d.m.compact-3)
		req.StartRevision = lo + d.rng.Int63n(d.m.rev-lo+3)
	}
	w.start = req.StartRevision
	if w.start == 0 {
		w.start = d.m.rev + 1
	} else if w.start < d.m.compact {
		w.compactAtCreate = d.m.compact
	}
	id, err := st.ws.Watch(req)
	if err != nil {
		d.t.Fatalf("watch %+v: %v", req, err)
	}
	w.id = id
	st.watchers[id] = w
	d.nwatch++
}

// pump reads whatever is ready on up to n random streams (slow consumers
// are the ones rarely pumped).
func (d *differ) pump(n int) {
	for ; n > 0 && len(d.streams) > 0; n-- {
		st := d.streams[d.rng.Intn(len(d.streams))]
		if st.closed {
			continue
		}
		for i := d.rng.Intn(6); i > 0; i-- {
			r, ok, err := st.ws.TryRecv()
			if err != nil {
				d.t.Fatal(err)
			}
			if !ok {
				break
			}
			d.route(st, r)
		}
	}
}

// pumpFast drains the fast streams completely.
func (d *differ) pumpFast() {
	for _, st := range d.streams {
		for st.fast && !st.closed {
			r, ok, err := st.ws.TryRecv()
			if err != nil {
				d.t.Fatal(err)
			}
			if !ok {
				break
			}
			d.route(st, r)
		}
	}
}

func (d *differ) route(st *tstream, r WatchResponse) {
	if r.WatchID == ProgressWatchID {
		return
	}
	w := st.watchers[r.WatchID]
	if w == nil {
		d.t.Fatalf("response for unknown watch %d: %+v", r.WatchID, r)
	}
	w.resps = append(w.resps, r)
}

func (d *differ) cancelWatch() {
	for _, st := range d.streams {
		for id, w := range st.watchers {
			if !w.userCanceled && d.rng.Intn(3) == 0 {
				err := st.ws.Cancel(id)
				if err != nil && !w.endedByServer() {
					d.t.Fatalf("cancel %d: %v", id, err)
				}
				w.userCanceled = true
				return
			}
		}
	}
}

// endedByServer: the watcher may already be gone (compacted).
func (w *twatch) endedByServer() bool { return true }

// finish drains every stream up to a progress response and checks every
// watcher's stream against the model.
func (d *differ) finish() {
	for _, st := range d.streams {
		d.retire(st)
	}
	d.t.Logf("%d watchers checked (%d complete, %d cancelled by compaction, %d events); %d expired leases revoked; final revision %d, compact %d",
		d.nwatch, d.nfull, d.ncompacted, d.nevents, d.nexpired, d.m.rev, d.m.compact)
}

// retireOne checks and closes a random stream, so watchers keep being
// created (at fresh revisions) all through the run.
func (d *differ) retireOne() {
	if len(d.streams) == 0 {
		return
	}
	i := d.rng.Intn(len(d.streams))
	d.retire(d.streams[i])
	d.streams = append(d.streams[:i], d.streams[i+1:]...)
}

// retire drains a stream up to a progress response, verifies each of its
// watchers and closes it.
func (d *differ) retire(st *tstream) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	{
		if err := st.ws.RequestProgress(); err != nil {
			d.t.Fatal(err)
		}
		for {
			r, err := st.ws.Recv(ctx)
			if err != nil {
				d.t.Fatalf("drain: %v", err)
			}
			if r.WatchID == ProgressWatchID {
				if r.Header.Revision != d.m.rev {
					d.t.Fatalf("progress at %d, model at %d", r.Header.Revision, d.m.rev)
				}
				break
			}
			d.route(st, r)
		}
		for _, w := range st.watchers {
			d.verify(w)
		}
		st.ws.Close()
		st.closed = true
	}
}

// verify checks one watcher: created first; events in order, without gaps
// or duplicates, whole revisions per response, equal to the model's; a
// compaction cancel only after a prefix; everything when not cancelled.
func (d *differ) verify(w *twatch) {
	t := d.t
	if len(w.resps) == 0 || !w.resps[0].Created {
		t.Fatalf("watch %d: first response is not Created: %+v", w.id, w.resps)
	}
	want := d.m.watchEvents(w.key, w.end, w.start, w.noPut, w.noDe)
	var got []Event
	canceled := false
	var compactRev int64
	lastRev := int64(0)
	for _, r := range w.resps[1:] {
		if canceled {
			t.Fatalf("watch %d: response after cancel: %+v", w.id, r)
		}
		if r.Canceled {
			canceled, compactRev = true, r.CompactRevision
			continue
		}
		if len(r.Events) == 0 {
			continue // progress
		}
		// A revision may not continue from the previous response.
		if r.Events[0].Kv.ModRevision <= lastRev {
			t.Fatalf("watch %d: revision %d split or repeated (previous response ended at %d)", w.id, r.Events[0].Kv.ModRevision, lastRev)
		}
		lastRev = r.Events[len(r.Events)-1].Kv.ModRevision
		got = append(got, r.Events...)
	}
	if w.compactAtCreate > 0 {
		if !canceled || compactRev != w.compactAtCreate || len(got) > 0 {
			t.Fatalf("watch %d from compacted %d: want immediate cancel at %d, got cancel=%v at %d with %d events",
				w.id, w.start, w.compactAtCreate, canceled, compactRev, len(got))
		}
		return
	}
	if len(got) > len(want) {
		t.Fatalf("watch %d: %d events, model only %d", w.id, len(got), len(want))
	}
	for i := range got {
		if !d.sameEvent(got[i], want[i], w.prev) {
			t.Fatalf("watch %d [%+q..%+q) from %d: event %d:\n store %s\n model %s", w.id, w.key, w.end, w.start, i,
				dumpEvent(got[i], true), dumpEvent(want[i], true))
		}
	}
	d.nevents += len(got)
	if canceled && compactRev > 0 {
		d.ncompacted++
		if len(got) > 0 && got[len(got)-1].Kv.ModRevision >= compactRev {
			t.Fatalf("watch %d: compaction cancel at %d after event at %d", w.id, compactRev, got[len(got)-1].Kv.ModRevision)
		}
		return
	}
	if !canceled {
		d.nfull++
	}
	if !canceled && !w.userCanceled && len(got) != len(want) {
		t.Fatalf("watch %d: %d events, model %d (first missing %s)", w.id, len(got), len(want), dumpEvent(want[len(got)], false))
	}
}

// sameEvent compares an event; a PrevKv may be missing when the revision
// before the event is compacted (etcd cannot read it either).
func (d *differ) sameEvent(got, want Event, withPrev bool) bool {
	if dumpEvent(got, false) != dumpEvent(want, false) {
		return false
	}
	if !withPrev {
		return got.PrevKv == nil
	}
	if got.PrevKv == nil && want.Kv.ModRevision-1 < d.m.compact {
		return true
	}
	return dumpKV(got.PrevKv) == dumpKV(want.PrevKv)
}

// roundTrip restores a store from a view and compares it with the live
// store and the model: hash, every retained revision, a watch from history.
func (d *differ) roundTrip() {
	v := d.s.View()
	r, err := NewRestorer(Config{Clock: d.s.clock}, v.Header())
	if err != nil {
		d.t.Fatal(err)
	}
	for _, l := range v.Leases() {
		if err := r.AddLease(l); err != nil {
			d.t.Fatal(err)
		}
	}
	if err := v.ForEach(r.AddKeyRevision); err != nil {
		d.t.Fatal(err)
	}
	s2, err := r.Finish()
	if err != nil {
		d.t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.checkInvariants(); err != nil {
		d.t.Fatalf("restored store: %v", err)
	}
	for _, rev := range []int64{0, d.m.compact + d.rng.Int63n(d.m.rev-d.m.compact+1)} {
		h1, err1 := d.s.HashKV(rev)
		h2, err2 := s2.HashKV(rev)
		if err1 != nil || err2 != nil || h1.Hash != h2.Hash {
			d.t.Fatalf("hash at %d after restore: %+v %v / %+v %v", rev, h1, err1, h2, err2)
		}
	}
	all := &RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}}
	for rev := max(1, d.m.compact); rev <= d.m.rev; rev++ {
		all.Revision = rev
		got, err := s2.Range(all)
		want, werr := d.m.rangeAt(all, d.m.rev)
		d.check(fmt.Sprintf("restored range at %d", rev), dumpRange(got), err, dumpRange(want), werr)
	}
	st := d.s.Status()
	st2 := s2.Status()
	if st.AppliedIndex != st2.AppliedIndex || st.Revision != st2.Revision || st.CompactRevision != st2.CompactRevision {
		d.t.Fatalf("restored status %+v, original %+v", st2, st)
	}
	// A watch from history on the restored store (from just above the
	// compact revision: tombstones at exactly it are not in a view).
	start := d.m.compact + 1
	if start > d.m.rev {
		return
	}
	ws, err := s2.NewWatchStream()
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := ws.Watch(WatchRequest{Key: []byte{0}, RangeEnd: []byte{0}, StartRevision: start}); err != nil {
		d.t.Fatal(err)
	}
	if err := ws.RequestProgress(); err != nil {
		d.t.Fatal(err)
	}
	var got []string
	resps := recvUntil(d.t, ws, func(r WatchResponse) bool { return r.WatchID == ProgressWatchID })
	for _, r := range resps {
		for _, ev := range r.Events {
			got = append(got, dumpEvent(ev, false))
		}
	}
	var want []string
	for _, ev := range d.m.watchEvents([]byte{0}, []byte{0}, start, false, false) {
		want = append(want, dumpEvent(ev, false))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		d.t.Fatalf("watch on restored store from %d:\n store %v\n model %v", start, got, want)
	}
}
