package raft

import (
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// unstable holds the part of the log not yet acknowledged as persisted by an
// Advance: possibly an incoming snapshot, then entries.
//
// Invariant: if snapshot != nil, offset == snapshot.Metadata.Index+1.
// Invariant: entries[i].Index == offset+i.
type unstable struct {
	snapshot *raftpb.Snapshot
	entries  []raftpb.Entry
	offset   raftpb.Index
}

// maybeFirstIndex returns the first index of the log if it is known from the
// unstable part alone (a pending snapshot).
func (u *unstable) maybeFirstIndex() (raftpb.Index, bool) {
	if u.snapshot != nil {
		return u.snapshot.Metadata.Index + 1, true
	}
	return 0, false
}

// maybeLastIndex returns the last index if the unstable part knows it.
func (u *unstable) maybeLastIndex() (raftpb.Index, bool) {
	if n := len(u.entries); n != 0 {
		return u.offset + raftpb.Index(n) - 1, true
	}
	if u.snapshot != nil {
		return u.snapshot.Metadata.Index, true
	}
	return 0, false
}

// maybeTerm returns the term of entry i if the unstable part knows it.
func (u *unstable) maybeTerm(i raftpb.Index) (raftpb.Term, bool) {
	if i < u.offset {
		if u.snapshot != nil && u.snapshot.Metadata.Index == i {
			return u.snapshot.Metadata.Term, true
		}
		return 0, false
	}
	last, ok := u.maybeLastIndex()
	if !ok || i > last {
		return 0, false
	}
	return u.entries[i-u.offset].Term, true
}

// stableTo marks the entries up to i as persisted, if the entry at i still
// has term t (it may have been replaced by a conflicting append since the
// Ready that carried it, in which case the new entry is still unstable).
func (u *unstable) stableTo(i raftpb.Index, t raftpb.Term) {
	gt, ok := u.maybeTerm(i)
	if !ok || gt != t || i < u.offset {
		return
	}
	n := int(i + 1 - u.offset)
	// Copy the remainder so the persisted prefix can be collected.
	u.entries = append([]raftpb.Entry(nil), u.entries[n:]...)
	u.offset = i + 1
}

// stableSnapTo marks the pending snapshot at i as persisted.
func (u *unstable) stableSnapTo(i raftpb.Index) {
	if u.snapshot != nil && u.snapshot.Metadata.Index == i {
		u.snapshot = nil
	}
}

// restore replaces the unstable part with snap (and no entries).
func (u *unstable) restore(snap raftpb.Snapshot) {
	u.offset = snap.Metadata.Index + 1
	u.entries = nil
	u.snapshot = &snap
}

// truncateAndAppend appends ents, first dropping every unstable entry at or
// after ents[0].Index. The caller guarantees ents[0].Index <= lastIndex+1 and
// that no committed entry is dropped.
func (u *unstable) truncateAndAppend(ents []raftpb.Entry) {
	from := ents[0].Index
	switch {
	case from == u.offset+raftpb.Index(len(u.entries)):
		u.entries = append(u.entries, ents...)
	case from <= u.offset:
		// Replace the whole unstable tail (and part of the stable log,
		// which the driver overwrites when it persists these entries).
		u.offset = from
		u.entries = append([]raftpb.Entry(nil), ents...)
	default:
		kept := append([]raftpb.Entry(nil), u.entries[:from-u.offset]...)
		u.entries = append(kept, ents...)
	}
}

// slice returns unstable entries [lo, hi); the caller checks the bounds.
func (u *unstable) slice(lo, hi raftpb.Index) []raftpb.Entry {
	if lo > hi || lo < u.offset || hi > u.offset+raftpb.Index(len(u.entries)) {
		panic(fmt.Sprintf("raft: unstable.slice[%d,%d) out of bounds [%d,%d)",
			lo, hi, u.offset, u.offset+raftpb.Index(len(u.entries))))
	}
	return u.entries[lo-u.offset : hi-u.offset : hi-u.offset]
}
