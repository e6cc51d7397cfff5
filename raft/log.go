package raft

import (
	"errors"
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// raftLog is the node's log: the persisted part in storage followed by the
// unstable part not yet acknowledged by Advance.
//
// Invariant: applied <= applying <= committed <= lastIndex().
// Invariant: every index in (applied, applying] was handed to the driver in
// CommittedEntries, and every handed-out entry was already persisted.
type raftLog struct {
	storage  Storage
	unstable unstable

	// committed is the highest index known to be committed by a quorum.
	committed raftpb.Index
	// applying is the highest index handed out in CommittedEntries.
	applying raftpb.Index
	// applied is the highest index the driver acknowledged applying.
	applied raftpb.Index

	// maxApplyingSize caps the bytes of one batch of CommittedEntries.
	maxApplyingSize uint64
}

// newLog builds the log from storage: everything in storage is stable, and the
// commit and applied points start at the snapshot index.
func newLog(storage Storage, maxApplyingSize uint64) (*raftLog, error) {
	first, err := storage.FirstIndex()
	if err != nil {
		return nil, fmt.Errorf("raft: Storage.FirstIndex: %w", err)
	}
	last, err := storage.LastIndex()
	if err != nil {
		return nil, fmt.Errorf("raft: Storage.LastIndex: %w", err)
	}
	if first == 0 || last+1 < first {
		return nil, fmt.Errorf("raft: storage reports first index %d and last index %d", first, last)
	}
	l := &raftLog{storage: storage, maxApplyingSize: maxApplyingSize}
	l.unstable.offset = last + 1
	l.committed = first - 1
	l.applying = first - 1
	l.applied = first - 1
	return l, nil
}

func (l *raftLog) String() string {
	return fmt.Sprintf("committed=%d applied=%d applying=%d unstable.offset=%d len(unstable)=%d",
		l.committed, l.applied, l.applying, l.unstable.offset, len(l.unstable.entries))
}

// maybeAppend implements the paper's AppendEntries receiver rules 2-5.
// It handles the entries of a MsgApp whose previous entry is
// (index, logTerm): if the log matches there, it appends what is new (cutting
// a conflicting tail), advances commit to min(committed, last new index) and
// returns the last new index. ok is false if the log does not match.
func (l *raftLog) maybeAppend(index raftpb.Index, logTerm raftpb.Term, committed raftpb.Index,
	ents []raftpb.Entry) (lastnewi raftpb.Index, ok bool) {
	if !l.matchTerm(index, logTerm) {
		return 0, false
	}
	lastnewi = index + raftpb.Index(len(ents))
	// Entries already present with the same term are kept (a duplicated or
	// reordered MsgApp must not truncate entries it does not contradict);
	// from the first conflicting or new entry on, the leader's entries win.
	ci := l.findConflict(ents)
	switch {
	case ci == 0:
	case ci <= l.committed:
		// The Log Matching and Leader Completeness properties make this
		// impossible unless persisted state was lost or corrupted.
		panic(fmt.Sprintf("raft: entry %d conflicts with a committed entry (committed %d)", ci, l.committed))
	default:
		l.append(ents[ci-(index+1):]...)
	}
	l.commitTo(min(committed, lastnewi))
	return lastnewi, true
}

// append appends ents (the caller has checked they may replace the tail) and
// returns the new last index.
func (l *raftLog) append(ents ...raftpb.Entry) raftpb.Index {
	if len(ents) == 0 {
		return l.lastIndex()
	}
	if after := ents[0].Index - 1; after < l.committed {
		panic(fmt.Sprintf("raft: append after %d is below committed %d", after, l.committed))
	}
	l.unstable.truncateAndAppend(ents)
	return l.lastIndex()
}

// findConflict returns the index of the first entry of ents that is not in the
// log (absent, or present with another term), or 0 if all are present.
func (l *raftLog) findConflict(ents []raftpb.Entry) raftpb.Index {
	for i := range ents {
		if !l.matchTerm(ents[i].Index, ents[i].Term) {
			return ents[i].Index
		}
	}
	return 0
}

// findConflictByTerm returns the largest index <= index whose term is <= term
// (and that term), the fast-backtracking probe of a rejected MsgApp: every
// entry between it and index has a larger term than the other log can match.
// It stops at the first index whose term is unknown (compacted).
func (l *raftLog) findConflictByTerm(index raftpb.Index, term raftpb.Term) (raftpb.Index, raftpb.Term) {
	for ; index > 0; index-- {
		t, err := l.term(index)
		if err != nil {
			return index, 0
		}
		if t <= term {
			return index, t
		}
	}
	return 0, 0
}

// unstableEntries returns the entries not yet persisted.
func (l *raftLog) unstableEntries() []raftpb.Entry {
	if len(l.unstable.entries) == 0 {
		return nil
	}
	return l.unstable.entries
}

// maxAppliableIndex is the highest committed index that is also persisted:
// the durability contract's rule (2).
func (l *raftLog) maxAppliableIndex() raftpb.Index {
	return min(l.committed, l.unstable.offset-1)
}

// hasNextCommittedEnts reports whether there are committed, persisted entries
// not yet handed out.
func (l *raftLog) hasNextCommittedEnts() bool {
	if l.unstable.snapshot != nil {
		return false // the snapshot must be applied first
	}
	return l.applying < l.maxAppliableIndex()
}

// nextCommittedEnts returns the next batch of committed, persisted entries to
// apply, bounded by maxApplyingSize.
func (l *raftLog) nextCommittedEnts() []raftpb.Entry {
	if !l.hasNextCommittedEnts() {
		return nil
	}
	ents, err := l.slice(l.applying+1, l.maxAppliableIndex()+1, l.maxApplyingSize)
	if err != nil {
		panic(fmt.Sprintf("raft: reading committed entries: %v (%s)", err, l))
	}
	return ents
}

// hasPendingSnapshot reports whether an incoming snapshot awaits persisting.
func (l *raftLog) hasPendingSnapshot() bool { return l.unstable.snapshot != nil }

// snapshot returns the snapshot to send to a lagging follower.
func (l *raftLog) snapshot() (raftpb.Snapshot, error) {
	if l.unstable.snapshot != nil {
		return *l.unstable.snapshot, nil
	}
	return l.storage.Snapshot()
}

// firstIndex is the first index whose entry may be read: the storage's, or
// the one after a pending incoming snapshot.
func (l *raftLog) firstIndex() raftpb.Index {
	if i, ok := l.unstable.maybeFirstIndex(); ok {
		return i
	}
	i, err := l.storage.FirstIndex()
	if err != nil {
		panic(fmt.Sprintf("raft: Storage.FirstIndex: %v", err))
	}
	return i
}

// lastIndex is the index of the last entry, unstable or stable.
func (l *raftLog) lastIndex() raftpb.Index {
	if i, ok := l.unstable.maybeLastIndex(); ok {
		return i
	}
	i, err := l.storage.LastIndex()
	if err != nil {
		panic(fmt.Sprintf("raft: Storage.LastIndex: %v", err))
	}
	return i
}

// stableIndex is the last index persisted (acknowledged by Advance).
func (l *raftLog) stableIndex() raftpb.Index { return l.unstable.offset - 1 }

// commitTo raises committed to tocommit (never lowers it).
func (l *raftLog) commitTo(tocommit raftpb.Index) {
	if l.committed >= tocommit {
		return
	}
	if last := l.lastIndex(); tocommit > last {
		panic(fmt.Sprintf("raft: commit %d is beyond the last index %d", tocommit, last))
	}
	l.committed = tocommit
}

// appliedTo records that the driver applied up to i.
func (l *raftLog) appliedTo(i raftpb.Index) {
	if i == 0 || i < l.applied {
		return
	}
	l.applied = i
	l.applying = max(l.applying, i)
}

// stableTo marks the log up to (i, t) persisted (see unstable.stableTo).
func (l *raftLog) stableTo(i raftpb.Index, t raftpb.Term) { l.unstable.stableTo(i, t) }

// stableSnapTo marks the incoming snapshot at i persisted.
func (l *raftLog) stableSnapTo(i raftpb.Index) { l.unstable.stableSnapTo(i) }

// lastTerm is the term of the last entry (the snapshot's if the log is empty).
func (l *raftLog) lastTerm() raftpb.Term {
	t, err := l.term(l.lastIndex())
	if err != nil {
		panic(fmt.Sprintf("raft: term of the last entry: %v", err))
	}
	return t
}

// term returns the term of entry i; 0 with no error for an index beyond the
// log or below the snapshot is not returned: those are ErrUnavailable and
// ErrCompacted.
func (l *raftLog) term(i raftpb.Index) (raftpb.Term, error) {
	if t, ok := l.unstable.maybeTerm(i); ok {
		return t, nil
	}
	if i+1 < l.firstIndex() {
		return 0, ErrCompacted
	}
	if i > l.lastIndex() {
		return 0, ErrUnavailable
	}
	t, err := l.storage.Term(i)
	if err == nil || errors.Is(err, ErrCompacted) || errors.Is(err, ErrUnavailable) {
		return t, err
	}
	panic(fmt.Sprintf("raft: Storage.Term(%d): %v", i, err))
}

// entries returns entries from i to the end, at most maxSize bytes.
func (l *raftLog) entries(i raftpb.Index, maxSize uint64) ([]raftpb.Entry, error) {
	if i > l.lastIndex() {
		return nil, nil
	}
	return l.slice(i, l.lastIndex()+1, maxSize)
}

// allEntries returns the whole available log (tests and status).
func (l *raftLog) allEntries() []raftpb.Entry {
	ents, err := l.entries(l.firstIndex(), noLimit)
	if err != nil {
		panic(fmt.Sprintf("raft: reading the whole log: %v", err))
	}
	return ents
}

const noLimit = ^uint64(0)

// isUpToDate reports whether a log ending at (lasti, term) is at least as up
// to date as this one (Raft §5.4.1).
func (l *raftLog) isUpToDate(lasti raftpb.Index, term raftpb.Term) bool {
	return term > l.lastTerm() || (term == l.lastTerm() && lasti >= l.lastIndex())
}

// matchTerm reports whether entry i exists with term t.
func (l *raftLog) matchTerm(i raftpb.Index, t raftpb.Term) bool {
	lt, err := l.term(i)
	return err == nil && lt == t
}

// maybeCommit commits up to maxIndex if that entry has term t (a leader may
// only commit by counting entries of its own term: Figure 8).
func (l *raftLog) maybeCommit(maxIndex raftpb.Index, t raftpb.Term) bool {
	if maxIndex > l.committed && l.termOrZero(maxIndex) == t {
		l.commitTo(maxIndex)
		return true
	}
	return false
}

// termOrZero is term(i), or 0 when i is compacted or beyond the log.
func (l *raftLog) termOrZero(i raftpb.Index) raftpb.Term {
	t, err := l.term(i)
	if err != nil {
		return 0
	}
	return t
}

// restore replaces the log with snap (a follower installing a snapshot).
func (l *raftLog) restore(snap raftpb.Snapshot) {
	l.committed = snap.Metadata.Index
	l.unstable.restore(snap)
}

// slice returns entries [lo, hi) from storage and the unstable part, at most
// maxSize bytes (but at least one entry).
func (l *raftLog) slice(lo, hi raftpb.Index, maxSize uint64) ([]raftpb.Entry, error) {
	if err := l.checkOutOfBounds(lo, hi); err != nil {
		return nil, err
	}
	if lo == hi {
		return nil, nil
	}
	var ents []raftpb.Entry
	if lo < l.unstable.offset {
		stored, err := l.storage.Entries(lo, min(hi, l.unstable.offset), maxSize)
		switch {
		case errors.Is(err, ErrCompacted):
			return nil, err
		case errors.Is(err, ErrUnavailable):
			panic(fmt.Sprintf("raft: entries [%d, %d) missing from storage: %v", lo, min(hi, l.unstable.offset), err))
		case err != nil:
			panic(fmt.Sprintf("raft: Storage.Entries: %v", err))
		}
		// Storage returned fewer entries than asked: the size limit hit.
		if raftpb.Index(len(stored)) < min(hi, l.unstable.offset)-lo {
			return stored, nil
		}
		ents = stored
	}
	if hi > l.unstable.offset {
		u := l.unstable.slice(max(lo, l.unstable.offset), hi)
		if len(ents) > 0 {
			combined := make([]raftpb.Entry, len(ents)+len(u))
			copy(combined, ents)
			copy(combined[len(ents):], u)
			ents = combined
		} else {
			ents = u
		}
	}
	return limitSize(ents, maxSize), nil
}

// checkOutOfBounds requires firstIndex <= lo <= hi <= lastIndex+1.
func (l *raftLog) checkOutOfBounds(lo, hi raftpb.Index) error {
	if lo > hi {
		panic(fmt.Sprintf("raft: invalid slice %d > %d", lo, hi))
	}
	if lo < l.firstIndex() {
		return ErrCompacted
	}
	if hi > l.lastIndex()+1 {
		panic(fmt.Sprintf("raft: slice[%d,%d) out of bound [%d,%d]", lo, hi, l.firstIndex(), l.lastIndex()))
	}
	return nil
}
