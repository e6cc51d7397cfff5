package mvcc

import (
	"bytes"
	"fmt"
	"sort"
	"time"
)

// model is the deliberately simple reference for the differential test:
// every revision of every key kept in a map of slices, every event in one
// slice, no btree, no compaction of anything (compaction only changes which
// reads are allowed). It mirrors etcd's documented behaviour, not the
// store's code.
type model struct {
	rev, compact int64
	hist         map[string][]mrev
	leases       map[int64]int64 // id -> granted TTL
	// expiry is each lease's deadline; the zero time = never (not primary).
	expiry  map[int64]time.Time
	primary bool
	events  []mevent
}

type mrev struct {
	main, sub int64
	tomb      bool
	kv        KeyValue
}

type mevent struct {
	ev  Event // PrevKv = state at rev-1 (nil for a create)
	sub int64
}

func newModel() *model {
	return &model{rev: 1, hist: map[string][]mrev{}, leases: map[int64]int64{}, expiry: map[int64]time.Time{}}
}

// get returns key's value at rev, or nil.
func (m *model) get(key string, rev int64) *KeyValue {
	var cur *mrev
	h := m.hist[key]
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].main <= rev {
			cur = &h[i]
			break
		}
	}
	if cur == nil || cur.tomb {
		return nil
	}
	kv := cur.kv
	kv.Key = []byte(key)
	return &kv
}

