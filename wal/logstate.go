package wal

import (
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// slot locates one live raft entry: its library index and its term. Terms
// are kept in memory so Term never reads the disk.
type slot struct {
	pos  uint64
	term raftpb.Term
}

// logState is the in-memory index of the log: which raft indexes are live,
// where each lives in the library, the compaction point and the latest hard
// state. The same apply method replays the log at Open and advances it after
// each write, so the state after a crash is by construction the state the
// writer had built from the same records.
//
// Invariant (once started): first = base+1, last = base+len(slots);
// slots[k] is raft index base+1+k; terms in slots never decrease and are
// >= baseTerm.
type logState struct {
	started   bool         // false only while replaying before the first record of a front-truncated log
	base      raftpb.Index // compaction point: entries <= base are gone
	baseTerm  raftpb.Term  // term of base (the dummy entry); valid iff baseKnown
	baseKnown bool         // false after replay started mid-history until a marker names the term
	slots     []slot       // live entries base+1..last
	hs        raftpb.HardState
}

// newLogState returns the state of a log whose library first index is
// libFirst. A log never front-truncated (libFirst == 1) starts empty at
// base 0, term 0; otherwise the first record decides.
func newLogState(libFirst uint64) logState {
	if libFirst == 1 {
		return logState{started: true, baseKnown: true}
	}
	return logState{}
}

func (s *logState) first() raftpb.Index { return s.base + 1 }
func (s *logState) last() raftpb.Index  { return s.base + raftpb.Index(len(s.slots)) }

// term returns the term of index i in [base, last]; ok is false outside
// that range or for the base while its term is unknown.
func (s *logState) term(i raftpb.Index) (raftpb.Term, bool) {
	if i == s.base {
		return s.baseTerm, s.baseKnown
	}
	if i < s.base || i > s.last() {
		return 0, false
	}
	return s.slots[i-s.base-1].term, true
}

// apply advances the state by one record stored at library index pos. On
// the write path the caller has validated the record, so an error here
// means a corrupt log (at Open) or a bug. c, if not nil, is kept in step:
// entry records are added to it and cuts are mirrored. copyData says
// whether the cache needs its own copy of an entry's payload (replay: the
// payload aliases a whole segment buffer) or may keep it (the writer hands
// over a payload it allocated for the cache).
func (s *logState) apply(f Frame, pos uint64, c *tailCache, copyData bool) error {
	if !s.started {
		if err := s.start(f); err != nil {
			return err
		}
	}
	switch {
	case f.Type.isEntry():
		i := f.Index
		if i <= s.base || i > s.last()+1 {
			return fmt.Errorf("entry %d out of place: the log holds (%d, %d]", i, s.base, s.last())
		}
		s.slots = s.slots[:i-s.base-1]
		if prev, ok := s.term(i - 1); ok && f.Term < prev {
			return fmt.Errorf("entry %d has term %d, below term %d of entry %d", i, f.Term, prev, i-1)
		}
		s.slots = append(s.slots, slot{pos: pos, term: f.Term})
		if c != nil {
			c.add(f.entry(copyData), f.Size())
		}
	case f.Type == RecordHardState:
		s.hs = f.hardState()
	case f.Type == RecordTruncate:
		if f.Index < s.base || f.Index > s.last() {
			return fmt.Errorf("truncate to %d outside the log [%d, %d]", f.Index, s.base, s.last())
		}
		s.slots = s.slots[:f.Index-s.base]
		if c != nil {
			c.truncate(f.Index)
		}
	case f.Type == RecordCompact:
		if f.Index < s.base {
			// Written before a later compaction that already cut further.
			return nil
		}
		if f.Index > s.last() {
			return fmt.Errorf("compact to %d beyond last index %d", f.Index, s.last())
		}
		if t, ok := s.term(f.Index); ok && t != f.Term {
			return fmt.Errorf("compact to %d says term %d, the log has term %d", f.Index, f.Term, t)
		}
		s.slots = s.slots[f.Index-s.base:]
		s.base, s.baseTerm, s.baseKnown = f.Index, f.Term, true
		if c != nil {
			c.compact(f.Index)
		}
	case f.Type == RecordReset:
		s.slots = s.slots[:0]
		s.base, s.baseTerm, s.baseKnown = f.Index, f.Term, true
		if c != nil {
			c.reset(f.Index)
		}
	default:
		return fmt.Errorf("unexpected record type %s", f.Type)
	}
	return nil
}

// start positions an unstarted state (the library log was front-truncated)
// at its first record. Our writer front-truncates only to an entry or to a
// Compact/Reset marker it has just written, so any other head is corruption.
func (s *logState) start(f Frame) error {
	switch {
	case f.Type.isEntry():
		if f.Index == 0 {
			return fmt.Errorf("log head is entry 0")
		}
		s.base = f.Index - 1
	case f.Type == RecordCompact || f.Type == RecordReset:
		s.base = f.Index
		s.baseTerm, s.baseKnown = f.Term, true
	default:
		return fmt.Errorf("log head is a %s record; expected an entry or a Compact/Reset marker", f.Type)
	}
	s.started = true
	return nil
}
