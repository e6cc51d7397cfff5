package mvcc

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Two stores fed the same entries hash alike whether or not the compactor
// has swept yet; a different history hashes differently.
func TestHashKV(t *testing.T) {
	a := newTestStore(t, Config{})
	b := newTestStore(t, Config{CompactionBatch: 1})
	for i := 0; i < 50; i++ {
		for _, s := range []*tstore{a, b} {
			s.put(fmt.Sprintf("k%d", i%5), fmt.Sprint(i))
			if i%9 == 0 {
				if _, err := s.DeleteRange(s.next(), &DeleteRangeRequest{Key: []byte("k3")}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, s := range []*tstore{a, b} {
		if _, err := s.Compact(s.next(), 30); err != nil {
			t.Fatal(err)
		}
	}
	waitSwept(t, a.Store, 30)
	for _, rev := range []int64{0, 30, 45} {
		ha, err1 := a.HashKV(rev)
		hb, err2 := b.HashKV(rev)
		if err1 != nil || err2 != nil || ha.Hash != hb.Hash || ha.CompactRevision != 30 {
			t.Fatalf("rev %d: %+v %v / %+v %v", rev, ha, err1, hb, err2)
		}
	}
	h45, _ := a.HashKV(45)
	h0, _ := a.HashKV(0)
	if h45.Hash == h0.Hash {
		t.Fatal("hash ignores revisions after 45")
	}
	_, err := a.HashKV(29)
	wantErr(t, err, ErrCompacted)
	_, err = a.HashKV(1000)
	wantErr(t, err, ErrFutureRev)
	b.put("k1", "different")
	ha, _ := a.HashKV(0)
	hb, _ := b.HashKV(0)
	if ha.Hash == hb.Hash {
		t.Fatal("different stores, same hash")
	}
}

func waitSwept(t *testing.T, s *Store, rev int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitCompaction(ctx, rev); err != nil {
		t.Fatalf("compaction at %d: %v", rev, err)
	}
}

// Compaction frees memory, and reads at or above the compact revision
// give the same answers while the compactor sweeps concurrently with a
// writer and readers.
func TestCompactionUnderLoad(t *testing.T) {
	s := newTestStore(t, Config{CompactionBatch: 3})
	for i := 0; i < 2000; i++ {
		s.put(fmt.Sprintf("k%03d", i%200), fmt.Sprint(i))
	}
	before := s.Status()
	want, err := s.Range(&RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: 1900})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := s.Range(&RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: 1900})
				if err != nil || got.Count != want.Count || dumpKVs(got.Kvs) != dumpKVs(want.Kvs) {
					t.Errorf("read during compaction: %v", err)
					return
				}
			}
		}()
	}
	if _, err := s.Compact(s.next(), 1900); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		s.put(fmt.Sprintf("k%03d", i%200), "after")
	}
	waitSwept(t, s.Store, 1900)
	close(stop)
	wg.Wait()
	after := s.Status()
	if after.SizeInUse >= before.SizeInUse || after.SizeTotal < after.SizeInUse {
		t.Fatalf("sizes before %+v after %+v", before, after)
	}
	_, err = s.Range(&RangeRequest{Key: []byte("k001"), Revision: 1899})
	wantErr(t, err, ErrCompacted)
	_, err = s.Compact(s.next(), 1900)
	wantErr(t, err, ErrCompacted)
}

// A view keeps its point in time while writes and compaction go on.
func TestViewIsFrozen(t *testing.T) {
	s := newTestStore(t, Config{})
	for i := 0; i < 100; i++ {
		s.put(fmt.Sprintf("k%d", i%10), fmt.Sprint(i))
	}
	v := s.View()
	count := func() int {
		n := 0
		if err := v.ForEach(func(KeyRevision) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := count()
	if n != 100 || v.Header().Revision != 101 {
		t.Fatalf("view has %d revisions at %+v", n, v.Header())
	}
	for i := 0; i < 100; i++ {
		s.put(fmt.Sprintf("k%d", i%10), "new")
	}
	if _, err := s.Compact(s.next(), 150); err != nil {
		t.Fatal(err)
	}
	waitSwept(t, s.Store, 150)
	if got := count(); got != n {
		t.Fatalf("view changed: %d revisions, was %d", got, n)
	}
}

func TestRestoreRejectsBadStreams(t *testing.T) {
	clk := newFakeClock()
	_, err := NewRestorer(Config{Clock: clk}, ViewHeader{Revision: 0})
	wantErr(t, err, ErrRestore)
	r, _ := NewRestorer(Config{Clock: clk}, ViewHeader{Revision: 10})
	if err := r.AddKeyRevision(KeyRevision{Key: []byte("b"), Main: 2, CreateRevision: 2, Version: 1}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, r.AddKeyRevision(KeyRevision{Key: []byte("a"), Main: 3, CreateRevision: 3, Version: 1}), ErrRestore)
	wantErr(t, r.AddKeyRevision(KeyRevision{Key: []byte("b"), Main: 2, CreateRevision: 2, Version: 1}), ErrRestore)
	wantErr(t, r.AddKeyRevision(KeyRevision{Key: []byte("c"), Main: 11, CreateRevision: 2, Version: 1}), ErrRestore)
	wantErr(t, r.AddLease(LeaseRecord{ID: 0, TTL: 5}), ErrRestore)
	if err := r.AddKeyRevision(KeyRevision{Key: []byte("c"), Main: 4, CreateRevision: 4, Version: 1, Lease: 9}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Finish()
	wantErr(t, err, ErrRestore) // lease 9 unknown
}
