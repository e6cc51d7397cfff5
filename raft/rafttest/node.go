package rafttest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/shelf-kv/shelf/raft"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// node is one simulated member: a RawNode, its disk, its state machine and
// the driver that connects them (see the durability contract in doc.go).
type node struct {
	id   raftpb.NodeID
	s    *sim
	disk *disk
	// rn is nil while the member is down.
	rn *raft.RawNode
	up bool
	// incarnation counts starts; it seeds the member's election jitter.
	incarnation uint64
	// restartAt is the step at which a crashed member comes back.
	restartAt int
	// removed is set once the member's removal is applied anywhere; it is
	// stopped at stopAt and never restarted.
	removed bool
	stopAt  int

	// state and lead are the SoftState last handed out by Ready.
	state raft.StateType
	lead  raftpb.NodeID
	// hs is the HardState last written (or loaded at start).
	hs raftpb.HardState

	// The state machine: the chain hash of the applied prefix.
	// Invariant: smHash == chain(applied).
	applied raftpb.Index
	smHash  uint64
	// conf is the membership after the last applied entry.
	conf raftpb.ConfState
	// snapIndex is the applied index of the newest local snapshot.
	snapIndex raftpb.Index
	// selfRemovedAt is the step at which the member applied its own
	// removal (0 if it has not): a leader must step down soon after.
	selfRemovedAt int

	// pending is the Ready being persisted, nil when idle.
	pending *inflight
	// held are messages delivered while pending, when the profile's driver
	// does not step between Ready() and Advance(); they are stepped right
	// after Advance, before the next Ready is taken.
	held []envelope
}

// inflight is a Ready between Ready() and Advance().
type inflight struct {
	rd raft.Ready
	// later holds the messages to send once the fsync is done.
	later []raftpb.Message
	// syncAt is the step at which the fsync completes.
	syncAt int
	// applied is set once the snapshot and CommittedEntries are applied.
	applied bool
}

// start (re)builds the RawNode from the synced disk, as a process restart
// would: Config.Applied is the snapshot the state machine is restored from.
func (n *node) start() error {
	s := n.s
	n.incarnation++
	synced := &n.disk.synced
	n.applied, n.smHash, n.conf, n.snapIndex = 0, 0, raftpb.ConfState{}, 0
	if !synced.snap.IsEmpty() {
		img, err := unmarshalSM(synced.snap.Data)
		if err != nil {
			return err
		}
		n.applied, n.smHash, n.snapIndex = img.Applied, img.Hash, img.Applied
		n.conf = synced.snap.Metadata.ConfState
	}
	n.hs = synced.hs
	n.state, n.lead = raft.StateFollower, raftpb.None
	n.selfRemovedAt = 0
	cfg := &raft.Config{
		ID:                        n.id,
		ElectionTick:              s.prof.electionTick,
		HeartbeatTick:             s.prof.heartbeatTick,
		Storage:                   n.disk.mem,
		Applied:                   n.applied,
		MaxSizePerMsg:             s.prof.maxSizePerMsg,
		MaxUncommittedEntriesSize: s.prof.maxUncommit,
		MaxInflightMsgs:           s.prof.maxInflight,
		DisablePreVote:            !s.prof.preVote,
		DisableCheckQuorum:        !s.prof.checkQuorum,
		Rand:                      rand.New(rand.NewPCG(s.opts.Seed, uint64(n.id)<<32|n.incarnation)),
		AutoPromoteLearners:       s.prof.autoPromote,
		ReadOnlyOption:            readOption(s.prof.leaseRead),
		TestingKnobs:              s.opts.Knobs,
	}
	rn, err := raft.NewRawNode(cfg)
	if err != nil {
		return fmt.Errorf("rafttest: NewRawNode for member %d: %w", n.id, err)
	}
	n.rn, n.up, n.pending = rn, true, nil
	return nil
}

// readOption maps the profile's choice to raft's option.
func readOption(lease bool) raft.ReadOnlyOption {
	if lease {
		return raft.ReadOnlyLeaseBased
	}
	return raft.ReadOnlySafe
}

