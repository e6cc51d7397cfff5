package wal

import (
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// The mutating methods below belong to the writer goroutine only (see WAL).
// They validate their input first: bad input returns ErrInvalid /
// ErrCompacted / ErrUnavailable and changes nothing. Any error from the
// library or the disk after that is fatal (see fail): this and every later
// call, readers included, return an error wrapping ErrFailed and the cause.

// MustSync reports whether saving hs (with the previous hard state prev)
// and n entries needs an fsync: yes if there are entries, or the term or
// vote changed. A batch that only moves the commit index does not: losing
// it in a crash is harmless, commit is re-learned from the leader. This is
// etcd-io/raft's MustSync rule.
func MustSync(hs, prev raftpb.HardState, n int) bool {
	return n > 0 || hs.Term != prev.Term || hs.Vote != prev.Vote
}

// Save appends one batch: the entries, then the hard state, in a single
// library write and (if MustSync) a single fsync; it returns once the batch
// is durable. An empty hs means "hard state unchanged".
//
// Entries must be contiguous, with non-decreasing terms, starting in
// [FirstIndex(), LastIndex()+1]. If ents[0].Index <= LastIndex(), the
// entries from ents[0].Index on are replaced (a follower overwriting a
// conflicting suffix): the cut and the new entries are one atomic record
// sequence, a crash leaves either the old suffix or a prefix of the new
// entries, never a mix. hs must not move the term backwards, change the
// vote within a term, or move the commit index backwards.
//
// Save does not retain ents: their Data is copied.
func (w *WAL) Save(hs raftpb.HardState, ents []raftpb.Entry) error {
	if err := w.mu.err; err != nil {
		return err
	}
	st := &w.mu.st
	if err := w.checkEntries(ents); err != nil {
		return err
	}
	hsChanged := !hs.IsEmpty() && hs != st.hs
	if hsChanged {
		if err := checkHardState(hs, st.hs); err != nil {
			return err
		}
	}
	if len(ents) == 0 && !hsChanged {
		return nil
	}
	frames := w.frames[:0]
	defer func() {
		clear(frames) // drop references to the caller's data
		if cap(frames) <= 4096 {
			w.frames = frames[:0]
		}
	}()
	for _, e := range ents {
		f, err := entryFrame(e)
		if err != nil {
			return err
		}
		frames = append(frames, f)
	}
	if hsChanged {
		frames = append(frames, hardStateFrame(hs))
	}
	sync := MustSync(hs, st.hs, len(ents))
	if err := w.write(frames, sync, len(ents)); err != nil {
		return err
	}
	w.m.stBatches.Add(1)
	w.m.stEntries.Add(uint64(len(ents)))
	if !sync {
		w.m.stSkipped.Add(1)
	}
	return nil
}

// checkEntries validates a batch against the log without changing anything.
func (w *WAL) checkEntries(ents []raftpb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	st := &w.mu.st
	first := ents[0].Index
	if first <= st.base {
		return fmt.Errorf("%w: entries start at %d, at or below the compaction point %d", ErrInvalid, first, st.base)
	}
	if first > st.last()+1 {
		return fmt.Errorf("%w: entries start at %d, leaving a gap after last index %d", ErrInvalid, first, st.last())
	}
	prev, _ := st.term(first - 1)
	for k, e := range ents {
		if e.Index != first+raftpb.Index(k) {
			return fmt.Errorf("%w: entries not contiguous: entry %d of the batch has index %d, want %d", ErrInvalid, k, e.Index, first+raftpb.Index(k))
		}
		if e.Term < prev {
			return fmt.Errorf("%w: term goes backwards: entry %d has term %d after term %d", ErrInvalid, e.Index, e.Term, prev)
		}
		if e.Term == 0 {
			return fmt.Errorf("%w: entry %d has term 0", ErrInvalid, e.Index)
		}
		prev = e.Term
	}
	return nil
}

// checkHardState validates a change of hard state from prev to hs.
func checkHardState(hs, prev raftpb.HardState) error {
	switch {
	case hs.Term < prev.Term:
		return fmt.Errorf("%w: hard state term goes backwards from %d to %d", ErrInvalid, prev.Term, hs.Term)
	case hs.Term == prev.Term && prev.Vote != raftpb.None && hs.Vote != prev.Vote:
		return fmt.Errorf("%w: vote changes from %s to %s within term %d", ErrInvalid, prev.Vote, hs.Vote, hs.Term)
	case hs.Commit < prev.Commit:
		return fmt.Errorf("%w: commit index goes backwards from %d to %d", ErrInvalid, prev.Commit, hs.Commit)
	}
	return nil
}

// TruncateBack cuts the log after index i: afterwards LastIndex() == i.
// i must be in [FirstIndex()-1, LastIndex()] (below: ErrCompacted; above:
// ErrUnavailable); i == LastIndex() is a no-op. Durable on return. The cut
// is a marker record; the cut entries' bytes stay in the segments until a
// compaction removes them, but are never returned again.
func (w *WAL) TruncateBack(i raftpb.Index) error {
	if err := w.mu.err; err != nil {
		return err
	}
	st := &w.mu.st
	switch {
	case i < st.base:
		return fmt.Errorf("%w: TruncateBack(%d): compacted up to %d", ErrCompacted, i, st.base)
	case i > st.last():
		return fmt.Errorf("%w: TruncateBack(%d): last index is %d", ErrUnavailable, i, st.last())
	case i == st.last():
		return nil
	}
	t, _ := st.term(i)
	return w.write([]Frame{{Type: RecordTruncate, Term: t, Index: i}}, true, 0)
}

// CompactTo drops the entries up to and including i, after a snapshot at i:
// afterwards FirstIndex() == i+1 and Term(i) still answers. i below the
// current compaction point is ErrCompacted, i > LastIndex() ErrUnavailable;
// i == FirstIndex()-1 is a no-op. Durable on return: a Compact marker and
// the hard state are written and fsynced, then whole segments before the
// first kept record are removed by the library (when that frees at least
// one segment) and the directory fsynced.
func (w *WAL) CompactTo(i raftpb.Index) error {
	if err := w.mu.err; err != nil {
		return err
	}
	st := &w.mu.st
	switch {
	case i < st.base:
		return fmt.Errorf("%w: CompactTo(%d): already compacted up to %d", ErrCompacted, i, st.base)
	case i > st.last():
		return fmt.Errorf("%w: CompactTo(%d): last index is %d", ErrUnavailable, i, st.last())
	case i == st.base:
		return nil
	}
	t, _ := st.term(i)
	var keep uint64 // library index of the first record to keep
	if i < st.last() {
		keep = st.slots[i-st.base].pos
	} else {
		keep = w.libLast + 1 // the marker itself
	}
	return w.cutFront([]Frame{{Type: RecordCompact, Term: t, Index: i}}, keep)
}

// ResetTo empties the log after the member installed a snapshot at
// (snapIndex, snapTerm), possibly ahead of its log: afterwards
// FirstIndex() == snapIndex+1, LastIndex() == snapIndex, Term(snapIndex) ==
// snapTerm, and the next Save must start at snapIndex+1. The hard state is
// kept. snapIndex below the compaction point is ErrCompacted. Durable on
// return.
func (w *WAL) ResetTo(snapIndex raftpb.Index, snapTerm raftpb.Term) error {
	if err := w.mu.err; err != nil {
		return err
	}
	st := &w.mu.st
	if snapIndex < st.base {
		return fmt.Errorf("%w: ResetTo(%d): already compacted up to %d", ErrCompacted, snapIndex, st.base)
	}
	if snapIndex == st.base && snapTerm != st.baseTerm {
		return fmt.Errorf("%w: ResetTo(%d, %d): the compaction point %d has term %d", ErrInvalid, snapIndex, snapTerm, st.base, st.baseTerm)
	}
	return w.cutFront([]Frame{{Type: RecordReset, Term: snapTerm, Index: snapIndex}}, w.libLast+1)
}

// cutFront writes marker (a Compact or Reset record) followed by the current
// hard state, fsyncs, publishes the new state, then has the library drop
// every record before library index keep and fsyncs the directory. The hard
// state is rewritten because the record holding it may be dropped.
//
// The order makes a crash at any point safe: before the fsync nothing
// changed; after it, replay of the old head reaches the marker; after the
// library's truncation, the head is an entry or the marker itself, and the
// marker (still after it) supplies the term of the base index.
func (w *WAL) cutFront(marker []Frame, keep uint64) error {
	frames := marker
	if hs := w.mu.st.hs; !hs.IsEmpty() {
		frames = append(frames, hardStateFrame(hs))
	}
	if err := w.write(frames, true, 0); err != nil {
		return err
	}
	segs, _, err := listSegments(w.dir)
	if err != nil {
		return w.fail(fmt.Errorf("listing segments: %w", err))
	}
	if len(segs) < 2 || segs[1].first > keep {
		// keep lies in the first segment: cutting would rewrite that
		// segment and free nothing. The dead records stay until a later
		// cut removes the segment; replay passes over them to the marker.
		return nil
	}
	if err := w.lib.TruncateFront(keep); err != nil {
		return w.fail(fmt.Errorf("removing records before %d: %w", keep, err))
	}
	if err := w.refreshTail(); err != nil {
		return w.fail(err)
	}
	if err := w.syncDir(); err != nil {
		return w.fail(err)
	}
	return nil
}

// write encodes frames, hands them to the library as one batch, fsyncs if
// sync (and the directory if a segment was created), then applies them to
// the in-memory state under the write lock. keep is how many trailing
// cached entries the cache must not evict.
func (w *WAL) write(frames []Frame, sync bool, keep int) error {
	buf := w.encBuf[:0]
	bounds := append(w.bounds[:0], 0)
	payload := 0
	for _, f := range frames {
		var err error
		if buf, err = AppendFrame(buf, f); err != nil {
			return err // validated by the caller: nothing written yet
		}
		bounds = append(bounds, len(buf))
		if f.Type.isEntry() {
			payload += len(f.Payload)
		}
	}
	rolled := w.willRoll(bounds)
	w.batch.Clear()
	for k := range frames {
		w.batch.Write(w.libLast+uint64(k)+1, buf[bounds[k]:bounds[k+1]])
	}
	if cap(buf) <= 4<<20 {
		w.encBuf, w.bounds = buf, bounds
	}
	if err := w.lib.WriteBatch(&w.batch); err != nil {
		return w.fail(fmt.Errorf("writing %d records: %w", len(frames), err))
	}
	w.m.stBytes.Add(uint64(len(buf)))
	w.m.bytes.Add(float64(len(buf)))
	if !rolled {
		// Check the prediction: we fsync our handle on the file we think
		// is last, so a missed roll-over would leave acknowledged records
		// unsynced. One fstat per batch buys certainty.
		fi, err := w.tailFile.Stat()
		if err != nil {
			return w.fail(fmt.Errorf("stat %s: %w", w.tailName, err))
		}
		if fi.Size() != int64(w.tailBytes) {
			w.log.Warn("wal: segment roll-over not predicted; re-reading the directory",
				"file", w.tailName, "size", fi.Size(), "predicted", w.tailBytes)
			rolled = true
		}
	}
	if rolled {
		// The library created a segment file: find it, and make its
		// directory entry durable before acknowledging anything in it.
		if err := w.refreshTail(); err != nil {
			return w.fail(err)
		}
		if err := w.syncDir(); err != nil {
			return w.fail(err)
		}
	}
	if sync {
		if err := w.syncData(); err != nil {
			return w.fail(err)
		}
	}
	// The cache must own entry data: copy all payloads of the batch into
	// one allocation (the caller's slices are not ours to keep).
	arena := make([]byte, 0, payload)
	for k := range frames {
		if f := &frames[k]; f.Type.isEntry() && len(f.Payload) > 0 {
			n := len(arena)
			arena = append(arena, f.Payload...)
			f.Payload = arena[n:len(arena):len(arena)]
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, f := range frames {
		if err := w.mu.st.apply(f, w.libLast+uint64(k)+1, w.mu.cache, false); err != nil {
			// Validation let through something replay would reject: the
			// on-disk log would not reopen. Stop here.
			return w.failLocked(fmt.Errorf("%w: applying %s %d: %v", ErrCorrupt, f.Type, f.Index, err))
		}
	}
	w.mu.cache.trim(keep)
	w.libLast += uint64(len(frames))
	return nil
}

// willRoll predicts whether the library will start a new segment while
// writing records of the given frame bounds, mirroring its rule (roll
// before a batch if the tail is over SegmentSize, and after any record
// that brings it to SegmentSize or more), and advances tailBytes. On a
// predicted roll the caller re-reads the directory; otherwise it checks the
// last file's size against the prediction, so a wrong prediction costs a
// directory listing, never a skipped fsync. TestSegmentRollSyncsDir checks
// the rule against the real library.
func (w *WAL) willRoll(bounds []int) bool {
	size, rolled := w.tailBytes, false
	if size > w.opts.SegmentSize {
		size, rolled = 0, true
	}
	for k := 0; k+1 < len(bounds); k++ {
		size += libRecordSize(bounds[k+1] - bounds[k])
		if size >= w.opts.SegmentSize {
			size, rolled = 0, true
		}
	}
	w.tailBytes = size
	return rolled
}

// syncData fsyncs the last segment, then waits out the disk profile's
// emulated latency. The whole (real + emulated) time is observed in the
// fsync histogram. With NoSync, only a non-real profile's latency remains
// (a pure emulation, independent of the host's disk).
func (w *WAL) syncData() error {
	emulateOnly := w.opts.NoSync
	if emulateOnly && w.opts.DiskProfile == ProfileReal {
		return nil
	}
	start := w.opts.Clock.Now()
	if h := w.opts.FsyncHook; h != nil && !emulateOnly {
		if err := h(w.tailName); err != nil {
			return fmt.Errorf("fsync %s: %w", w.tailName, err)
		}
	}
	// fsync through our own handle, not lib.Sync: the library would hold
	// its exclusive lock for the whole fsync and stall every cold read.
	// fsync(2) flushes the file (the inode), whichever descriptor wrote.
	if !emulateOnly {
		if err := w.tailFile.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", w.tailName, err)
		}
	}
	if d := w.opts.DiskProfile.delay(w.rng); d > 0 {
		w.opts.Clock.Sleep(d)
	}
	w.m.fsyncDur.Observe(w.opts.Clock.Now().Sub(start).Seconds())
	w.m.fsyncs.Inc()
	w.m.stFsyncs.Add(1)
	return nil
}

// fail records cause as fatal and returns the error every later call
// returns. The library is abandoned, not closed: its Close fsyncs again, and
// an fsync after a failed one must never be issued, let alone trusted. The
// process is expected to stop; its file handles go with it.
func (w *WAL) fail(cause error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failLocked(cause)
}

// failLocked is fail with w.mu held.
func (w *WAL) failLocked(cause error) error {
	if w.mu.err != nil {
		return w.mu.err
	}
	w.mu.err = fmt.Errorf("%w: %s: %w", ErrFailed, w.dir, cause)
	w.log.Error("wal failed; every later call will return this error", "err", cause)
	w.m.unregister()
	// Release the directory so a restarted WAL can open it; the abandoned
	// library is never called again. Closing our own descriptor does not
	// fsync.
	w.unlock()
	w.closeTail()
	return w.mu.err
}
