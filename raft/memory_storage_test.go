package raft

import (
	"errors"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

func ents(pairs ...uint64) []raftpb.Entry {
	// ents(index, term, index, term, ...)
	var out []raftpb.Entry
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, raftpb.Entry{Index: raftpb.Index(pairs[i]), Term: raftpb.Term(pairs[i+1])})
	}
	return out
}

// newStorageWith returns a MemoryStorage holding a snapshot at (3, 3) and
// entries 4/4, 5/5.
func newStorageWith(t *testing.T) *MemoryStorage {
	t.Helper()
	ms := NewMemoryStorage()
	if err := ms.ApplySnapshot(raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 3, Term: 3}}); err != nil {
		t.Fatal(err)
	}
	if err := ms.Append(ents(4, 4, 5, 5)); err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestMemoryStorageTermAndBounds(t *testing.T) {
	ms := newStorageWith(t)
	for _, tc := range []struct {
		i    raftpb.Index
		want raftpb.Term
		err  error
	}{{2, 0, ErrCompacted}, {3, 3, nil}, {4, 4, nil}, {5, 5, nil}, {6, 0, ErrUnavailable}} {
		got, err := ms.Term(tc.i)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("Term(%d) = %d, %v; want %d, %v", tc.i, got, err, tc.want, tc.err)
		}
	}
	if f, _ := ms.FirstIndex(); f != 4 {
		t.Errorf("FirstIndex %d", f)
	}
	if l, _ := ms.LastIndex(); l != 5 {
		t.Errorf("LastIndex %d", l)
	}
	if _, err := ms.Entries(3, 5, noLimit); !errors.Is(err, ErrCompacted) {
		t.Errorf("Entries(3,5): %v", err)
	}
	if _, err := ms.Entries(4, 7, noLimit); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Entries(4,7): %v", err)
	}
	got, err := ms.Entries(4, 6, noLimit)
	if err != nil || len(got) != 2 {
		t.Fatalf("Entries(4,6) = %v, %v", got, err)
	}
	// maxSize: at least one entry.
	if got, _ := ms.Entries(4, 6, 0); len(got) != 1 {
		t.Errorf("Entries with maxSize 0 returned %d entries, want 1", len(got))
	}
	// The returned slice is a copy.
	got[0].Term = 99
	if tt, _ := ms.Term(4); tt != 4 {
		t.Error("Entries result aliases the storage")
	}
}

func TestMemoryStorageAppendTruncatesAndRejectsGaps(t *testing.T) {
	ms := newStorageWith(t)
	// Overwrite from 5 with a new term, extend to 6.
	if err := ms.Append(ents(5, 6, 6, 6)); err != nil {
		t.Fatal(err)
	}
	if tt, _ := ms.Term(5); tt != 6 {
		t.Errorf("entry 5 not replaced: term %d", tt)
	}
	// Entries partly compacted are trimmed.
	if err := ms.Append(ents(2, 2, 3, 3, 4, 4)); err != nil {
		t.Fatal(err)
	}
	if l, _ := ms.LastIndex(); l != 4 {
		t.Errorf("append at 4 must truncate the tail: last %d", l)
	}
	if err := ms.Append(ents(9, 9)); err == nil {
		t.Error("a gap must be refused")
	}
	if err := ms.Append(ents(5, 5, 7, 5)); err == nil {
		t.Error("non-contiguous entries must be refused")
	}
}

func TestMemoryStorageSnapshotAndCompact(t *testing.T) {
	ms := newStorageWith(t)
	cs := raftpb.ConfState{Voters: []raftpb.NodeID{1, 2}}
	snap, err := ms.CreateSnapshot(4, &cs, []byte("data"))
	if err != nil || snap.Metadata.Index != 4 || snap.Metadata.Term != 4 {
		t.Fatalf("CreateSnapshot = %+v, %v", snap.Metadata, err)
	}
	if _, err := ms.CreateSnapshot(4, &cs, nil); !errors.Is(err, ErrSnapOutOfDate) {
		t.Errorf("second snapshot at 4: %v", err)
	}
	if _, err := ms.CreateSnapshot(9, &cs, nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("snapshot beyond the log: %v", err)
	}
	if err := ms.Compact(4); err != nil {
		t.Fatal(err)
	}
	if f, _ := ms.FirstIndex(); f != 5 {
		t.Errorf("FirstIndex after Compact(4) = %d", f)
	}
	if tt, _ := ms.Term(4); tt != 4 {
		t.Errorf("the compaction point keeps its term: %d", tt)
	}
	if err := ms.Compact(4); !errors.Is(err, ErrCompacted) {
		t.Errorf("Compact(4) twice: %v", err)
	}
	if err := ms.Compact(9); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Compact beyond last: %v", err)
	}
	if err := ms.ApplySnapshot(raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 2, Term: 2}}); !errors.Is(err, ErrSnapOutOfDate) {
		t.Errorf("older ApplySnapshot: %v", err)
	}
	if err := ms.ApplySnapshot(raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 10, Term: 7, ConfState: cs}}); err != nil {
		t.Fatal(err)
	}
	if f, _ := ms.FirstIndex(); f != 11 {
		t.Errorf("FirstIndex after ApplySnapshot(10) = %d", f)
	}
	if l, _ := ms.LastIndex(); l != 10 {
		t.Errorf("LastIndex after ApplySnapshot(10) = %d", l)
	}
	_, gotCS, _ := ms.InitialState()
	if len(gotCS.Voters) != 2 {
		t.Errorf("InitialState ConfState %+v", gotCS)
	}
}
