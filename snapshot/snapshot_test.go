package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

type fixedClock struct{}

func (fixedClock) Now() time.Time { return time.Unix(1_700_000_000, 0) }

func cfg() mvcc.Config { return mvcc.Config{Clock: fixedClock{}} }

// buildStore applies n random operations (puts, deletes, lease grants and
// revokes, one compaction half way) and returns the store.
func buildStore(t testing.TB, seed uint64, n int) *mvcc.Store {
	t.Helper()
	s, err := mvcc.New(cfg())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	idx := raftpb.Index(0)
	var leases []int64
	for i := 0; i < n; i++ {
		idx++
		key := []byte(fmt.Sprintf("key/%03d", rng.IntN(200)))
		switch r := rng.IntN(20); {
		case r < 12:
			var lease int64
			if len(leases) > 0 && rng.IntN(4) == 0 {
				lease = leases[rng.IntN(len(leases))]
			}
			val := bytes.Repeat([]byte{byte(rng.IntN(256))}, rng.IntN(300))
			if _, err := s.Put(idx, &mvcc.PutRequest{Key: key, Value: val, Lease: lease}); err != nil {
				t.Fatal(err)
			}
		case r < 16:
			if _, err := s.DeleteRange(idx, &mvcc.DeleteRangeRequest{Key: key, RangeEnd: append(key, 0xff)}); err != nil {
				t.Fatal(err)
			}
		case r < 18:
			id := int64(1000 + i)
			if _, err := s.LeaseGrant(idx, id, int64(5+rng.IntN(100))); err != nil {
				t.Fatal(err)
			}
			leases = append(leases, id)
		default:
			if len(leases) > 0 {
				j := rng.IntN(len(leases))
				if _, err := s.LeaseRevoke(idx, leases[j]); err != nil {
					t.Fatal(err)
				}
				leases = append(leases[:j], leases[j+1:]...)
			}
		}
		if i == n/2 && s.Rev() > 1 {
			idx++
			if _, err := s.Compact(idx, s.Rev()/2); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

func meta() Meta {
	return Meta{ClusterID: 0xc1, Term: 7, ConfState: raftpb.ConfState{Voters: []raftpb.NodeID{1, 2, 3}, Learners: []raftpb.NodeID{4}},
		Members: []byte(`[{"id":1,"name":"a"}]`)}
}

func mustWrite(t testing.TB, s *mvcc.Store) ([]byte, Meta) {
	t.Helper()
	var buf bytes.Buffer
	m, _, err := Write(&buf, meta(), s.View(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), m
}

// sameStores checks two stores answer identically at every retained revision.
func sameStores(t *testing.T, a, b *mvcc.Store) {
	t.Helper()
	ha, err := a.HashKV(0)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := b.HashKV(0)
	if err != nil {
		t.Fatal(err)
	}
	if *ha != *hb {
		t.Fatalf("hash differs: %+v vs %+v", ha, hb)
	}
	if a.AppliedIndex() != b.AppliedIndex() {
		t.Fatalf("applied index %d vs %d", a.AppliedIndex(), b.AppliedIndex())
	}
	for rev := ha.CompactRevision; rev <= ha.Revision; rev++ {
		req := &mvcc.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: rev}
		ra, errA := a.Range(req)
		rb, errB := b.Range(req)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("rev %d: errors differ: %v vs %v", rev, errA, errB)
		}
		if errA == nil && !reflect.DeepEqual(ra.Kvs, rb.Kvs) {
			t.Fatalf("rev %d: ranges differ", rev)
		}
	}
	if la, lb := a.Leases(), b.Leases(); !reflect.DeepEqual(la, lb) {
		t.Fatalf("leases differ: %v vs %v", la, lb)
	}
}

func TestRoundTrip(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		s := buildStore(t, seed, 3000)
		data, m := mustWrite(t, s)
		r, got, st, err := Read(bytes.NewReader(data), cfg(), Options{})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("meta: got %+v want %+v", got, m)
		}
		if st.FileBytes != int64(len(data)) {
			t.Fatalf("stats say %d bytes, file has %d", st.FileBytes, len(data))
		}
		if m.Index != s.AppliedIndex() || m.Revision != s.Rev() {
			t.Fatalf("meta %+v does not match the store (index %d, rev %d)", m, s.AppliedIndex(), s.Rev())
		}
		sameStores(t, s, r)
		s.Close()
		r.Close()
	}
}

