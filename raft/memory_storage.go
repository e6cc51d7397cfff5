package raft

import (
	"fmt"
	"sync"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// MemoryStorage is the in-memory Storage: the reference implementation of the
// contract the WAL implements on disk. It is safe for concurrent use (the
// driver writes while, in a concurrent driver, another goroutine may read).
//
// To bootstrap a new group, apply a snapshot that carries the initial
// membership, for example
//
//	ms.ApplySnapshot(raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{
//		Index: 1, Term: 1, ConfState: raftpb.ConfState{Voters: []raftpb.NodeID{1, 2, 3}}}})
//
// A node added later by a membership change starts with an empty
// MemoryStorage and receives the log (or a snapshot) from the leader.
type MemoryStorage struct {
	mu struct {
		sync.Mutex
		hardState raftpb.HardState
		snapshot  raftpb.Snapshot
		// ents[0] is a dummy entry holding the snapshot's index and term.
		// Invariant: len(ents) >= 1 and ents[i].Index == ents[0].Index+i.
		ents []raftpb.Entry
	}
}

var _ Storage = (*MemoryStorage)(nil)

// NewMemoryStorage returns an empty MemoryStorage (no entries, no snapshot).
func NewMemoryStorage() *MemoryStorage {
	ms := &MemoryStorage{}
	ms.mu.ents = make([]raftpb.Entry, 1)
	return ms
}

// InitialState implements Storage.
func (ms *MemoryStorage) InitialState() (raftpb.HardState, raftpb.ConfState, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.mu.hardState, cloneConfState(ms.mu.snapshot.Metadata.ConfState), nil
}

// SetHardState records the HardState to be returned by InitialState.
func (ms *MemoryStorage) SetHardState(hs raftpb.HardState) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.mu.hardState = hs
	return nil
}

// Entries implements Storage. The returned slice is a copy.
func (ms *MemoryStorage) Entries(lo, hi raftpb.Index, maxSize uint64) ([]raftpb.Entry, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	offset := ms.mu.ents[0].Index
	if lo <= offset {
		return nil, ErrCompacted
	}
	if hi > ms.lastIndexLocked()+1 {
		return nil, fmt.Errorf("%w: entries [%d, %d) requested, last index is %d",
			ErrUnavailable, lo, hi, ms.lastIndexLocked())
	}
	if lo >= hi {
		return nil, nil
	}
	ents := limitSize(ms.mu.ents[lo-offset:hi-offset], maxSize)
	out := make([]raftpb.Entry, len(ents))
	copy(out, ents)
	return out, nil
}

// Term implements Storage.
func (ms *MemoryStorage) Term(i raftpb.Index) (raftpb.Term, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	offset := ms.mu.ents[0].Index
	if i < offset {
		return 0, ErrCompacted
	}
	if int(i-offset) >= len(ms.mu.ents) {
		return 0, ErrUnavailable
	}
	return ms.mu.ents[i-offset].Term, nil
}

// LastIndex implements Storage.
func (ms *MemoryStorage) LastIndex() (raftpb.Index, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.lastIndexLocked(), nil
}

// lastIndexLocked is LastIndex; ms.mu must be held.
func (ms *MemoryStorage) lastIndexLocked() raftpb.Index {
	return ms.mu.ents[0].Index + raftpb.Index(len(ms.mu.ents)) - 1
}

// FirstIndex implements Storage.
func (ms *MemoryStorage) FirstIndex() (raftpb.Index, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.mu.ents[0].Index + 1, nil
}

// Snapshot implements Storage.
func (ms *MemoryStorage) Snapshot() (raftpb.Snapshot, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.mu.snapshot, nil
}

// ApplySnapshot replaces the storage's contents with snap: every entry is
// dropped and the log restarts after snap.Metadata.Index. It returns
// ErrSnapOutOfDate if snap is older than the snapshot already held.
func (ms *MemoryStorage) ApplySnapshot(snap raftpb.Snapshot) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if snap.Metadata.Index <= ms.mu.snapshot.Metadata.Index {
		return fmt.Errorf("%w: applying snapshot at %d, have %d",
			ErrSnapOutOfDate, snap.Metadata.Index, ms.mu.snapshot.Metadata.Index)
	}
	ms.mu.snapshot = snap
	ms.mu.ents = []raftpb.Entry{{Term: snap.Metadata.Term, Index: snap.Metadata.Index}}
	return nil
}

