package mvcc

import (
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"testing"
	"time"
)

var (
	diffSeed = flag.Int64("mvcc.seed", 0, "seed for TestDifferential (0 = time based)")
	diffOps  = flag.Int("mvcc.ops", 0, "operations for TestDifferential (0 = 100000, 5000 with -short)")
)

// differ drives the store and the model with the same random operations
// and compares every answer.
type differ struct {
	t       *testing.T
	rng     *rand.Rand
	s       *tstore
	m       *model
	streams []*tstream
	nwatch  int
	// counters for the final log line
	nevents, ncompacted, nfull, nexpired int
}

type tstream struct {
	ws       *WatchStream
	watchers map[int64]*twatch
	closed   bool
	// fast streams are drained after every operation; the others only
	// now and then (slow consumers).
	fast bool
}

type twatch struct {
	id          int64
	key, end    []byte
	start       int64 // first revision expected
	noPut, noDe bool
	prev        bool
	// compactAtCreate > 0: the start was compacted; expect an immediate cancel.
	compactAtCreate int64
	userCanceled    bool
	resps           []WatchResponse
}

func TestDifferential(t *testing.T) {
	seed := *diffSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	ops := *diffOps
	if ops == 0 {
		ops = 100000
		if testing.Short() {
			ops = 5000
		}
	}
	t.Logf("seed %d, %d ops", seed, ops)
	defer func() {
		if t.Failed() {
			t.Logf("FAILED with -mvcc.seed=%d -mvcc.ops=%d", seed, ops)
		}
	}()
	d := &differ{t: t, rng: rand.New(rand.NewSource(seed)), m: newModel()}
	d.s = newTestStore(t, Config{WatchChanSize: 4, WatchBatchEvents: 16, CompactionBatch: 7, MaxTxnDepth: 4})
	for i := 0; i < ops && !t.Failed(); i++ {
		d.step(i)
	}
	if !t.Failed() {
		d.finish()
	}
}

var diffPrefixes = []string{"a", "b", "c"}

func (d *differ) key() string {
	return fmt.Sprintf("%s/%d", diffPrefixes[d.rng.Intn(3)], d.rng.Intn(8))
}

// keyRange returns a random key and range_end (single key, prefix, a
// bounded range, or everything from key on).
func (d *differ) keyRange() ([]byte, []byte) {
	switch d.rng.Intn(6) {
	case 0, 1:
		return []byte(d.key()), nil
	case 2:
		p := diffPrefixes[d.rng.Intn(3)]
		return []byte(p + "/"), []byte(p + "0")
	case 3:
		a, b := d.key(), d.key()
		if b < a {
			a, b = b, a
		}
		return []byte(a), []byte(b)
	case 4:
		return []byte(d.key()), []byte{0}
	}
	return []byte{0}, []byte{0}
}

func (d *differ) randRev() int64 {
	if d.rng.Intn(3) == 0 {
		return 0
	}
	lo := max(1, d.m.compact-2)
	return lo + d.rng.Int63n(d.m.rev-lo+3)
}

func (d *differ) rangeReq() *RangeRequest {
	k, e := d.keyRange()
	r := &RangeRequest{Key: k, RangeEnd: e, Revision: d.randRev()}
	if d.rng.Intn(3) == 0 {
		r.Limit = int64(d.rng.Intn(5))
	}
	if d.rng.Intn(2) == 0 {
		r.SortOrder = SortOrder(d.rng.Intn(3))
		r.SortTarget = SortTarget(d.rng.Intn(5))
	}
	r.KeysOnly = d.rng.Intn(6) == 0
	r.CountOnly = d.rng.Intn(8) == 0
	if d.rng.Intn(5) == 0 {
		r.MinModRevision = d.rng.Int63n(d.m.rev + 1)
		r.MaxModRevision = d.rng.Int63n(d.m.rev + 2)
		r.MinCreateRevision = d.rng.Int63n(d.m.rev + 1)
		r.MaxCreateRevision = d.rng.Int63n(d.m.rev + 2)
	}
	return r
}

func (d *differ) putReq(key string) *PutRequest {
	r := &PutRequest{Key: []byte(key), PrevKv: d.rng.Intn(2) == 0}
	switch d.rng.Intn(10) {
	case 0:
		r.IgnoreValue = true
	case 1:
		r.IgnoreLease = true
		r.Value = []byte(fmt.Sprint(d.rng.Intn(5)))
	default:
		r.Value = []byte(fmt.Sprint(d.rng.Intn(5)))
	}
	if !r.IgnoreLease && d.rng.Intn(4) == 0 {
		r.Lease = int64(1 + d.rng.Intn(6))
	}
	return r
}