func (m *model) sortedKeys() []string {
	var ks []string
	for k := range m.hist {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// inRange implements etcd's key/range_end convention.
func inRange(key, end []byte, k string) bool {
	switch {
	case len(end) == 0:
		return k == string(key)
	case len(end) == 1 && end[0] == 0:
		return k >= string(key)
	}
	return k >= string(key) && k < string(end)
}

func (m *model) liveIn(key, end []byte, rev int64) []*KeyValue {
	var out []*KeyValue
	for _, k := range m.sortedKeys() {
		if inRange(key, end, k) {
			if kv := m.get(k, rev); kv != nil {
				out = append(out, kv)
			}
		}
	}
	return out
}

// rangeAt is etcd's Range for a reader at curRev.
func (m *model) rangeAt(r *RangeRequest, curRev int64) (*RangeResponse, error) {
	if r.Revision > curRev {
		return nil, ErrFutureRev
	}
	if r.Revision > 0 && r.Revision < m.compact {
		return nil, ErrCompacted
	}
	rev := r.Revision
	if rev == 0 {
		rev = curRev
	}
	all := m.liveIn(r.Key, r.RangeEnd, rev)
	resp := &RangeResponse{Header: ResponseHeader{Revision: curRev}, Count: int64(len(all))}
	if r.CountOnly {
		return resp, nil
	}
	var kvs []*KeyValue
	for _, kv := range all {
		if r.MaxModRevision != 0 && kv.ModRevision > r.MaxModRevision ||
			r.MinModRevision != 0 && kv.ModRevision < r.MinModRevision ||
			r.MaxCreateRevision != 0 && kv.CreateRevision > r.MaxCreateRevision ||
			r.MinCreateRevision != 0 && kv.CreateRevision < r.MinCreateRevision {
			continue
		}
		kvs = append(kvs, kv)
	}
	// etcd's quirk: with sort order NONE and no filter it fetches only
	// limit+1 keys (in key order) before the implicit sort by a non-KEY
	// target, so that sort only reorders those.
	if r.SortOrder == SortNone && r.Limit > 0 && r.MinModRevision == 0 && r.MaxModRevision == 0 &&
		r.MinCreateRevision == 0 && r.MaxCreateRevision == 0 && int64(len(kvs)) > r.Limit+1 {
		kvs = kvs[:r.Limit+1]
	}
	order := r.SortOrder
	if r.SortTarget != SortByKey && order == SortNone {
		order = SortAscend
	}
	if r.SortTarget == SortByKey && order == SortAscend {
		order = SortNone
	}
	if order != SortNone {
		var srt sort.Interface = modelSort{kvs, r.SortTarget}
		if order == SortDescend {
			srt = sort.Reverse(srt)
		}
		sort.Sort(srt)
	}
	if r.Limit > 0 && int64(len(kvs)) > r.Limit {
		kvs, resp.More = kvs[:r.Limit], true
	}
	for _, kv := range kvs {
		if r.KeysOnly {
			kv.Value = nil
		}
	}
	resp.Kvs = kvs
	return resp, nil
}

type modelSort struct {
	kvs []*KeyValue
	t   SortTarget
}

func (s modelSort) Len() int      { return len(s.kvs) }
func (s modelSort) Swap(i, j int) { s.kvs[i], s.kvs[j] = s.kvs[j], s.kvs[i] }
func (s modelSort) Less(i, j int) bool {
	a, b := s.kvs[i], s.kvs[j]
	switch s.t {
	case SortByVersion:
		return a.Version < b.Version
	case SortByCreate:
		return a.CreateRevision < b.CreateRevision
	case SortByMod:
		return a.ModRevision < b.ModRevision
	case SortByValue:
		return bytes.Compare(a.Value, b.Value) < 0
	}
	return bytes.Compare(a.Key, b.Key) < 0
}

// mtxn is one revision being written in the model.
type mtxn struct {
	m   *model
	rev int64
	n   int64
}

func (m *model) begin() *mtxn { return &mtxn{m: m, rev: m.rev + 1} }

func (t *mtxn) readRev() int64 {
	if t.n > 0 {
		return t.rev
	}
	return t.rev - 1
}

func (t *mtxn) end() int64 {
	if t.n == 0 {
		return t.rev - 1
	}
	t.m.rev = t.rev
	return t.rev
}

func (t *mtxn) write(key string, tomb bool, value []byte, lease int64) {
	m := t.m
	prev := m.get(key, t.rev-1)
	cur := m.get(key, t.rev)
	r := mrev{main: t.rev, sub: t.n, tomb: tomb}
	ev := Event{Type: EventDelete, Kv: &KeyValue{Key: []byte(key), ModRevision: t.rev}, PrevKv: prev}
	if !tomb {
		r.kv = KeyValue{CreateRevision: t.rev, ModRevision: t.rev, Version: 1, Value: value, Lease: lease}
		if cur != nil {
			r.kv.CreateRevision, r.kv.Version = cur.CreateRevision, cur.Version+1
		}
		kv := r.kv
		kv.Key = []byte(key)
		ev = Event{Type: EventPut, Kv: &kv, PrevKv: prev}
		if kv.CreateRevision == kv.ModRevision {
			ev.PrevKv = nil
		}
	}
	m.hist[key] = append(m.hist[key], r)
	m.events = append(m.events, mevent{ev: ev, sub: t.n})
	t.n++
}

func (t *mtxn) put(r *PutRequest) (*PutResponse, error) {
	prev := t.m.get(string(r.Key), t.readRev())
	if (r.IgnoreValue || r.IgnoreLease) && prev == nil {
		return nil, ErrKeyNotFound
	}
	value, lease := r.Value, r.Lease
	if len(value) == 0 {
		value = nil
	}
	if r.IgnoreValue {
		value = prev.Value
	}
	if r.IgnoreLease {
		lease = prev.Lease
	}
	resp := &PutResponse{Header: ResponseHeader{Revision: t.rev}}
	if r.PrevKv {
		resp.PrevKv = prev
	}
	t.write(string(r.Key), false, value, lease)
	return resp, nil
}

func (t *mtxn) del(r *DeleteRangeRequest) *DeleteRangeResponse {
	live := t.m.liveIn(r.Key, r.RangeEnd, t.readRev())
	resp := &DeleteRangeResponse{Deleted: int64(len(live))}
	if r.PrevKv {
		resp.PrevKvs = live
	}
	for _, kv := range live {
		t.write(string(kv.Key), true, nil, 0)
	}
	resp.Header.Revision = t.readRev()
	return resp
}

func (m *model) Put(r *PutRequest) (*PutResponse, error) {
	if r.Lease != 0 && m.leases[r.Lease] == 0 {
		return nil, ErrLeaseNotFound
	}
	t := m.begin()
	resp, err := t.put(r)
	t.end()
	return resp, err
}

func (m *model) Delete(r *DeleteRangeRequest) *DeleteRangeResponse {
	t := m.begin()
	resp := t.del(r)
	t.end()
	return resp
}

// compare is etcd's applyCompare at the model's current revision.
func (m *model) compare(c *Compare) bool {
	kvs := m.liveIn(c.Key, c.RangeEnd, m.rev)
	if len(kvs) == 0 {
		if c.Target == CompareValue {
			return false
		}
		kvs = []*KeyValue{{}}
	}
	for _, kv := range kvs {
		var a, b int64
		res := 0
		switch c.Target {
		case CompareValue:
			res = bytes.Compare(kv.Value, c.Value)
		case CompareVersion:
			a, b = kv.Version, c.Version
		case CompareCreate:
			a, b = kv.CreateRevision, c.CreateRevision
		case CompareMod:
			a, b = kv.ModRevision, c.ModRevision
		case CompareLease:
			a, b = kv.Lease, c.Lease
		}
		if c.Target != CompareValue {
			res = map[bool]int{true: -1}[a < b] + map[bool]int{true: 1}[a > b]
		}
		ok := map[CompareResult]bool{CompareEqual: res == 0, CompareNotEqual: res != 0, CompareGreater: res > 0, CompareLess: res < 0}[c.Result]
		if !ok {
			return false
		}
	}
	return true
}

func (m *model) branch(r *TxnRequest) ([]*RequestOp, bool) {
	for _, c := range r.Compare {
		if !m.compare(c) {
			return r.Failure, false
		}
	}
	return r.Success, true
}

// check is etcd's checkTxn on the model's state before the txn.
func (m *model) check(r *TxnRequest) error {
	ops, _ := m.branch(r)
	for _, op := range ops {
		switch {
		case op.RequestRange != nil:
			if rv := op.RequestRange.Revision; rv > m.rev {
				return ErrFutureRev
			} else if rv > 0 && rv < m.compact {
				return ErrCompacted
			}
		case op.RequestPut != nil:
			p := op.RequestPut
			if (p.IgnoreValue || p.IgnoreLease) && m.get(string(p.Key), m.rev) == nil {
				return ErrKeyNotFound
			}
			if p.Lease != 0 && m.leases[p.Lease] == 0 {
				return ErrLeaseNotFound
			}
		case op.RequestTxn != nil:
			if err := m.check(op.RequestTxn); err != nil {
				return err
			}
		}
	}
	return nil
}

// Txn runs r; the caller has already decided that r passes validation.
func (m *model) Txn(r *TxnRequest) (*TxnResponse, error) {
	if err := m.check(r); err != nil {
		return nil, err
	}
	// All compares, nested ones included, see the state before the txn:
	// decide every branch first.
	paths := map[*TxnRequest]bool{}
	var decide func(r *TxnRequest)
	decide = func(r *TxnRequest) {
		ops, ok := m.branch(r)
		paths[r] = ok
		for _, op := range ops {
			if op.RequestTxn != nil {
				decide(op.RequestTxn)
			}
		}
	}
	decide(r)
	t := m.begin()
	resp := t.exec(r, paths)
	resp.Header.Revision = t.end()
	return resp, nil
}

func (t *mtxn) exec(r *TxnRequest, paths map[*TxnRequest]bool) *TxnResponse {
	ok := paths[r]
	ops := r.Failure
	if ok {
		ops = r.Success
	}
	resp := &TxnResponse{Succeeded: ok}
	for _, op := range ops {
		ro := &ResponseOp{}
		switch {
		case op.RequestRange != nil:
			ro.ResponseRange, _ = t.m.rangeAt(op.RequestRange, t.readRev())
		case op.RequestPut != nil:
			ro.ResponsePut, _ = t.put(op.RequestPut)
		case op.RequestDeleteRange != nil:
			ro.ResponseDeleteRange = t.del(op.RequestDeleteRange)
		case op.RequestTxn != nil:
			ro.ResponseTxn = t.exec(op.RequestTxn, paths)
		}
		resp.Responses = append(resp.Responses, ro)
	}
	return resp
}

// leaseKeys returns the keys currently attached to lease id, sorted.
func (m *model) leaseKeys(id int64) []string {
	var ks []string
	for _, k := range m.sortedKeys() {
		if kv := m.get(k, m.rev); kv != nil && kv.Lease == id {
			ks = append(ks, k)
		}
	}
	return ks
}

func (m *model) Revoke(id int64) (int64, error) {
	if m.leases[id] == 0 {
		return 0, ErrLeaseNotFound
	}
	t := m.begin()
	for _, k := range m.leaseKeys(id) {
		t.write(k, true, nil, 0)
	}
	delete(m.leases, id)
	delete(m.expiry, id)
	return t.end(), nil
}

func (m *model) Compact(rev int64) error {
	switch {
	case rev <= m.compact:
		return ErrCompacted
	case rev > m.rev:
		return ErrFutureRev
	}
	m.compact = rev
	return nil
}

// watchEvents returns the events a watcher on [key, end) from start should
// see, in order.
func (m *model) watchEvents(key, end []byte, start int64, noPut, noDel bool) []Event {
	var out []Event
	for _, e := range m.events {
		ev := e.ev
		if ev.Kv.ModRevision < start || !inRange(key, end, string(ev.Kv.Key)) ||
			ev.Type == EventPut && noPut || ev.Type == EventDelete && noDel {
			continue
		}
		out = append(out, ev)
	}
	return out
}

// dump* render responses canonically (nil and empty slices alike).
func dumpKV(kv *KeyValue) string {
	if kv == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{%q c%d m%d v%d l%d %q}", kv.Key, kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease, kv.Value)
}

func dumpKVs(kvs []*KeyValue) string {
	var b bytes.Buffer
	for _, kv := range kvs {
		b.WriteString(dumpKV(kv))
	}
	return b.String()
}

func dumpRange(r *RangeResponse) string {
	if r == nil {
		return "<nil>"
	}
	return fmt.Sprintf("range{rev %d count %d more %v [%s]}", r.Header.Revision, r.Count, r.More, dumpKVs(r.Kvs))
}

func dumpPut(r *PutResponse) string {
	if r == nil {
		return "<nil>"
	}
	return fmt.Sprintf("put{rev %d prev %s}", r.Header.Revision, dumpKV(r.PrevKv))
}

func dumpDelete(r *DeleteRangeResponse) string {
	if r == nil {
		return "<nil>"
	}
	return fmt.Sprintf("del{rev %d n %d [%s]}", r.Header.Revision, r.Deleted, dumpKVs(r.PrevKvs))
}

func dumpTxn(r *TxnResponse) string {
	if r == nil {
		return "<nil>"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "txn{rev %d ok %v [", r.Header.Revision, r.Succeeded)
	for _, ro := range r.Responses {
		switch {
		case ro.ResponseRange != nil:
			b.WriteString(dumpRange(ro.ResponseRange))
		case ro.ResponsePut != nil:
			b.WriteString(dumpPut(ro.ResponsePut))
		case ro.ResponseDeleteRange != nil:
			b.WriteString(dumpDelete(ro.ResponseDeleteRange))
		case ro.ResponseTxn != nil:
			b.WriteString(dumpTxn(ro.ResponseTxn))
		default:
			b.WriteString("<empty>")
		}
	}
	b.WriteString("]}")
	return b.String()
}

func dumpEvent(ev Event, withPrev bool) string {
	s := fmt.Sprintf("%s%s", ev.Type, dumpKV(ev.Kv))
	if withPrev {
		s += "prev" + dumpKV(ev.PrevKv)
	}
	return s
}