// CreateSnapshot records a snapshot of the application state at index i (which
// must be in the log, at or below LastIndex) with membership cs (the
// membership as of index i, i.e. after applying every conf change up to i;
// nil keeps the previous snapshot's) and application data. It does not compact; call Compact afterwards to drop the
// entries the snapshot covers. Returns ErrSnapOutOfDate if i is not newer than
// the current snapshot.
func (ms *MemoryStorage) CreateSnapshot(i raftpb.Index, cs *raftpb.ConfState, data []byte) (raftpb.Snapshot, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if i <= ms.mu.snapshot.Metadata.Index {
		return raftpb.Snapshot{}, fmt.Errorf("%w: snapshot at %d requested, have %d",
			ErrSnapOutOfDate, i, ms.mu.snapshot.Metadata.Index)
	}
	offset := ms.mu.ents[0].Index
	if i < offset || i > ms.lastIndexLocked() {
		return raftpb.Snapshot{}, fmt.Errorf("%w: snapshot index %d outside the log [%d, %d]",
			ErrUnavailable, i, offset, ms.lastIndexLocked())
	}
	ms.mu.snapshot.Metadata.Index = i
	ms.mu.snapshot.Metadata.Term = ms.mu.ents[i-offset].Term
	if cs != nil {
		ms.mu.snapshot.Metadata.ConfState = cloneConfState(*cs)
	}
	ms.mu.snapshot.Data = data
	return ms.mu.snapshot, nil
}

// Compact discards every entry up to and including compactIndex; the entry at
// compactIndex keeps only its term (as the new dummy). The application must
// not compact beyond what it has applied, and should have created a snapshot
// at or above compactIndex first (otherwise lagging followers cannot be served).
// Returns ErrCompacted if compactIndex is already compacted and ErrUnavailable
// if it is beyond the last index.
func (ms *MemoryStorage) Compact(compactIndex raftpb.Index) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	offset := ms.mu.ents[0].Index
	if compactIndex <= offset {
		return ErrCompacted
	}
	if compactIndex > ms.lastIndexLocked() {
		return fmt.Errorf("%w: compact %d is beyond last index %d",
			ErrUnavailable, compactIndex, ms.lastIndexLocked())
	}
	i := compactIndex - offset
	ents := make([]raftpb.Entry, 1, raftpb.Index(len(ms.mu.ents))-i)
	ents[0].Index = ms.mu.ents[i].Index
	ents[0].Term = ms.mu.ents[i].Term
	ents = append(ents, ms.mu.ents[i+1:]...)
	ms.mu.ents = ents
	return nil
}

// Append adds entries to the log. Entries must be contiguous (each index one
// more than the previous). Entries already compacted are ignored; an entry at
// an index already present replaces it and everything after it (a follower
// truncating a conflicting tail). A gap after the last index is an error.
func (ms *MemoryStorage) Append(entries []raftpb.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].Index != entries[i-1].Index+1 {
			return fmt.Errorf("raft: MemoryStorage.Append: entries not contiguous at %d then %d",
				entries[i-1].Index, entries[i].Index)
		}
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	first := ms.mu.ents[0].Index + 1
	last := entries[len(entries)-1].Index
	if last < first {
		return nil // all compacted
	}
	if first > entries[0].Index {
		entries = entries[first-entries[0].Index:]
	}
	offset := entries[0].Index - ms.mu.ents[0].Index
	switch {
	case raftpb.Index(len(ms.mu.ents)) > offset:
		kept := make([]raftpb.Entry, offset, offset+raftpb.Index(len(entries)))
		copy(kept, ms.mu.ents[:offset])
		ms.mu.ents = append(kept, entries...)
	case raftpb.Index(len(ms.mu.ents)) == offset:
		ms.mu.ents = append(ms.mu.ents, entries...)
	default:
		return fmt.Errorf("raft: MemoryStorage.Append: missing log entries [last: %d, append at: %d]",
			ms.lastIndexLocked(), entries[0].Index)
	}
	return nil
}

// cloneConfState deep-copies cs, so that callers never share slices with the storage.
func cloneConfState(cs raftpb.ConfState) raftpb.ConfState {
	clone := func(ids []raftpb.NodeID) []raftpb.NodeID {
		if ids == nil {
			return nil
		}
		return append([]raftpb.NodeID(nil), ids...)
	}
	return raftpb.ConfState{
		Voters: clone(cs.Voters), Learners: clone(cs.Learners),
		VotersOutgoing: clone(cs.VotersOutgoing), LearnersNext: clone(cs.LearnersNext),
		AutoLeave: cs.AutoLeave,
	}
}