func (d *differ) step(i int) {
	switch n := d.rng.Intn(100); {
	case n < 30:
		d.doPut()
	case n < 38:
		k, e := d.keyRange()
		req := &DeleteRangeRequest{Key: k, RangeEnd: e, PrevKv: d.rng.Intn(2) == 0}
		got, err := d.s.DeleteRange(d.s.next(), req)
		d.check("delete", dumpDelete(got), err, dumpDelete(d.m.Delete(req)), nil)
	case n < 58:
		req := d.rangeReq()
		got, err := d.s.Range(req)
		want, werr := d.m.rangeAt(req, d.m.rev)
		d.check(fmt.Sprintf("range %+v", *req), dumpRange(got), err, dumpRange(want), werr)
	case n < 75:
		d.doTxn()
	case n < 77:
		if d.rng.Intn(5) > 0 {
			break
		}
		// Usually a few hundred revisions behind (so watchers survive
		// it), sometimes anything including invalid revisions.
		rev := d.m.rev - int64(d.rng.Intn(400))
		if d.rng.Intn(8) == 0 {
			rev = d.m.compact + d.rng.Int63n(d.m.rev-d.m.compact+2) - 1
		}
		rev = max(0, rev)
		_, err := d.s.Compact(d.s.next(), rev)
		d.check(fmt.Sprintf("compact %d", rev), "", err, "", d.m.Compact(rev))
	case n < 81:
		id, ttl := int64(1+d.rng.Intn(6)), int64(1+d.rng.Intn(100))
		_, err := d.s.LeaseGrant(d.s.next(), id, ttl)
		var werr error
		if d.m.leases[id] != 0 {
			werr = ErrLeaseExists
		} else {
			d.m.leases[id] = ttl
			if d.m.primary {
				d.m.expiry[id] = d.s.clock.Now().Add(time.Duration(ttl) * time.Second)
			}
		}
		d.check("grant", "", err, "", werr)
	case n < 83:
		id := int64(1 + d.rng.Intn(6))
		got, err := d.s.LeaseRevoke(d.s.next(), id)
		rev, werr := d.m.Revoke(id)
		gs := ""
		if got != nil {
			gs = fmt.Sprint(got.Header.Revision)
		}
		d.check("revoke", gs, err, map[bool]string{true: fmt.Sprint(rev)}[werr == nil], werr)
	case n < 85:
		d.checkLeases()
		for i := d.rng.Intn(4); i >= 0; i-- {
			d.leaseTime()
		}
	case n < 88:
		d.newWatch()
	case n < 96:
		d.pump(d.rng.Intn(4))
	case n < 97:
		if d.rng.Intn(3) == 0 {
			d.retireOne()
		} else {
			d.cancelWatch()
		}
	case n < 98:
		// Replaying an applied index is ignored.
		_, err := d.s.Put(d.s.idx, &PutRequest{Key: []byte("a/1"), Value: []byte("x")})
		d.check("replay", "", err, "", ErrIndexApplied)
	default:
		if i%7 == 0 {
			d.roundTrip()
		}
	}
	d.pumpFast()
	if i%500 == 0 {
		if err := d.s.checkInvariants(); err != nil {
			d.t.Fatalf("op %d: %v", i, err)
		}
	}
	if st := d.s.Status(); int64(st.Revision) != d.m.rev || int64(st.CompactRevision) != d.m.compact {
		d.t.Fatalf("op %d: status %+v, model rev %d compact %d", i, st, d.m.rev, d.m.compact)
	}
}

func (d *differ) check(what, got string, err error, want string, werr error) {
	d.t.Helper()
	if (err == nil) != (werr == nil) || err != nil && !errors.Is(err, werr) {
		d.t.Fatalf("%s: error %v, model %v", what, err, werr)
	}
	if got != want {
		d.t.Fatalf("%s:\n store %s\n model %s", what, got, want)
	}
}

func (d *differ) doPut() {
	req := d.putReq(d.key())
	got, err := d.s.Put(d.s.next(), req)
	want, werr := d.m.Put(req)
	d.check(fmt.Sprintf("put %+v", *req), dumpPut(got), err, dumpPut(want), werr)
}

