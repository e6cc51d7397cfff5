package wal

import (
	"errors"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

func TestCompactToKeepsMappingAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 512} // several segments, so whole files go
	w := mustOpen(t, dir, o)
	hs := raftpb.HardState{Term: 2, Vote: 1, Commit: 30}
	mustSave(t, w, raftpb.HardState{Term: 1, Vote: 1}, ents(1, 20, 1, "a"))
	mustSave(t, w, hs, ents(21, 40, 2, "b"))
	segsBefore, _, _ := listSegments(dir)
	if err := w.CompactTo(25); err != nil {
		t.Fatal(err)
	}
	segsAfter, _, _ := listSegments(dir)
	if len(segsAfter) >= len(segsBefore) {
		t.Fatalf("CompactTo removed no segment: %d before, %d after", len(segsBefore), len(segsAfter))
	}
	check := func(w *WAL) {
		t.Helper()
		checkRange(t, w, 26, 40)
		checkEntries(t, w, ents(26, 40, 2, "b"))
		if tm, err := w.Term(25); err != nil || tm != 2 {
			t.Fatalf("Term(25) of the compaction point = %d, %v; want 2", tm, err)
		}
		if _, err := w.Term(24); !errors.Is(err, ErrCompacted) {
			t.Fatalf("Term(24) = %v, want ErrCompacted", err)
		}
		if _, err := w.Entries(25, 27, 1<<20); !errors.Is(err, ErrCompacted) {
			t.Fatalf("Entries(25, 27) = %v, want ErrCompacted", err)
		}
		if got, _ := w.HardState(); got != hs {
			t.Fatalf("hard state = %v, want %v", got, hs)
		}
	}
	check(w)
	w.Close()
	w = mustOpen(t, dir, o)
	check(w)
	// Appending continues at 41, and compacting everything leaves Term(40).
	mustSave(t, w, raftpb.HardState{}, ents(41, 45, 3, "c"))
	if err := w.CompactTo(45); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w = mustOpen(t, dir, o)
	defer w.Close()
	checkRange(t, w, 46, 45)
	if tm, err := w.Term(45); err != nil || tm != 3 {
		t.Fatalf("Term(45) = %d, %v; want 3", tm, err)
	}
	mustSave(t, w, raftpb.HardState{}, ents(46, 46, 3, "d"))
	checkEntries(t, w, ents(46, 46, 3, "d"))
}

func TestResetToKeepsMappingAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	hs := raftpb.HardState{Term: 4, Vote: 3, Commit: 8}
	mustSave(t, w, hs, ents(1, 10, 4, "a"))
	// A follower installs a snapshot at 1000, far ahead of its log.
	if err := w.ResetTo(1000, 7); err != nil {
		t.Fatal(err)
	}
	checkRange(t, w, 1001, 1000)
	if err := w.Save(raftpb.HardState{}, ents(1002, 1002, 7, "x")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Save with a gap after ResetTo: %v", err)
	}
	mustSave(t, w, raftpb.HardState{Term: 7, Vote: 0, Commit: 1000}, ents(1001, 1005, 7, "b"))
	w.Close()
	w = mustOpen(t, dir, Options{})
	checkRange(t, w, 1001, 1005)
	checkEntries(t, w, ents(1001, 1005, 7, "b"))
	if tm, err := w.Term(1000); err != nil || tm != 7 {
		t.Fatalf("Term(1000) = %d, %v; want 7", tm, err)
	}
	if _, err := w.Entries(5, 6, 100); !errors.Is(err, ErrCompacted) {
		t.Fatalf("old entries after ResetTo: %v, want ErrCompacted", err)
	}
	// Reset behind the last index also empties the log.
	if err := w.ResetTo(1003, 7); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w = mustOpen(t, dir, Options{})
	defer w.Close()
	checkRange(t, w, 1004, 1003)
	if got, _ := w.HardState(); got != (raftpb.HardState{Term: 7, Commit: 1000}) {
		t.Fatalf("hard state after resets = %v", got)
	}
}

