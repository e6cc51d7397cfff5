package raft

import "github.com/shelf-kv/shelf/raft/raftpb"

// Storage is raft's read-only view of the durable log, owned by the driver.
// The driver writes to it (MemoryStorage.Append, the WAL) while handling a
// Ready, before calling Advance; raft only reads from it.
//
// Failure policy: if any method returns an error other than the sentinels
// documented on it, the raft instance is inoperable: raft panics with the
// error (a storage that cannot read its own log cannot take part safely).
//
// Ownership: raft never modifies a returned slice, and a Storage must not
// modify a slice after returning it (return a copy, or never mutate in place).
type Storage interface {
	// InitialState returns the persisted HardState and the ConfState of the
	// latest snapshot (or of the configuration the log was bootstrapped
	// with): the membership as of FirstIndex()-1, NOT including conf
	// changes in the log after it (raft replays those up to Config.Applied).
	InitialState() (raftpb.HardState, raftpb.ConfState, error)
	// Entries returns the entries in [lo, hi). maxSize limits the total byte
	// size (see EntrySize) of the returned entries, but at least one entry is
	// returned if any is available. It returns ErrCompacted if lo is at or
	// below the compaction point and ErrUnavailable if hi-1 > LastIndex().
	Entries(lo, hi raftpb.Index, maxSize uint64) ([]raftpb.Entry, error)
	// Term returns the term of entry i, which must be in the range
	// [FirstIndex()-1, LastIndex()] (the term at FirstIndex()-1 is the
	// snapshot's, kept for matching). Outside it: ErrCompacted or ErrUnavailable.
	Term(i raftpb.Index) (raftpb.Term, error)
	// LastIndex returns the index of the last entry (the snapshot index if
	// the log after it is empty).
	LastIndex() (raftpb.Index, error)
	// FirstIndex returns the index of the first entry that may be available
	// through Entries (older ones are in the snapshot): snapshot index + 1.
	FirstIndex() (raftpb.Index, error)
	// Snapshot returns the most recent snapshot. If it is being built, it may
	// return ErrSnapshotTemporarilyUnavailable and raft retries later.
	Snapshot() (raftpb.Snapshot, error)
}

// EntrySize is the size an entry counts for in the byte limits
// (MaxSizePerMsg, MaxInflightBytes, MaxCommittedSizePerReady, the Storage
// Entries maxSize): its data plus a fixed overhead for its header.
func EntrySize(e *raftpb.Entry) uint64 { return uint64(len(e.Data)) + entryOverhead }

// entryOverhead approximates the encoded header of an entry (term, index, type).
const entryOverhead = 16

// entriesSize sums EntrySize over ents.
func entriesSize(ents []raftpb.Entry) uint64 {
	var s uint64
	for i := range ents {
		s += EntrySize(&ents[i])
	}
	return s
}

// payloadSize is what an entry counts for in the uncommitted-size cap: its
// data only, so the leader's empty no-op never counts.
func payloadSize(ents []raftpb.Entry) uint64 {
	var s uint64
	for i := range ents {
		s += uint64(len(ents[i].Data))
	}
	return s
}

// limitSize returns the longest prefix of ents whose total EntrySize is at most
// maxSize, but always at least one entry.
func limitSize(ents []raftpb.Entry, maxSize uint64) []raftpb.Entry {
	if len(ents) == 0 {
		return ents
	}
	size := EntrySize(&ents[0])
	n := 1
	for ; n < len(ents); n++ {
		size += EntrySize(&ents[n])
		if size > maxSize {
			break
		}
	}
	return ents[:n]
}