// crash stops the member, losing its unsynced writes (all of them, or with
// the profile's tornP only a suffix of them), its unsent messages and its
// volatile state.
func (n *node) crash() error {
	n.rn, n.up, n.pending, n.held = nil, false, nil, nil
	keepOps, keepEnts := 0, 0
	if ops := n.disk.unsynced; len(ops) > 0 && n.s.aux.Float64() < n.s.prof.tornP {
		keepOps = n.s.aux.IntN(len(ops) + 1)
		if keepOps < len(ops) {
			keepEnts = n.s.aux.IntN(len(ops[keepOps].ents) + 1)
		}
		n.s.note(n.id, "torn crash: %d of %d unsynced writes survive (+%d entries of the next)", keepOps, len(ops), keepEnts)
	}
	return n.disk.crash(keepOps, keepEnts)
}

// stop stops a removed member for good (nothing unsynced survives).
func (n *node) stop() error {
	n.rn, n.up, n.pending, n.held = nil, false, nil, nil
	return n.disk.crash(0, 0)
}

// drive advances the member's driver by one step: it completes an fsync that
// is due, then takes a new Ready if there is one and the scheduler says so.
func (n *node) drive() {
	if !n.up {
		return
	}
	s := n.s
	if n.pending != nil {
		if s.step < n.pending.syncAt {
			return
		}
		n.finish()
		if n.pending == nil && len(n.held) > 0 {
			held := n.held
			n.held = nil
			for i := range held {
				if s.fail == nil && n.up {
					s.stepInto(n, &held[i])
				}
			}
		}
	}
	if s.fail == nil && n.up && n.rn.HasReady() && s.rng.Float64() < s.prof.readyP {
		n.takeReady()
	}
}

// takeReady takes a Ready and writes it to the disk (not yet synced), sends
// the messages the contract allows before the fsync, and schedules the fsync.
func (n *node) takeReady() {
	s := n.s
	rd := n.rn.Ready()
	if rd.SoftState != nil {
		if rd.SoftState.RaftState != n.state || rd.SoftState.Lead != n.lead {
			s.note(n.id, "state %s lead=%d", rd.SoftState.RaftState, rd.SoftState.Lead)
		}
		n.state, n.lead = rd.SoftState.RaftState, rd.SoftState.Lead
		if n.state != raft.StateFollower {
			// Only a voter of its own configuration may campaign or lead.
			if st := n.rn.Status(); !slices.Contains(st.Voters, n.id) {
				s.failf(InvMembership, "member %d became %s in term %d but is not a voter of its configuration (voters %v, learners %v)",
					n.id, n.state, st.Term, st.Voters, st.Learners)
			}
		}
	}
	leader := n.state == raft.StateLeader
	if leader {
		// The leader exception of contract (1) is safe only because the
		// leader counts its own log only for entries persisted by a
		// completed Advance: its own Match never exceeds its synced log.
		if pr, ok := n.rn.Status().Progress[n.id]; ok && pr.Match > n.disk.synced.lastIndex() {
			s.failf(InvDurability, "leader %d counts its own Match %d but has persisted (synced) only up to %d",
				n.id, pr.Match, n.disk.synced.lastIndex())
		}
	}
	prev := n.hs
	n.checkReady(&rd, prev)
	// The checker attributes what this Ready commits to the member's new
	// term, so n.hs moves first; the disk is written in contract order below.
	if !rd.HardState.IsEmpty() {
		n.hs = rd.HardState
	}

	// Contract (1): write Snapshot, then Entries, then HardState. They reach
	// the written image (and raft's Storage) now; the fsync comes at syncAt.
	if !rd.Snapshot.IsEmpty() {
		meta := rd.Snapshot.Metadata
		// The snapshot must carry the state machine image of exactly its
		// index (a codec or library bug could mangle Data or Metadata).
		img, err := unmarshalSM(rd.Snapshot.Data)
		if err == nil && img.Applied != meta.Index {
			err = fmt.Errorf("snapshot metadata index %d but its data is the state at %d", meta.Index, img.Applied)
		}
		if err != nil {
			s.failf(InvLibrary, "member %d: Ready.Snapshot: %v", n.id, err)
			return
		}
		if err := n.disk.applySnapshot(rd.Snapshot, img.Hash); err != nil {
			s.failf(InvLibrary, "member %d: %v", n.id, err)
			return
		}
		s.note(n.id, "install snapshot %d/%d", meta.Index, meta.Term)
		s.chk.snapshotInstalled(n, meta.Index, meta.Term, img.Hash)
	}
	ents, chains, err := n.disk.appendEntries(rd.Entries)
	if err != nil {
		s.failf(InvLibrary, "member %d: %v", n.id, err)
		return
	}
	s.chk.written(n, ents, chains)
	if !rd.HardState.IsEmpty() {
		if err := n.disk.setHardState(rd.HardState); err != nil {
			s.failf(InvLibrary, "member %d: %v", n.id, err)
			return
		}
		if n.hs.Commit > prev.Commit {
			s.chk.commitAdvanced(n, prev.Commit, n.hs.Commit)
		}
	}
	// Seen as leader: election safety and leader completeness. The log just
	// written is the leader's whole log but for its own new entries.
	if leader {
		s.chk.leaderElected(n, n.hs.Term)
	}
	// ReadStates are checked when handed out; serving the read would wait
	// until applied >= Index, which does not change what is linearizable.
	for _, rs := range rd.ReadStates {
		s.readAnswered(n, rs)
	}

	// Messages wait for the fsync, except a leader's MsgApp, MsgHeartbeat and
	// MsgSnap, which the contract lets go before it (here: with probability
	// earlyP, so that both orders happen). AckBeforePersist breaks the rule
	// for every message, which is the bug the checker must catch.
	p := &inflight{rd: rd, syncAt: s.step + s.rng.IntN(s.prof.maxFsync+1)}
	for i := range rd.Messages {
		m := &rd.Messages[i]
		early := s.opts.AckBeforePersist
		if leader && (m.Type == raftpb.MsgApp || m.Type == raftpb.MsgHeartbeat || m.Type == raftpb.MsgSnap) {
			early = early || s.rng.Float64() < s.prof.earlyP
		}
		if early {
			s.send(n, m)
		} else {
			p.later = append(p.later, *m)
		}
	}
	n.pending = p
	// CommittedEntries are durable already (contract 2, checked above), so
	// they may be applied before this Ready's own fsync; or after it.
	if s.rng.Float64() < s.prof.applyEarlyP {
		if !n.applyReady(p) {
			return
		}
	}
	if p.syncAt <= s.step {
		n.finish()
	}
}

