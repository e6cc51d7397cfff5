package wal

import (
	"errors"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

var errInjected = errors.New("injected EIO")

func TestFsyncErrorIsFatalAndNeverRetried(t *testing.T) {
	dir := t.TempDir()
	var calls []string
	failing := false
	hook := func(path string) error {
		calls = append(calls, path)
		if failing {
			return errInjected
		}
		return nil
	}
	w := mustOpen(t, dir, Options{FsyncHook: hook})
	mustSave(t, w, raftpb.HardState{Term: 1}, ents(1, 5, 1, "a"))
	failing = true
	n := len(calls)
	err := w.Save(raftpb.HardState{Term: 1}, ents(6, 6, 1, "a"))
	if !errors.Is(err, ErrFailed) || !errors.Is(err, errInjected) {
		t.Fatalf("Save with failing fsync: err = %v, want ErrFailed wrapping the cause", err)
	}
	if len(calls) != n+1 {
		t.Fatalf("fsync attempted %d times after the failure began, want exactly 1 (no retry)", len(calls)-n)
	}
	// Every later call fails with the same error, and no fsync is tried.
	failing = false
	checks := map[string]error{
		"Save":         w.Save(raftpb.HardState{Term: 2}, ents(6, 6, 2, "b")),
		"TruncateBack": w.TruncateBack(3),
		"CompactTo":    w.CompactTo(2),
		"ResetTo":      w.ResetTo(10, 3),
		"Close":        w.Close(),
	}
	_, checks["Entries"] = w.Entries(1, 2, 100)
	_, checks["Term"] = w.Term(1)
	_, checks["FirstIndex"] = w.FirstIndex()
	_, checks["LastIndex"] = w.LastIndex()
	_, checks["HardState"] = w.HardState()
	for name, err := range checks {
		if !errors.Is(err, ErrFailed) || !errors.Is(err, errInjected) {
			t.Errorf("%s after failure: err = %v, want ErrFailed wrapping the cause", name, err)
		}
	}
	if len(calls) != n+1 {
		t.Fatalf("calls after the failure issued %d more fsyncs", len(calls)-n-1)
	}
	// The acknowledged batch is still there after a restart.
	w2 := mustOpen(t, dir, Options{})
	defer w2.Close()
	lastIdx, _ := w2.LastIndex()
	if lastIdx < 5 {
		t.Fatalf("last index after restart = %d, want >= 5", lastIdx)
	}
	checkEntries(t, w2, ents(1, 5, 1, "a"))
}

func TestDirFsyncErrorIsFatal(t *testing.T) {
	dir := t.TempDir()
	fail := false
	w := mustOpen(t, dir, Options{SegmentSize: 200, FsyncHook: func(p string) error {
		if fail && p == dir {
			return errInjected
		}
		return nil
	}})
	fail = true
	var err error
	for i := raftpb.Index(1); i < 100 && err == nil; i++ {
		err = w.Save(raftpb.HardState{}, ents(i, i, 1, "zzzzzzzzzzzzzzzzzzzzzzzzzzzz"))
	}
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "fsync directory") {
		t.Fatalf("segment roll with failing dir fsync: err = %v", err)
	}
	if _, err := w.LastIndex(); !errors.Is(err, ErrFailed) {
		t.Fatalf("LastIndex after failure: %v", err)
	}
}

func TestBadInputNeverPanics(t *testing.T) {
	w := mustOpen(t, t.TempDir(), Options{})
	mustSave(t, w, raftpb.HardState{Term: 3, Vote: 2, Commit: 2}, ents(1, 5, 3, "a"))
	gap := append(ents(6, 6, 3, "a"), ents(8, 8, 3, "a")...)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"gap after last", w.Save(raftpb.HardState{}, ents(7, 8, 3, "a")), ErrInvalid},
		{"gap inside batch", w.Save(raftpb.HardState{}, gap), ErrInvalid},
		{"entry term backwards", w.Save(raftpb.HardState{}, ents(6, 6, 2, "a")), ErrInvalid},
		{"term backwards inside batch", w.Save(raftpb.HardState{}, append(ents(6, 6, 3, "a"), ents(7, 7, 2, "a")...)), ErrInvalid},
		{"term 0", w.Save(raftpb.HardState{}, ents(6, 6, 0, "a")), ErrInvalid},
		{"hard state term backwards", w.Save(raftpb.HardState{Term: 2}, nil), ErrInvalid},
		{"vote change within term", w.Save(raftpb.HardState{Term: 3, Vote: 1, Commit: 2}, nil), ErrInvalid},
		{"commit backwards", w.Save(raftpb.HardState{Term: 3, Vote: 2, Commit: 1}, nil), ErrInvalid},
		{"empty entry with data", w.Save(raftpb.HardState{}, []raftpb.Entry{{Term: 3, Index: 6, Type: raftpb.EntryEmpty, Data: []byte("x")}}), ErrInvalid},
		{"unknown entry type", w.Save(raftpb.HardState{}, []raftpb.Entry{{Term: 3, Index: 6, Type: 9}}), ErrInvalid},
		{"entry at index 0", w.Save(raftpb.HardState{}, ents(0, 1, 3, "a")), ErrInvalid},
		{"TruncateBack past last", w.TruncateBack(9), ErrUnavailable},
		{"CompactTo past last", w.CompactTo(9), ErrUnavailable},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	_, err := w.Entries(4, 2, 100)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "lo > hi") {
		t.Errorf("Entries(4, 2): %v", err)
	}
	if _, err := w.Entries(3, 8, 100); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Entries past last: %v", err)
	}
	if _, err := w.Term(6); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Term past last: %v", err)
	}
	if _, err := w.Entries(0, 2, 100); !errors.Is(err, ErrCompacted) {
		t.Errorf("Entries(0, 2): %v", err)
	}
	// The rejected calls changed nothing.
	checkRange(t, w, 1, 5)
	checkEntries(t, w, ents(1, 5, 3, "a"))
	if err := w.CompactTo(3); err != nil {
		t.Fatal(err)
	}
	if err := w.CompactTo(2); !errors.Is(err, ErrCompacted) {
		t.Errorf("CompactTo below the compaction point: %v", err)
	}
	if err := w.TruncateBack(1); !errors.Is(err, ErrCompacted) {
		t.Errorf("TruncateBack below the compaction point: %v", err)
	}
	if err := w.Save(raftpb.HardState{}, ents(3, 3, 3, "a")); !errors.Is(err, ErrInvalid) {
		t.Errorf("Save at the compaction point: %v", err)
	}
	if err := w.ResetTo(2, 3); !errors.Is(err, ErrCompacted) {
		t.Errorf("ResetTo below the compaction point: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Save after Close":      w.Save(raftpb.HardState{}, ents(6, 6, 3, "a")),
		"Close after Close":     w.Close(),
		"CompactTo after Close": w.CompactTo(4),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s: err = %v, want ErrClosed", name, err)
		}
	}
	if _, err := w.Entries(4, 5, 10); !errors.Is(err, ErrClosed) {
		t.Errorf("Entries after Close: %v", err)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{SegmentSize: -1}, {TailCacheBytes: -5}, {DiskProfile: 99}} {
		if _, err := Open(t.TempDir(), o); !errors.Is(err, ErrInvalid) {
			t.Errorf("Open(%+v): err = %v, want ErrInvalid", o, err)
		}
	}
	if _, err := Open("", Options{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open(\"\"): %v", err)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open of %s: err = %v, want ErrLocked", dir, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = mustOpen(t, dir, Options{})
	w.Close()
}
