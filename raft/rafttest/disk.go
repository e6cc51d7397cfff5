package rafttest

import (
	"fmt"
	"slices"

	"github.com/shelf-kv/shelf/raft"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// image is one view of a member's durable state: the newest snapshot, the
// hard state and the log after the compaction point.
//
// Slices are shared between the written and the synced image (an fsync is a
// header copy), so they are never modified in place: truncation reallocates
// (append(s[:k:k], ...)) and appends only ever write past every existing
// header's length.
type image struct {
	snap raftpb.Snapshot
	hs   raftpb.HardState
	// base is the compaction point: the log holds base+1 .. base+len(ents).
	// Invariant: base <= snap.Metadata.Index <= base+len(ents), or
	// snap is empty and base is 0.
	base      raftpb.Index
	baseTerm  raftpb.Term
	baseChain uint64
	ents      []raftpb.Entry
	// chain[k] is chain(ents[k].Index). Invariant: len(chain) == len(ents).
	chain []uint64
}

func (im *image) lastIndex() raftpb.Index { return im.base + raftpb.Index(len(im.ents)) }

// chainAt returns chain(i) if the log holds i (or i is the compaction point).
func (im *image) chainAt(i raftpb.Index) (uint64, bool) {
	switch {
	case i == im.base:
		return im.baseChain, true
	case i > im.base && i <= im.lastIndex():
		return im.chain[i-im.base-1], true
	}
	return 0, false
}

// termAt returns the term of entry i if the log holds it.
func (im *image) termAt(i raftpb.Index) (raftpb.Term, bool) {
	switch {
	case i == im.base:
		return im.baseTerm, true
	case i > im.base && i <= im.lastIndex():
		return im.ents[i-im.base-1].Term, true
	}
	return 0, false
}

// installSnapshot replaces the log with snap (state machine hash hash).
func (im *image) installSnapshot(snap raftpb.Snapshot, hash uint64) {
	im.snap = snap
	im.base, im.baseTerm, im.baseChain = snap.Metadata.Index, snap.Metadata.Term, hash
	im.ents, im.chain = nil, nil
}

// appendEntries writes validated, contiguous ents (first index in
// base+1..last+1), truncating a conflicting tail; it returns the index in
// chain of the first new entry.
func (im *image) appendEntries(ents []raftpb.Entry) int {
	first := ents[0].Index
	keep := int(first - im.base - 1)
	prev, _ := im.chainAt(first - 1)
	if keep < len(im.ents) {
		im.ents, im.chain = im.ents[:keep:keep], im.chain[:keep:keep]
	}
	start := len(im.chain)
	for k := range ents {
		prev = chainNext(prev, &ents[k])
		im.chain = append(im.chain, prev)
	}
	im.ents = append(im.ents, ents...)
	return start
}

// diskOp is one write not yet fsynced, kept so that a crash can persist a
// prefix of them (a torn tail).
type diskOp struct {
	snap *raftpb.Snapshot
	hash uint64
	ents []raftpb.Entry
	hs   raftpb.HardState
}

// disk is a member's simulated storage. Writes go to the written image and
// to mem (the raft.MemoryStorage the member's RawNode reads); fsync makes the
// written image durable; crash throws away everything not synced.
type disk struct {
	written image
	synced  image
	// mem mirrors written. Invariant: mem's log, hard state and snapshot
	// equal written's (mem may additionally hold compacted entries' terms).
	mem *raft.MemoryStorage
	// dirty is set by every write and cleared by fsync.
	dirty bool
	// unsynced are the writes since the last fsync, in order.
	unsynced []diskOp
}

// newDisk returns an empty disk (a member that has never run).
func newDisk() *disk { return &disk{mem: raft.NewMemoryStorage()} }

// bootstrap gives an initial member its first durable state: a snapshot at
// 1/1 with the initial voters, and a hard state that commits it.
func (d *disk) bootstrap(voters []raftpb.NodeID) error {
	hash := bootstrapChain()
	snap := raftpb.Snapshot{
		Data: smImage{Applied: bootstrapIndex, Hash: hash}.marshal(),
		Metadata: raftpb.SnapshotMetadata{
			Index: bootstrapIndex, Term: bootstrapTerm,
			ConfState: raftpb.ConfState{Voters: append([]raftpb.NodeID(nil), voters...)},
		},
	}
	if err := d.applySnapshot(snap, hash); err != nil {
		return err
	}
	if err := d.setHardState(raftpb.HardState{Term: bootstrapTerm, Commit: bootstrapIndex}); err != nil {
		return err
	}
	d.fsync()
	return nil
}

// applySnapshot installs snap (whose state machine hash is hash) and drops
// the whole log, as MemoryStorage.ApplySnapshot does.
func (d *disk) applySnapshot(snap raftpb.Snapshot, hash uint64) error {
	if err := d.mem.ApplySnapshot(snap); err != nil {
		return fmt.Errorf("rafttest: MemoryStorage.ApplySnapshot(%d/%d): %w", snap.Metadata.Index, snap.Metadata.Term, err)
	}
	d.written.installSnapshot(snap, hash)
	d.unsynced = append(d.unsynced, diskOp{snap: &snap, hash: hash})
	d.dirty = true
	return nil
}

// setHardState records hs (if not empty).
func (d *disk) setHardState(hs raftpb.HardState) error {
	if hs.IsEmpty() {
		return nil
	}
	if err := d.mem.SetHardState(hs); err != nil {
		return fmt.Errorf("rafttest: MemoryStorage.SetHardState: %w", err)
	}
	d.written.hs = hs
	d.unsynced = append(d.unsynced, diskOp{hs: hs})
	d.dirty = true
	return nil
}

// appendEntries writes ents (contiguous) to the log, truncating a conflicting
// tail, and returns the entries actually written (compacted ones are
// skipped) with their chain hashes for the checker.
func (d *disk) appendEntries(ents []raftpb.Entry) ([]raftpb.Entry, []uint64, error) {
	if len(ents) == 0 {
		return nil, nil, nil
	}
	w := &d.written
	for len(ents) > 0 && ents[0].Index <= w.base {
		ents = ents[1:]
	}
	if len(ents) == 0 {
		return nil, nil, nil
	}
	first := ents[0].Index
	if first > w.lastIndex()+1 {
		return nil, nil, fmt.Errorf("rafttest: Ready.Entries start at %d but the log ends at %d (gap)", first, w.lastIndex())
	}
	for i := 1; i < len(ents); i++ {
		if ents[i].Index != ents[i-1].Index+1 {
			return nil, nil, fmt.Errorf("rafttest: Ready.Entries not contiguous: %d then %d", ents[i-1].Index, ents[i].Index)
		}
	}
	if err := d.mem.Append(ents); err != nil {
		return nil, nil, fmt.Errorf("rafttest: MemoryStorage.Append: %w", err)
	}
	start := w.appendEntries(ents)
	d.unsynced = append(d.unsynced, diskOp{ents: slices.Clone(ents)})
	d.dirty = true
	return ents, w.chain[start:], nil
}

// fsync makes everything written so far durable.
func (d *disk) fsync() {
	d.synced = d.written
	d.dirty = false
	d.unsynced = d.unsynced[:0]
}

// crash discards everything not synced and rebuilds mem from the synced
// image, as a process restart reading its WAL would. A torn crash keeps the
// first keepOps unsynced writes and, if the next one appends entries, its
// first keepEnts entries: the disk wrote a prefix of the tail before power
// went (more than was synced is always allowed to survive).
func (d *disk) crash(keepOps, keepEnts int) error {
	s := d.synced
	s.ents, s.chain = slices.Clip(s.ents), slices.Clip(s.chain)
	for i, op := range d.unsynced {
		if i > keepOps {
			break
		}
		ents := op.ents
		if i == keepOps {
			if len(ents) == 0 || keepEnts == 0 {
				break
			}
			ents = ents[:min(keepEnts, len(ents))]
		}
		switch {
		case op.snap != nil:
			s.installSnapshot(*op.snap, op.hash)
		case len(ents) > 0:
			s.appendEntries(ents)
		default:
			s.hs = op.hs
		}
	}
	d.unsynced = d.unsynced[:0]
	mem := raft.NewMemoryStorage()
	if !s.snap.IsEmpty() {
		if err := mem.ApplySnapshot(s.snap); err != nil {
			return fmt.Errorf("rafttest: rebuilding storage from synced snapshot: %w", err)
		}
		// The rebuilt log starts at the snapshot: entries between the
		// compaction point and the snapshot are not restored.
		if s.snap.Metadata.Index > s.base {
			k := int(s.snap.Metadata.Index - s.base)
			if k > len(s.ents) {
				return fmt.Errorf("rafttest: synced snapshot %d beyond synced log end %d", s.snap.Metadata.Index, s.lastIndex())
			}
			s.baseChain = s.chain[k-1]
			s.baseTerm = s.ents[k-1].Term
			s.base = s.snap.Metadata.Index
			s.ents, s.chain = s.ents[k:], s.chain[k:]
		}
	}
	if err := mem.Append(s.ents); err != nil {
		return fmt.Errorf("rafttest: rebuilding storage from synced log: %w", err)
	}
	if !s.hs.IsEmpty() {
		if err := mem.SetHardState(s.hs); err != nil {
			return fmt.Errorf("rafttest: rebuilding storage hard state: %w", err)
		}
	}
	d.mem = mem
	d.synced = s
	d.written = s
	d.dirty = false
	return nil
}

// snapshotAndCompact is the application's log compaction: it fsyncs the log,
// records a durable snapshot of the state machine at sm.Applied with
// membership cs, and drops entries up to compactTo (<= sm.Applied).
func (d *disk) snapshotAndCompact(sm smImage, cs raftpb.ConfState, compactTo raftpb.Index) error {
	w := &d.written
	if _, err := d.mem.CreateSnapshot(sm.Applied, &cs, sm.marshal()); err != nil {
		return fmt.Errorf("rafttest: MemoryStorage.CreateSnapshot(%d): %w", sm.Applied, err)
	}
	snap, err := d.mem.Snapshot()
	if err != nil {
		return fmt.Errorf("rafttest: MemoryStorage.Snapshot: %w", err)
	}
	w.snap = snap
	if compactTo > w.base {
		if err := d.mem.Compact(compactTo); err != nil {
			return fmt.Errorf("rafttest: MemoryStorage.Compact(%d): %w", compactTo, err)
		}
		k := int(compactTo - w.base)
		w.baseChain, w.baseTerm = w.chain[k-1], w.ents[k-1].Term
		w.base = compactTo
		w.ents, w.chain = w.ents[k:], w.chain[k:]
	}
	d.fsync()
	return nil
}