// checkReady checks the parts of the durability contract the library owns.
func (n *node) checkReady(rd *raft.Ready, prev raftpb.HardState) {
	s := n.s
	hs := rd.HardState
	if !hs.IsEmpty() {
		if hs.Commit < prev.Commit {
			s.failf(InvCommitMonotonic, "member %d commit index went back from %d to %d", n.id, prev.Commit, hs.Commit)
		}
		if hs.Term < prev.Term {
			s.failf(InvVote, "member %d term went back from %d to %d", n.id, prev.Term, hs.Term)
		}
		if hs.Term == prev.Term && prev.Vote != raftpb.None && hs.Vote != prev.Vote {
			s.failf(InvVote, "member %d changed its vote in term %d from %d to %d", n.id, hs.Term, prev.Vote, hs.Vote)
		}
	}
	changed := !hs.IsEmpty() && (hs.Term != prev.Term || hs.Vote != prev.Vote)
	if (len(rd.Entries) > 0 || changed) && !rd.MustSync {
		s.failf(InvDurability, "member %d: Ready with %d entries and hard state %+v (was %+v) has MustSync=false", n.id, len(rd.Entries), hs, prev)
	}
	// CommittedEntries must already be durable: in the synced log, same term.
	for i := range rd.CommittedEntries {
		e := &rd.CommittedEntries[i]
		t, ok := n.disk.synced.termAt(e.Index)
		if !ok || t != e.Term || e.Index <= n.disk.synced.base {
			s.failf(InvDurability, "member %d: CommittedEntries holds %d/%d which this member has not persisted (synced log %d..%d)",
				n.id, e.Term, e.Index, n.disk.synced.base+1, n.disk.synced.lastIndex())
			return
		}
	}
	for i := range rd.Messages {
		m := &rd.Messages[i]
		forwarded := m.Type == raftpb.MsgProp || m.Type == raftpb.MsgReadIndex || m.Type == raftpb.MsgTransferLeader
		if m.Type.IsLocal() || !m.Type.Valid() || (m.From != n.id && !forwarded) || m.To == n.id || m.To == raftpb.None {
			s.failf(InvLibrary, "member %d: Ready holds a message it may not send: %s", n.id, m)
		}
	}
}

