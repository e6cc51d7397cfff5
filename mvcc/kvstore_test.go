package mvcc

import (
	"testing"
)

func TestPutGetRevisions(t *testing.T) {
	s := newTestStore(t, Config{})
	if s.Rev() != 1 {
		t.Fatalf("fresh store at revision %d, want 1", s.Rev())
	}
	if r := s.put("a", "1"); r.Header.Revision != 2 {
		t.Fatalf("first put at %d, want 2", r.Header.Revision)
	}
	s.put("a", "2")
	kv := s.get("a", 0)
	if kv.CreateRevision != 2 || kv.ModRevision != 3 || kv.Version != 2 || string(kv.Value) != "2" {
		t.Fatalf("got %+v", kv)
	}
	if kv := s.get("a", 2); string(kv.Value) != "1" || kv.Version != 1 {
		t.Fatalf("at 2: %+v", kv)
	}
	d, err := s.DeleteRange(s.next(), &DeleteRangeRequest{Key: []byte("a"), PrevKv: true})
	if err != nil || d.Deleted != 1 || d.Header.Revision != 4 || len(d.PrevKvs) != 1 {
		t.Fatalf("delete: %+v %v", d, err)
	}
	// Deleting nothing does not bump the revision.
	d, err = s.DeleteRange(s.next(), &DeleteRangeRequest{Key: []byte("a")})
	if err != nil || d.Deleted != 0 || d.Header.Revision != 4 {
		t.Fatalf("empty delete: %+v %v", d, err)
	}
	s.put("a", "3")
	if kv := s.get("a", 0); kv.CreateRevision != 5 || kv.Version != 1 {
		t.Fatalf("new generation: %+v", kv)
	}
	if s.get("a", 4) != nil {
		t.Fatal("key visible at its tombstone revision")
	}
}

