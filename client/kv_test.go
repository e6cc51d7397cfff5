package client

import (
	"context"
	"errors"
	"testing"
	"time"
)

func kvString(kvs []*KeyValue) []string {
	var out []string
	for _, kv := range kvs {
		out = append(out, string(kv.Key)+"="+string(kv.Value))
	}
	return out
}

func eq(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestKV runs every KV call against a 3-member cluster, through a client
// that knows all three endpoints.
func TestKV(t *testing.T) {
	cl := startCluster(t, 3)
	c := newClient(t, cl.endpoints, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p1, err := c.Put(ctx, "a/1", "one")
	if err != nil {
		t.Fatal(err)
	}
	if p1.Header.Revision < 2 || p1.Header.ClusterID == 0 || p1.Header.MemberID == 0 || p1.Header.RaftTerm == 0 {
		t.Fatalf("put header %+v", p1.Header)
	}
	p2, err := c.Put(ctx, "a/1", "uno", WithPrevKV())
	if err != nil {
		t.Fatal(err)
	}
	if p2.PrevKv == nil || string(p2.PrevKv.Value) != "one" || p2.PrevKv.ModRevision != p1.Header.Revision {
		t.Fatalf("prev kv %+v", p2.PrevKv)
	}
	for _, kv := range [][2]string{{"a/2", "two"}, {"a/3", "three"}, {"b", "bee"}} {
		if _, err := c.Put(ctx, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}

	g, err := c.Get(ctx, "a/1")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Kvs) != 1 || string(g.Kvs[0].Value) != "uno" || g.Kvs[0].Version != 2 ||
		g.Kvs[0].CreateRevision != p1.Header.Revision || g.Kvs[0].ModRevision != p2.Header.Revision {
		t.Fatalf("get a/1: %+v", g.Kvs)
	}
	miss, err := c.Get(ctx, "nope")
	if err != nil || len(miss.Kvs) != 0 || miss.Count != 0 {
		t.Fatalf("get miss: %+v, %v", miss, err)
	}

	cases := []struct {
		name string
		key  string
		opts []OpOption
		want []string
		more bool
	}{
		{"prefix", "a/", []OpOption{WithPrefix()}, []string{"a/1=uno", "a/2=two", "a/3=three"}, false},
		{"range", "a/2", []OpOption{WithRange("b")}, []string{"a/2=two", "a/3=three"}, false},
		{"fromkey", "a/3", []OpOption{WithFromKey()}, []string{"a/3=three", "b=bee"}, false},
		{"limit", "a/", []OpOption{WithPrefix(), WithLimit(2)}, []string{"a/1=uno", "a/2=two"}, true},
		{"sort", "a/", []OpOption{WithPrefix(), WithSort(SortByValue, SortDescend)}, []string{"a/1=uno", "a/2=two", "a/3=three"}, false},
		{"sortkeydesc", "a/", []OpOption{WithPrefix(), WithSort(SortByKey, SortDescend)}, []string{"a/3=three", "a/2=two", "a/1=uno"}, false},
		{"serializable", "b", []OpOption{WithSerializable()}, []string{"b=bee"}, false},
		{"keysonly", "b", []OpOption{WithKeysOnly()}, []string{"b="}, false},
		{"rev", "a/1", []OpOption{WithRev(p1.Header.Revision)}, []string{"a/1=one"}, false},
		{"minmod", "a/", []OpOption{WithPrefix(), WithMinModRev(p2.Header.Revision + 1)}, []string{"a/2=two", "a/3=three"}, false},
		{"maxmod", "a/", []OpOption{WithPrefix(), WithMaxModRev(p2.Header.Revision)}, []string{"a/1=uno"}, false},
		{"mincreate", "a/", []OpOption{WithPrefix(), WithMinCreateRev(p2.Header.Revision + 2)}, []string{"a/3=three"}, false},
		{"maxcreate", "a/", []OpOption{WithPrefix(), WithMaxCreateRev(p1.Header.Revision)}, []string{"a/1=uno"}, false},
	}
	for _, tc := range cases {
		r, err := c.Get(ctx, tc.key, tc.opts...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := kvString(r.Kvs); !eq(got, tc.want) || r.More != tc.more {
			t.Errorf("%s: got %v more=%v, want %v more=%v", tc.name, got, r.More, tc.want, tc.more)
		}
	}
	all, err := c.Get(ctx, "", WithPrefix(), WithKeysOnly())
	if err != nil || all.Count != 4 {
		t.Fatalf("every key (empty prefix): %+v, %v", all, err)
	}
	cnt, err := c.Get(ctx, "a/", WithPrefix(), WithCountOnly())
	if err != nil || cnt.Count != 3 || len(cnt.Kvs) != 0 {
		t.Fatalf("count only: %+v, %v", cnt, err)
	}

	// Put options that keep value or lease.
	if _, err := c.Put(ctx, "b", "", WithIgnoreValue()); err != nil {
		t.Fatal(err)
	}
	if r, _ := c.Get(ctx, "b"); len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "bee" {
		t.Fatalf("ignore value changed the value: %+v", r.Kvs)
	}
	if _, err := c.Put(ctx, "b", "bee2", WithIgnoreLease()); err != nil {
		t.Fatal(err)
	}
	_, err = c.Put(ctx, "absent", "", WithIgnoreValue())
	if !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("ignore value on a missing key: %v", err)
	}
	_, err = c.Put(ctx, "b", "x", WithLease(12345))
	if !errors.Is(err, ErrLeaseNotFound) {
		t.Fatalf("put with an unknown lease: %v", err)
	}

	// Delete.
	d, err := c.Delete(ctx, "a/", WithPrefix(), WithPrevKV())
	if err != nil || d.Deleted != 3 || len(d.PrevKvs) != 3 {
		t.Fatalf("delete prefix: %+v, %v", d, err)
	}
	d, err = c.Delete(ctx, "a/1")
	if err != nil || d.Deleted != 0 {
		t.Fatalf("delete of a deleted key: %+v, %v", d, err)
	}
	if _, err := c.Put(ctx, "r1", "x"); err != nil {
		t.Fatal(err)
	}
	d, err = c.Delete(ctx, "r0", WithRange("r2"))
	if err != nil || d.Deleted != 1 {
		t.Fatalf("delete range: %+v, %v", d, err)
	}

	// Errors mapped to the typed error.
	var se *Error
	_, err = c.Put(ctx, "", "v")
	if !errors.Is(err, ErrEmptyKey) || !errors.As(err, &se) || se.Code != CodeInvalidArgument || se.HTTPStatus != 400 {
		t.Fatalf("empty key: %v", err)
	}
	_, err = c.Get(ctx, "b", WithRev(d.Header.Revision+1000))
	if !errors.Is(err, ErrFutureRev) || !errors.As(err, &se) || se.Code != CodeOutOfRange {
		t.Fatalf("future rev: %v", err)
	}
	if _, err := c.Get(ctx, "b", WithLease(1)); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("lease on a get: %v", err)
	}

	// Compact, then read below it.
	head, err := c.Put(ctx, "c", "1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compact(ctx, head.Header.Revision-1, WithPhysical()); err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(ctx, "a/1", WithRev(p1.Header.Revision))
	if !errors.Is(err, ErrCompacted) || !errors.As(err, &se) || se.Code != CodeOutOfRange {
		t.Fatalf("read below compaction: %v", err)
	}
	if _, err := c.Compact(ctx, head.Header.Revision-1); !errors.Is(err, ErrCompacted) {
		t.Fatalf("second compaction to the same revision: %v", err)
	}
	if _, err := c.Compact(ctx, 0); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("compact 0: %v", err)
	}
}

// TestTxn covers both branches, every op kind, nested txns and the
// duplicate-key refusal.
func TestTxn(t *testing.T) {
	cl := startCluster(t, 3)
	c := newClient(t, cl.endpoints, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, err := c.Put(ctx, "gone", "x"); err != nil {
		t.Fatal(err)
	}
	put, err := c.Put(ctx, "k", "v1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Txn(ctx).
		If(Compare(Value("k"), "=", "v1"), Compare(ModRevision("k"), "=", put.Header.Revision),
			Compare(Version("k"), ">", 0), Compare(CreateRevision("k"), "<", put.Header.Revision+1),
			Compare(LeaseValue("k"), "=", 0)).
		Then(OpPut("k", "v2"), OpGet("k"), OpPut("other", "x"), OpDelete("gone"),
			OpTxn([]Cmp{Compare(Value("k"), "!=", "v2")}, []Op{OpPut("inner", "then")}, []Op{OpPut("inner", "else")})).
		Else(OpPut("k", "failed")).
		Commit()
	if err != nil {
		t.Fatal(err)
	}
	if !r.Succeeded || len(r.Responses) != 5 {
		t.Fatalf("txn: %+v", r)
	}
	if r.Responses[0].Put == nil || r.Responses[1].Get == nil || r.Responses[3].Delete == nil || r.Responses[4].Txn == nil {
		t.Fatalf("txn response kinds: %+v", r.Responses)
	}
	if got := kvString(r.Responses[1].Get.Kvs); !eq(got, []string{"k=v2"}) {
		t.Fatalf("get inside txn: %v", got)
	}
	if r.Responses[3].Delete.Deleted != 1 {
		t.Fatalf("delete inside txn: %+v", r.Responses[3].Delete)
	}
	// etcd evaluates every compare of a txn, nested ones included, before
	// any op runs: the nested compare sees k=v1.
	if inner := r.Responses[4].Txn; !inner.Succeeded || len(inner.Responses) != 1 || inner.Responses[0].Put == nil {
		t.Fatalf("nested txn: %+v", inner)
	}
	if g, _ := c.Get(ctx, "inner"); len(g.Kvs) != 1 || string(g.Kvs[0].Value) != "then" {
		t.Fatalf("nested txn result: %+v", g)
	}

	// Failure branch; a read-only txn.
	r, err = c.Txn(ctx).If(Compare(Value("k"), "=", "v1")).Then(OpPut("k", "no")).Else(OpGet("k", WithPrefix())).Commit()
	if err != nil || r.Succeeded || len(r.Responses) != 1 || r.Responses[0].Get == nil {
		t.Fatalf("else branch: %+v, %v", r, err)
	}

	// Refusals.
	_, err = c.Txn(ctx).Then(OpPut("dup", "1"), OpPut("dup", "2")).Commit()
	var se *Error
	if !errors.Is(err, ErrDuplicateKey) || !errors.As(err, &se) || se.Code != CodeInvalidArgument {
		t.Fatalf("duplicate keys: %v", err)
	}
	if _, err := c.Txn(ctx).If(Compare(Value("k"), "~", "v")).Commit(); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("bad operator: %v", err)
	}
	if _, err := c.Txn(ctx).If(Compare(Version("k"), "=", "v")).Commit(); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("string operand on a version: %v", err)
	}
	if _, err := c.Txn(ctx).Then(Op{}).Commit(); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("zero op: %v", err)
	}
}
