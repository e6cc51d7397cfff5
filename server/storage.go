package server

import (
	"errors"
	"sync"

	"github.com/shelf-kv/shelf/raft"
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/wal"
)

// raftStorage is raft's read-only view of this member's durable log: the WAL
// for entries and hard state, plus the metadata of the newest snapshot
// file. The raft loop is its only writer (through the WAL and setSnapshot);
// raft reads it from the same goroutine, and the snapshot sender reads the
// metadata from others, hence the mutex.
type raftStorage struct {
	w  *wal.WAL
	mu struct {
		sync.Mutex
		// snap is the newest snapshot's metadata; Data is always nil: the
		// file itself is streamed by the transport when raft sends MsgSnap.
		snap raftpb.Snapshot
	}
}

var _ raft.Storage = (*raftStorage)(nil)

func newRaftStorage(w *wal.WAL, snap raftpb.SnapshotMetadata) *raftStorage {
	s := &raftStorage{w: w}
	s.mu.snap.Metadata = snap
	return s
}

// setSnapshot records that a snapshot file now exists at meta.
func (s *raftStorage) setSnapshot(meta raftpb.SnapshotMetadata) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.snap = raftpb.Snapshot{Metadata: meta}
}

// InitialState returns the WAL's hard state and the newest snapshot's
// membership. Membership changes after the snapshot are in the log and are
// re-applied by the raft loop as it applies committed entries again.
func (s *raftStorage) InitialState() (raftpb.HardState, raftpb.ConfState, error) {
	hs, err := s.w.HardState()
	if err != nil {
		return hs, raftpb.ConfState{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return hs, s.mu.snap.Metadata.ConfState, nil
}

func (s *raftStorage) Entries(lo, hi raftpb.Index, maxSize uint64) ([]raftpb.Entry, error) {
	ents, err := s.w.Entries(lo, hi, maxSize)
	return ents, mapWALErr(err)
}

func (s *raftStorage) Term(i raftpb.Index) (raftpb.Term, error) {
	t, err := s.w.Term(i)
	return t, mapWALErr(err)
}

func (s *raftStorage) LastIndex() (raftpb.Index, error) { return s.w.LastIndex() }

func (s *raftStorage) FirstIndex() (raftpb.Index, error) { return s.w.FirstIndex() }

// Snapshot returns the newest snapshot's metadata (Data nil).
func (s *raftStorage) Snapshot() (raftpb.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.snap.Metadata.Index == 0 {
		return raftpb.Snapshot{}, raft.ErrSnapshotTemporarilyUnavailable
	}
	return s.mu.snap, nil
}

// mapWALErr turns the WAL's sentinels into raft's.
func mapWALErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, wal.ErrCompacted):
		return raft.ErrCompacted
	case errors.Is(err, wal.ErrUnavailable):
		return raft.ErrUnavailable
	}
	return err
}