// TestWritesContinueDuringSave takes a view, keeps writing, and checks the
// snapshot holds exactly the view's point in time.
func TestWritesContinueDuringSave(t *testing.T) {
	s := buildStore(t, 9, 2000)
	defer s.Close()
	v := s.View()
	frozen := buildStore(t, 9, 2000) // the same operations: the same state
	defer frozen.Close()
	idx := s.AppliedIndex()
	for i := 0; i < 500; i++ {
		idx++
		if _, err := s.Put(idx, &mvcc.PutRequest{Key: []byte(fmt.Sprintf("late/%d", i)), Value: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, _, err := Write(&buf, meta(), v, Options{}); err != nil {
		t.Fatal(err)
	}
	r, _, _, err := Read(&buf, cfg(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sameStores(t, frozen, r)
}

// TestEveryBitFlipIsCaught flips one bit at every byte of a small snapshot
// (and at sampled bytes of a larger one) and checks no read returns a store.
func TestEveryBitFlipIsCaught(t *testing.T) {
	for _, n := range []int{50, 3000} {
		s := buildStore(t, 3, n)
		data, _ := mustWrite(t, s)
		s.Close()
		step := 1
		if len(data) > 4096 {
			step = len(data) / 500
		}
		for off := 0; off < len(data); off += step {
			bad := bytes.Clone(data)
			bad[off] ^= 1 << (off % 8)
			r, _, _, err := Read(bytes.NewReader(bad), cfg(), Options{})
			if err == nil {
				r.Close()
				t.Fatalf("n=%d: bit flip at offset %d of %d not detected", n, off, len(data))
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("n=%d: flip at %d: error %v is not ErrCorrupt", n, off, err)
			}
		}
	}
}

func TestTruncationIsCaught(t *testing.T) {
	s := buildStore(t, 4, 400)
	data, _ := mustWrite(t, s)
	s.Close()
	for n := 0; n < len(data); n++ {
		if r, _, _, err := Read(bytes.NewReader(data[:n]), cfg(), Options{}); !errors.Is(err, ErrCorrupt) {
			if r != nil {
				r.Close()
			}
			t.Fatalf("truncated to %d of %d bytes: got %v, want ErrCorrupt", n, len(data), err)
		}
	}
	if _, _, _, err := Read(bytes.NewReader(append(bytes.Clone(data), 0)), cfg(), Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing garbage: got %v, want ErrCorrupt", err)
	}
}

func TestSaveLoadListPurge(t *testing.T) {
	dir := t.TempDir()
	s := buildStore(t, 5, 1000)
	defer s.Close()
	var calls []Progress
	opts := Options{ProgressEvery: 100, Progress: func(p Progress) { calls = append(calls, p) }}
	path, m, st, err := Save(dir, meta(), s.View(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != FileName(7, s.AppliedIndex()) {
		t.Fatalf("saved as %s", path)
	}
	if len(calls) < 2 || !calls[len(calls)-1].Done || calls[len(calls)-1].Records != st.Records {
		t.Fatalf("progress calls %+v do not end with a Done call covering %d records", calls, st.Records)
	}
	if got, err := ReadMeta(path); err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("ReadMeta = %+v, %v; want %+v", got, err, m)
	}
	if _, _, err := Verify(path, Options{}); err != nil {
		t.Fatal(err)
	}
	r, _, _, err := Load(path, cfg(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameStores(t, s, r)
	r.Close()

	// Two more snapshots and a stray temp file; Purge keeps the newest two.
	for i := 0; i < 2; i++ {
		if _, err := s.Put(s.AppliedIndex()+1, &mvcc.PutRequest{Key: []byte("more"), Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := Save(dir, meta(), s.View(), Options{}); err != nil {
			t.Fatal(err)
		}
	}
	stray := filepath.Join(dir, FileName(7, 1)+".123.tmp")
	if err := os.WriteFile(stray, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	paths, err := List(dir)
	if err != nil || len(paths) != 3 {
		t.Fatalf("List = %v, %v; want 3 snapshots and no temp file", paths, err)
	}
	if err := Purge(dir, 2); err != nil {
		t.Fatal(err)
	}
	left, _ := List(dir)
	if !reflect.DeepEqual(left, paths[1:]) {
		t.Fatalf("after purge: %v, want %v", left, paths[1:])
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatalf("stray temp file survived Purge: %v", err)
	}
}

func TestLoadCorruptFileNamesIt(t *testing.T) {
	dir := t.TempDir()
	s := buildStore(t, 6, 300)
	defer s.Close()
	path, _, _, err := Save(dir, meta(), s.View(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 0x40
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = Load(path, cfg(), Options{})
	if !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte(path)) {
		t.Fatalf("got %v; want ErrCorrupt naming %s", err, path)
	}
}

type failWriter struct{ left int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		return 0, errors.New("disk full")
	}
	f.left -= len(p)
	return len(p), nil
}

func TestWriteErrorsAndBadMeta(t *testing.T) {
	s := buildStore(t, 7, 300)
	defer s.Close()
	if _, _, err := Write(&failWriter{left: 100}, meta(), s.View(), Options{}); err == nil {
		t.Fatal("write to a failing writer succeeded")
	}
	m := meta()
	m.Index = s.AppliedIndex() + 1
	if _, _, err := Write(&bytes.Buffer{}, m, s.View(), Options{}); err == nil {
		t.Fatal("a meta index that disagrees with the view was accepted")
	}
	if _, _, _, err := Save(filepath.Join(t.TempDir(), "missing"), meta(), s.View(), Options{}); err == nil {
		t.Fatal("save into a missing directory succeeded")
	}
	if _, err := ReadMeta(filepath.Join(t.TempDir(), "nope.snap")); err == nil {
		t.Fatal("ReadMeta of a missing file succeeded")
	}
}

func FuzzRead(f *testing.F) {
	s := buildStore(f, 8, 60)
	data, _ := mustWrite(f, s)
	s.Close()
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _, _, err := Read(bytes.NewReader(b), cfg(), Options{})
		if err == nil {
			r.Close()
		}
	})
}