// txnReq builds a txn whose writes never collide: deletes stay inside
// prefix del, puts use distinct keys of other prefixes.
func (d *differ) txnReq(depth int, del string, used map[string]bool) *TxnRequest {
	r := &TxnRequest{}
	for i := d.rng.Intn(3); i > 0; i-- {
		k, e := d.keyRange()
		c := &Compare{Key: k, RangeEnd: e, Target: CompareTarget(d.rng.Intn(5)), Result: CompareResult(d.rng.Intn(4))}
		c.Value = []byte(fmt.Sprint(d.rng.Intn(5)))
		c.Version, c.CreateRevision, c.ModRevision, c.Lease = d.rng.Int63n(4), d.rng.Int63n(d.m.rev+2), d.rng.Int63n(d.m.rev+2), d.rng.Int63n(4)
		r.Compare = append(r.Compare, c)
	}
	ops := func() []*RequestOp {
		var out []*RequestOp
		for i := d.rng.Intn(4); i > 0; i-- {
			switch n := d.rng.Intn(10); {
			case n < 3:
				out = append(out, &RequestOp{RequestRange: d.rangeReq()})
			case n < 6:
				k := d.key()
				if k[:1] == del || used[k] {
					continue
				}
				used[k] = true
				out = append(out, &RequestOp{RequestPut: d.putReq(k)})
			case n < 8:
				dr := &DeleteRangeRequest{Key: []byte(fmt.Sprintf("%s/%d", del, d.rng.Intn(8))), PrevKv: d.rng.Intn(2) == 0}
				if d.rng.Intn(2) == 0 {
					dr.RangeEnd = []byte(fmt.Sprintf("%s/%d", del, 4+d.rng.Intn(6)))
					if string(dr.RangeEnd) < string(dr.Key) {
						dr.RangeEnd = []byte(del + "0")
					}
				}
				out = append(out, &RequestOp{RequestDeleteRange: dr})
			default:
				if depth < 3 {
					out = append(out, &RequestOp{RequestTxn: d.txnReq(depth+1, del, used)})
				}
			}
		}
		return out
	}
	r.Success = ops()
	r.Failure = ops()
	return r
}

func (d *differ) doTxn() {
	req := d.txnReq(1, diffPrefixes[d.rng.Intn(3)], map[string]bool{})
	if d.rng.Intn(20) == 0 {
		// A deliberate duplicate: the same put twice in one branch.
		p := &RequestOp{RequestPut: &PutRequest{Key: []byte("b/1")}}
		req.Success = append(req.Success, p, p)
		_, err := d.s.Txn(d.s.next(), req)
		d.check("dup txn", "", err, "", ErrDuplicateKey)
		return
	}
	if d.rng.Intn(4) == 0 {
		got, err := d.s.ReadTxn(req)
		if !txnReadOnly(req) {
			d.check("read txn with writes", "", err, "", ErrInvalidOp)
			return
		}
		want, werr := d.m.Txn(req)
		d.check("read txn", dumpTxn(got), err, dumpTxn(want), werr)
		return
	}
	got, err := d.s.Txn(d.s.next(), req)
	want, werr := d.m.Txn(req)
	d.check("txn", dumpTxn(got), err, dumpTxn(want), werr)
}

func (d *differ) checkLeases() {
	for id := int64(1); id <= 6; id++ {
		got, err := d.s.LeaseTimeToLive(id, true)
		if d.m.leases[id] == 0 {
			d.check("ttl", "", err, "", ErrLeaseNotFound)
			continue
		}
		if exp := d.m.expiry[id]; !exp.IsZero() && !d.s.clock.Now().Before(exp) {
			d.check("ttl of expired", "", err, "", ErrLeaseNotFound)
			continue
		}
		if err != nil {
			d.t.Fatalf("ttl %d: %v", id, err)
		}
		wantTTL := d.m.leases[id]
		if exp := d.m.expiry[id]; !exp.IsZero() {
			wantTTL = int64(exp.Sub(d.s.clock.Now()).Seconds())
		}
		if got.TTL != wantTTL {
			d.t.Fatalf("lease %d: remaining TTL %d, model %d", id, got.TTL, wantTTL)
		}
		var keys []string
		for _, k := range got.Keys {
			keys = append(keys, string(k))
		}
		if fmt.Sprint(keys) != fmt.Sprint(d.m.leaseKeys(id)) || got.GrantedTTL != d.m.leases[id] {
			d.t.Fatalf("lease %d: keys %v ttl %d, model %v ttl %d", id, keys, got.GrantedTTL, d.m.leaseKeys(id), d.m.leases[id])
		}
	}
	if got := d.s.Leases(); len(got) != len(d.m.leases) {
		d.t.Fatalf("leases %v, model %v", got, d.m.leases)
	}
}
