package wal

import (
	"errors"
	"fmt"

	tidwal "github.com/tidwall/wal"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// The read methods below are safe from any goroutine, concurrently with the
// writer. They return ErrClosed after Close and the ErrFailed error after a
// failure.

// FirstIndex returns the index of the first live entry: the compaction
// point + 1. For an empty log it is LastIndex()+1.
func (w *WAL) FirstIndex() (raftpb.Index, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.mu.err != nil {
		return 0, w.mu.err
	}
	return w.mu.st.first(), nil
}

// LastIndex returns the index of the last live entry, or the compaction
// point if the log holds no entries.
func (w *WAL) LastIndex() (raftpb.Index, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.mu.err != nil {
		return 0, w.mu.err
	}
	return w.mu.st.last(), nil
}

// HardState returns the latest hard state saved (the zero HardState if none
// was ever saved).
func (w *WAL) HardState() (raftpb.HardState, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.mu.err != nil {
		return raftpb.HardState{}, w.mu.err
	}
	return w.mu.st.hs, nil
}

// Term returns the term of entry i, for i in [FirstIndex()-1, LastIndex()]:
// FirstIndex()-1 is the compaction point, whose term is kept like etcd's
// MemoryStorage dummy entry. Below that it returns ErrCompacted, above
// LastIndex ErrUnavailable. It never reads the disk.
func (w *WAL) Term(i raftpb.Index) (raftpb.Term, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.mu.err != nil {
		return 0, w.mu.err
	}
	st := &w.mu.st
	if i < st.base {
		return 0, fmt.Errorf("%w: term of %d, compacted up to %d", ErrCompacted, i, st.base)
	}
	if i > st.last() {
		return 0, fmt.Errorf("%w: term of %d, last index is %d", ErrUnavailable, i, st.last())
	}
	t, _ := st.term(i)
	return t, nil
}

// EntrySize is the size Entries charges against maxBytes for e: its encoded
// frame size.
func EntrySize(e raftpb.Entry) uint64 { return uint64(FrameHeaderSize + len(e.Data)) }

// Entries returns the entries in [lo, hi), limited so that their total
// EntrySize does not exceed maxBytes, except that at least one entry is
// returned if lo < hi (etcd-io/raft's Storage contract). lo == hi returns
// no entries. lo > hi is ErrInvalid; lo <= the compaction point is
// ErrCompacted; hi > LastIndex()+1 is ErrUnavailable.
//
// The returned slice is freshly allocated and owned by the caller; the
// entries' Data must be treated as read-only (it may be shared with the
// cache). Entries still in the tail cache never touch the disk; older ones
// are read through the library and their frames re-verified.
func (w *WAL) Entries(lo, hi raftpb.Index, maxBytes uint64) ([]raftpb.Entry, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.mu.err != nil {
		return nil, w.mu.err
	}
	st := &w.mu.st
	switch {
	case lo > hi:
		return nil, fmt.Errorf("%w: Entries(%d, %d): lo > hi", ErrInvalid, lo, hi)
	case lo <= st.base:
		return nil, fmt.Errorf("%w: Entries(%d, %d): compacted up to %d", ErrCompacted, lo, hi, st.base)
	case hi > st.last()+1:
		return nil, fmt.Errorf("%w: Entries(%d, %d): last index is %d", ErrUnavailable, lo, hi, st.last())
	case lo == hi:
		return nil, nil
	}
	var out []raftpb.Entry
	var size uint64
	for i := lo; i < hi; i++ {
		e, err := w.entryLocked(i)
		if err != nil {
			return nil, err
		}
		size += EntrySize(e)
		if len(out) > 0 && size > maxBytes {
			break
		}
		out = append(out, e)
	}
	return out, nil
}

// entryLocked returns live entry i from the cache or the library. Requires
// w.mu held (read or write) and i in [first, last].
func (w *WAL) entryLocked(i raftpb.Index) (raftpb.Entry, error) {
	if e, _, ok := w.mu.cache.get(i); ok {
		return e, nil
	}
	pos := w.mu.st.slots[i-w.mu.st.base-1].pos
	// tidwall/wal's Read loads and evicts segments in its cache under a
	// read lock: two concurrent Reads race (TestConcurrentColdReads).
	// Serialize them here.
	w.coldMu.Lock()
	b, err := w.lib.Read(pos)
	w.coldMu.Unlock()
	if err != nil {
		if errors.Is(err, tidwal.ErrNotFound) {
			return raftpb.Entry{}, fmt.Errorf("%w: entry %d (record %d) is gone from the segments", ErrCompacted, i, pos)
		}
		return raftpb.Entry{}, fmt.Errorf("wal: reading entry %d (record %d): %w", i, pos, err)
	}
	f, err := DecodeFrame(b)
	if err != nil {
		return raftpb.Entry{}, fmt.Errorf("%w: entry %d (record %d) in %s: %v", ErrCorrupt, i, pos, w.dir, err)
	}
	if !f.Type.isEntry() || f.Index != i {
		return raftpb.Entry{}, fmt.Errorf("%w: record %d in %s holds %s %d, expected entry %d", ErrCorrupt, pos, w.dir, f.Type, f.Index, i)
	}
	return f.entry(true), nil
}
