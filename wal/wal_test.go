package wal

import (
	"errors"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

func TestSaveReopen(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	checkRange(t, w, 1, 0)
	hs := raftpb.HardState{Term: 1, Vote: 1, Commit: 0}
	mustSave(t, w, hs, ents(1, 10, 1, "a"))
	hs2 := raftpb.HardState{Term: 1, Vote: 1, Commit: 5}
	mustSave(t, w, hs2, nil)
	if s := w.Stats(); s.Fsyncs != 1 || s.SkippedFsyncs != 1 {
		t.Fatalf("stats = %+v, want 1 fsync and 1 skipped (commit-only save)", s)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = mustOpen(t, dir, Options{})
	defer w.Close()
	checkRange(t, w, 1, 10)
	checkEntries(t, w, ents(1, 10, 1, "a"))
	got, _ := w.HardState()
	if got != hs2 {
		t.Fatalf("hard state = %v, want %v", got, hs2)
	}
}

func TestOverwriteAndTruncateBack(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	mustSave(t, w, raftpb.HardState{Term: 1}, ents(1, 10, 1, "a"))
	mustSave(t, w, raftpb.HardState{Term: 2}, ents(6, 8, 2, "b"))
	checkRange(t, w, 1, 8)
	want := append(ents(1, 5, 1, "a"), ents(6, 8, 2, "b")...)
	checkEntries(t, w, want)
	if err := w.TruncateBack(7); err != nil {
		t.Fatal(err)
	}
	checkRange(t, w, 1, 7)
	if _, err := w.Entries(7, 9, 1<<20); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Entries past a cut: err = %v, want ErrUnavailable", err)
	}
	w.Close()
	w = mustOpen(t, dir, Options{})
	defer w.Close()
	checkRange(t, w, 1, 7)
	checkEntries(t, w, want[:7])
	if _, err := w.Term(8); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Term(8) after cut: %v", err)
	}
}