// finish completes the in-flight Ready: fsync (if MustSync), send the held
// messages, apply, Advance.
func (n *node) finish() {
	s := n.s
	p := n.pending
	if p.rd.MustSync {
		n.disk.fsync()
	}
	for i := range p.later {
		s.send(n, &p.later[i])
	}
	if !n.applyReady(p) {
		return
	}
	n.rn.Advance(p.rd)
	n.pending = nil
}

// applyReady applies the in-flight Ready's snapshot and CommittedEntries
// (once). It reports false if an invariant broke.
func (n *node) applyReady(p *inflight) bool {
	if p.applied {
		return true
	}
	p.applied = true
	if !p.rd.Snapshot.IsEmpty() {
		img, _ := unmarshalSM(p.rd.Snapshot.Data)
		n.applied, n.smHash = img.Applied, img.Hash
		n.conf = p.rd.Snapshot.Metadata.ConfState
	}
	for i := range p.rd.CommittedEntries {
		if !n.apply(&p.rd.CommittedEntries[i]) {
			return false
		}
	}
	return true
}

// apply applies one committed entry to the state machine.
func (n *node) apply(e *raftpb.Entry) bool {
	s := n.s
	if e.Index != n.applied+1 {
		s.failf(InvApplyOrder, "member %d applied %d, next committed entry is %d", n.id, n.applied, e.Index)
		return false
	}
	n.smHash = chainNext(n.smHash, e)
	n.applied = e.Index
	s.chk.applied(n, e.Index, n.smHash)
	switch e.Type {
	case raftpb.EntryConfChange:
		var cc raftpb.ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			s.failf(InvLibrary, "member %d: committed EntryConfChange %d/%d does not decode: %v", n.id, e.Term, e.Index, err)
			return false
		}
		cs := n.rn.ApplyConfChange(cc)
		if cs == nil {
			s.failf(InvLibrary, "member %d: ApplyConfChange(%s) returned nil", n.id, cc)
			return false
		}
		n.conf = *cs
		if seq, ok := parseProposal(cc.Context); ok {
			if p := s.props[seq]; p != nil && p.refused != nil {
				s.failf(InvLibrary, "member %d applied conf change %s at %d, but ProposeConfChange refused it at member %d (%v)",
					n.id, cc, e.Index, p.proposer, p.refused)
				return false
			}
		}
		switch {
		case cc.NodeID != n.id:
		case cc.Type == raftpb.ConfChangeRemoveNode && n.selfRemovedAt == 0:
			n.selfRemovedAt = s.step
		case cc.Type != raftpb.ConfChangeRemoveNode:
			n.selfRemovedAt = 0 // added back
		}
		s.confApplied(n, e.Index, cc, *cs)
	case raftpb.EntryNormal:
		if seq, ok := parseProposal(e.Data); ok {
			s.proposalApplied(n, seq, e.Index)
		}
	}
	return s.fail == nil
}

// step delivers a message from the network.
func (n *node) step(m raftpb.Message) {
	s := n.s
	err := n.rn.Step(m)
	switch {
	case err == nil:
	case errors.Is(err, raft.ErrStepPeerNotFound), errors.Is(err, raft.ErrProposalDropped):
		s.tr.add(event{step: s.step, kind: evStepErr, msg: summarize(&m), text: err.Error()})
	default:
		s.failf(InvLibrary, "member %d: Step(%s): unexpected error %v", n.id, m, err)
	}
}

// snapshot creates a durable snapshot of the state machine and compacts the
// log, keeping a random tail for followers slightly behind.
func (n *node) snapshot() error {
	s := n.s
	w := &n.disk.written
	compactTo := w.base
	if keep := raftpb.Index(s.rng.IntN(8)); n.applied > w.base+keep {
		compactTo = n.applied - keep
	}
	if err := n.disk.snapshotAndCompact(smImage{Applied: n.applied, Hash: n.smHash}, n.conf, compactTo); err != nil {
		return err
	}
	n.snapIndex = n.applied
	s.note(n.id, "snapshot at %d, compacted to %d", n.applied, compactTo)
	return nil
}