func TestAppliedIndexIdempotent(t *testing.T) {
	s := newTestStore(t, Config{})
	if _, err := s.Put(5, &PutRequest{Key: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Put(5, &PutRequest{Key: []byte("k")})
	wantErr(t, err, ErrIndexApplied)
	_, err = s.Put(3, &PutRequest{Key: []byte("k")})
	wantErr(t, err, ErrIndexApplied)
	// A failing entry still moves the index.
	_, err = s.Put(6, &PutRequest{Key: nil})
	wantErr(t, err, ErrEmptyKey)
	if st := s.Status(); st.AppliedIndex != 6 || st.Revision != 2 {
		t.Fatalf("status %+v", st)
	}
	// Entries without a keyspace write move the index too.
	if err := s.MarkApplied(7); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.MarkApplied(7), ErrIndexApplied)
	if st := s.Status(); st.AppliedIndex != 7 || st.Revision != 2 {
		t.Fatalf("status after MarkApplied %+v", st)
	}
}

func TestBadInput(t *testing.T) {
	s := newTestStore(t, Config{MaxTxnDepth: 3, MaxTxnOps: 4})
	s.idx = 100
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"nil range", func() error { _, e := s.Range(nil); return e }(), ErrNilRequest},
		{"empty key", func() error { _, e := s.Range(&RangeRequest{}); return e }(), ErrEmptyKey},
		{"end before key", func() error { _, e := s.Range(&RangeRequest{Key: []byte("b"), RangeEnd: []byte("a")}); return e }(), ErrInvalidRangeEnd},
		{"sort order", func() error { _, e := s.Range(&RangeRequest{Key: []byte("a"), SortOrder: 7}); return e }(), ErrInvalidSortOption},
		{"sort target", func() error { _, e := s.Range(&RangeRequest{Key: []byte("a"), SortTarget: -1}); return e }(), ErrInvalidSortOption},
		{"negative rev", func() error { _, e := s.Range(&RangeRequest{Key: []byte("a"), Revision: -1}); return e }(), ErrNegativeRevision},
		{"future rev", func() error { _, e := s.Range(&RangeRequest{Key: []byte("a"), Revision: 99}); return e }(), ErrFutureRev},
		{"nil put", func() error { _, e := s.Put(s.next(), nil); return e }(), ErrNilRequest},
		{"value provided", func() error {
			_, e := s.Put(s.next(), &PutRequest{Key: []byte("a"), Value: []byte("x"), IgnoreValue: true})
			return e
		}(), ErrValueProvided},
		{"lease provided", func() error {
			_, e := s.Put(s.next(), &PutRequest{Key: []byte("a"), Lease: 3, IgnoreLease: true})
			return e
		}(), ErrLeaseProvided},
		{"ignore on missing", func() error {
			_, e := s.Put(s.next(), &PutRequest{Key: []byte("a"), IgnoreValue: true})
			return e
		}(), ErrKeyNotFound},
		{"missing lease", func() error { _, e := s.Put(s.next(), &PutRequest{Key: []byte("a"), Lease: 3}); return e }(), ErrLeaseNotFound},
		{"nil delete", func() error { _, e := s.DeleteRange(s.next(), nil); return e }(), ErrNilRequest},
		{"nil txn", func() error { _, e := s.Txn(s.next(), nil); return e }(), ErrNilRequest},
		{"nil compare", func() error { _, e := s.Txn(s.next(), &TxnRequest{Compare: []*Compare{nil}}); return e }(), ErrNilRequest},
		{"compare target", func() error {
			_, e := s.Txn(s.next(), &TxnRequest{Compare: []*Compare{{Key: []byte("a"), Target: 9}}})
			return e
		}(), ErrInvalidCompare},
		{"compare result", func() error {
			_, e := s.Txn(s.next(), &TxnRequest{Compare: []*Compare{{Key: []byte("a"), Result: 9}}})
			return e
		}(), ErrInvalidCompare},
		{"empty op", func() error { _, e := s.Txn(s.next(), &TxnRequest{Success: []*RequestOp{{}}}); return e }(), ErrKeyNotFound},
		{"two requests in op", func() error {
			_, e := s.Txn(s.next(), &TxnRequest{Success: []*RequestOp{{RequestPut: &PutRequest{Key: []byte("a")}, RequestRange: &RangeRequest{Key: []byte("a")}}}})
			return e
		}(), ErrInvalidOp},
		{"too many ops", func() error {
			ops := make([]*RequestOp, 5)
			for i := range ops {
				ops[i] = &RequestOp{RequestRange: &RangeRequest{Key: []byte("a")}}
			}
			_, e := s.Txn(s.next(), &TxnRequest{Success: ops})
			return e
		}(), ErrTooManyOps},
		{"too deep", func() error {
			t := &TxnRequest{}
			for i := 0; i < 4; i++ {
				t = &TxnRequest{Success: []*RequestOp{{RequestTxn: t}}}
			}
			_, e := s.Txn(s.next(), t)
			return e
		}(), ErrTxnTooDeep},
		{"duplicate put", func() error {
			p := &RequestOp{RequestPut: &PutRequest{Key: []byte("a")}}
			_, e := s.Txn(s.next(), &TxnRequest{Success: []*RequestOp{p, p}})
			return e
		}(), ErrDuplicateKey},
		{"put in deleted range", func() error {
			_, e := s.Txn(s.next(), &TxnRequest{Success: []*RequestOp{
				{RequestDeleteRange: &DeleteRangeRequest{Key: []byte("a"), RangeEnd: []byte("c")}},
				{RequestTxn: &TxnRequest{Failure: []*RequestOp{{RequestPut: &PutRequest{Key: []byte("b")}}}}},
			}})
			return e
		}(), ErrDuplicateKey},
		{"compact future", func() error { _, e := s.Compact(s.next(), 50); return e }(), ErrFutureRev},
		{"compact negative", func() error { _, e := s.Compact(s.next(), -2); return e }(), ErrNegativeRevision},
		{"lease id 0", func() error { _, e := s.LeaseGrant(s.next(), 0, 10); return e }(), ErrInvalidLease},
		{"lease ttl", func() error { _, e := s.LeaseGrant(s.next(), 1, MaxLeaseTTL+1); return e }(), ErrLeaseTTLTooLarge},
		{"hash negative", func() error { _, e := s.HashKV(-1); return e }(), ErrNegativeRevision},
	}
	for _, c := range cases {
		if !errorsIs(c.err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, c.err, c.want)
		}
	}
	if st := s.Status(); st.Revision != 1 {
		t.Fatalf("bad input changed the revision: %+v", st)
	}
}

func TestThenElseMayPutSameKey(t *testing.T) {
	s := newTestStore(t, Config{})
	p := &RequestOp{RequestPut: &PutRequest{Key: []byte("a"), Value: []byte("x")}}
	r, err := s.Txn(s.next(), &TxnRequest{Success: []*RequestOp{{RequestTxn: &TxnRequest{
		Compare: []*Compare{{Key: []byte("a"), Target: CompareVersion, Result: CompareEqual}},
		Success: []*RequestOp{p}, Failure: []*RequestOp{p},
	}}}})
	if err != nil || r.Header.Revision != 2 || !r.Responses[0].ResponseTxn.Succeeded {
		t.Fatalf("%+v %v", r, err)
	}
	if r.Responses[0].ResponseTxn.Header.Revision != 0 {
		t.Fatal("nested txn header must stay 0 like etcd")
	}
}