func TestEntriesMaxBytes(t *testing.T) {
	for _, cache := range []int{1 << 20, 1} { // served from cache, then from disk
		w := mustOpen(t, t.TempDir(), Options{TailCacheBytes: cache})
		var es []raftpb.Entry
		for i := raftpb.Index(1); i <= 10; i++ {
			es = append(es, raftpb.Entry{Term: 1, Index: i, Data: make([]byte, 100)})
		}
		mustSave(t, w, raftpb.HardState{}, es)
		mustSave(t, w, raftpb.HardState{}, ents(11, 11, 1, "tail"))
		one := EntrySize(es[0]) // 128
		for _, tc := range []struct {
			max  uint64
			want int
		}{
			{0, 1}, {one - 1, 1}, {one, 1}, {2*one - 1, 1}, {2 * one, 2}, {5*one + 3, 5}, {^uint64(0), 9},
		} {
			got, err := w.Entries(2, 11, tc.max)
			if err != nil || len(got) != tc.want {
				t.Errorf("cache %d: Entries(2, 11, %d) = %d entries, %v; want %d", cache, tc.max, len(got), err, tc.want)
			}
			if len(got) > 0 && got[0].Index != 2 {
				t.Errorf("first entry %d, want 2", got[0].Index)
			}
		}
		if got, err := w.Entries(4, 4, 0); err != nil || len(got) != 0 {
			t.Errorf("Entries(4, 4) = %v, %v; want empty", got, err)
		}
		w.Close()
	}
}

// TestFailedCutsReopenToOldOrNewState fails each fsync step of CompactTo and
// ResetTo in turn; the WAL fails, and a reopen shows either the state
// before the cut or the state after it, never anything else.
func TestFailedCutsReopenToOldOrNewState(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cut      func(*WAL) error
		failPath func(dir string) string // which fsync fails: "" = segment data
		newFirst raftpb.Index
		newLast  raftpb.Index
	}{
		{"compact/data", func(w *WAL) error { return w.CompactTo(30) }, func(string) string { return "" }, 31, 40},
		{"compact/dir", func(w *WAL) error { return w.CompactTo(30) }, func(d string) string { return d }, 31, 40},
		{"reset/data", func(w *WAL) error { return w.ResetTo(100, 5) }, func(string) string { return "" }, 101, 100},
		{"reset/dir", func(w *WAL) error { return w.ResetTo(100, 5) }, func(d string) string { return d }, 101, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			armed := false
			hook := func(p string) error {
				want := tc.failPath(dir)
				if armed && ((want == "" && p != dir) || (want != "" && p == want)) {
					return errInjected
				}
				return nil
			}
			o := Options{SegmentSize: 256, FsyncHook: hook}
			w := mustOpen(t, dir, o)
			hs := raftpb.HardState{Term: 4, Vote: 1, Commit: 20}
			mustSave(t, w, hs, ents(1, 40, 4, "a"))
			armed = true
			if err := tc.cut(w); !errors.Is(err, ErrFailed) {
				t.Fatalf("cut with failing fsync: %v", err)
			}
			w2 := mustOpen(t, dir, Options{SegmentSize: 256})
			defer w2.Close()
			first, _ := w2.FirstIndex()
			last, _ := w2.LastIndex()
			switch {
			case first == 1 && last == 40:
				checkEntries(t, w2, ents(1, 40, 4, "a"))
			case first == tc.newFirst && last == tc.newLast:
				if last >= first {
					checkEntries(t, w2, ents(first, last, 4, "a"))
				}
			default:
				t.Fatalf("reopened range [%d, %d]: neither old [1, 40] nor new [%d, %d]", first, last, tc.newFirst, tc.newLast)
			}
			if got, _ := w2.HardState(); got != hs {
				t.Fatalf("hard state %v, want %v", got, hs)
			}
		})
	}
}
