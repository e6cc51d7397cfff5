package raft

import (
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// SnapshotStatus is the outcome of sending a snapshot, reported by the driver
// with ReportSnapshot.
type SnapshotStatus int

const (
	// SnapshotFinish: the snapshot was delivered to the follower.
	SnapshotFinish SnapshotStatus = 1
	// SnapshotFailure: sending failed; the leader probes the follower again
	// (and may send a new snapshot) after a heartbeat.
	SnapshotFailure SnapshotStatus = 2
)

// RawNode is one raft member as a pure state machine. It is not safe for
// concurrent use: the driver calls every method from one goroutine.
//
// Between Ready and the matching Advance the driver may keep calling Tick,
// Step, Propose and the other inputs (for example while a persist is in
// flight); their output waits for the next Ready. HasReady reports false and
// Ready returns an empty Ready until Advance is called.
type RawNode struct {
	raft *raft
	// prevSoftSt and prevHardSt are what the last Ready reported.
	prevSoftSt SoftState
	prevHardSt raftpb.HardState
	// outstanding is true between Ready (with content) and Advance.
	outstanding bool
}

// NewRawNode validates a copy of cfg (see Config.Validate) and builds a node
// from cfg.Storage: its HardState, its snapshot's ConfState and its log. The
// node starts as a follower of no leader in the persisted term.
func NewRawNode(cfg *Config) (*RawNode, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: nil Config", ErrInvalidConfig)
	}
	c := *cfg
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r, persisted, err := newRaft(&c)
	if err != nil {
		return nil, err
	}
	// prevHardSt is what storage holds, so a term or commit raised at
	// startup is reported (with MustSync for a term) by the first Ready.
	return &RawNode{raft: r, prevSoftSt: r.softState(), prevHardSt: persisted}, nil
}

// Tick advances the node's logical clock by one tick (election and heartbeat
// timeouts are counted in ticks).
func (rn *RawNode) Tick() { rn.raft.tick() }

// Campaign makes the node start an election now (a pre-election first if
// PreVote is on). Learners, removed nodes and leaders ignore it.
func (rn *RawNode) Campaign() error {
	return rn.raft.Step(raftpb.Message{Type: raftpb.MsgHup, From: rn.raft.id})
}

// Propose proposes data to be appended to the log as an EntryNormal. It
// returns an error wrapping ErrProposalDropped (joined with the reason:
// ErrNoLeader, ErrTransferring, ErrUncommittedCapExceeded) if the proposal
// was certainly not appended. A nil error does not mean the proposal will
// commit (a follower forwards it and the leader may still refuse or lose
// it): the driver learns that from CommittedEntries.
func (rn *RawNode) Propose(data []byte) error {
	return rn.raft.Step(raftpb.Message{Type: raftpb.MsgProp, From: rn.raft.id,
		Entries: []raftpb.Entry{{Type: raftpb.EntryNormal, Data: data}}})
}

// ProposeConfChange proposes a membership change (an EntryConfChange whose
// Data is cc.Marshal()). Errors as Propose; on the leader also
// ErrConfChangePending (an earlier change, or the leader's election no-op,
// is not applied yet) and ErrConfChangeInvalid (see confchange.Validate).
// A follower forwards the proposal; a leader that refuses a forwarded one
// drops it (the proposer sees no commit and may retry).
func (rn *RawNode) ProposeConfChange(cc raftpb.ConfChange) error {
	return rn.raft.Step(raftpb.Message{Type: raftpb.MsgProp, From: rn.raft.id,
		Entries: []raftpb.Entry{{Type: raftpb.EntryConfChange, Data: cc.Marshal()}}})
}

// ApplyConfChange applies a committed membership change to this node; the
// driver calls it when it applies an EntryConfChange, in log order. It
// returns the resulting membership (to store with the next snapshot). An
// invalid change (which the leader would not have proposed) leaves the
// membership unchanged. A node that removes itself stops campaigning, and a
// removed leader steps down.
func (rn *RawNode) ApplyConfChange(cc raftpb.ConfChange) *raftpb.ConfState {
	cs := rn.raft.applyConfChange(cc)
	return &cs
}

// Step feeds a message received from a peer. Local message types are
// rejected with ErrStepLocalMsg, structurally impossible messages (see
// ErrInvalidMessage) with that error, responses from peers not in the
// configuration with ErrStepPeerNotFound. Other errors (a dropped forwarded
// proposal) are informational; the driver may ignore them.
func (rn *RawNode) Step(m raftpb.Message) error {
	if err := validateMessage(&m); err != nil {
		return err
	}
	if m.Type.IsResponse() && rn.raft.trk.Progress[m.From] == nil {
		return fmt.Errorf("%w: %s from %d", ErrStepPeerNotFound, m.Type, m.From)
	}
	return rn.raft.Step(m)
}

// ReadIndex requests a linearizable read index; the answer arrives as a
// ReadState carrying rctx in a later Ready. Give every request its own,
// unique rctx across the whole group (never reuse one across retries: a
// context still pending on the leader is ignored). The request is silently
// dropped if there is no leader, and pending requests are dropped when
// leadership changes; retry with a new rctx after a timeout.
func (rn *RawNode) ReadIndex(rctx []byte) {
	_ = rn.raft.Step(raftpb.Message{Type: raftpb.MsgReadIndex, From: rn.raft.id, Context: rctx})
}

// TransferLeader asks the leader to hand leadership to transferee. On a
// follower the request is forwarded to the leader. The transfer is aborted
// if it does not complete within an election timeout; proposals are refused
// (ErrTransferring) while it runs.
func (rn *RawNode) TransferLeader(transferee raftpb.NodeID) {
	_ = rn.raft.Step(raftpb.Message{Type: raftpb.MsgTransferLeader, From: transferee})
}

// ReportUnreachable tells the node that a message to id could not be sent; a
// leader stops streaming to id and probes it.
func (rn *RawNode) ReportUnreachable(id raftpb.NodeID) {
	_ = rn.raft.Step(raftpb.Message{Type: raftpb.MsgUnreachable, From: id})
}

// ReportSnapshot tells the leader the outcome of sending a snapshot to id.
func (rn *RawNode) ReportSnapshot(id raftpb.NodeID, status SnapshotStatus) {
	_ = rn.raft.Step(raftpb.Message{Type: raftpb.MsgSnapStatus, From: id, Reject: status == SnapshotFailure})
}

// HasReady reports whether Ready would return anything. It is false while a
// Ready is outstanding (not yet Advanced).
func (rn *RawNode) HasReady() bool {
	if rn.outstanding {
		return false
	}
	r := rn.raft
	if r.softState() != rn.prevSoftSt {
		return true
	}
	if hs := r.hardState(); !hs.IsEmpty() && hs != rn.prevHardSt {
		return true
	}
	return r.raftLog.hasPendingSnapshot() || len(r.msgs) > 0 || len(r.readStates) > 0 ||
		len(r.raftLog.unstableEntries()) > 0 || r.raftLog.hasNextCommittedEnts()
}

// Ready returns the pending work; see the durability contract on Ready. While
// a previous Ready is outstanding it returns an empty Ready.
func (rn *RawNode) Ready() Ready {
	if rn.outstanding {
		return Ready{}
	}
	r := rn.raft
	rd := Ready{
		Entries:          r.raftLog.unstableEntries(),
		CommittedEntries: r.raftLog.nextCommittedEnts(),
		Messages:         r.msgs,
		ReadStates:       r.readStates,
	}
	if ss := r.softState(); ss != rn.prevSoftSt {
		rd.SoftState = &ss
		rn.prevSoftSt = ss
	}
	hs := r.hardState()
	if hs != rn.prevHardSt {
		rd.HardState = hs
	}
	if r.raftLog.hasPendingSnapshot() {
		rd.Snapshot = *r.raftLog.unstable.snapshot
	}
	rd.MustSync = mustSync(hs, rn.prevHardSt, len(rd.Entries)) || !rd.Snapshot.IsEmpty()
	rn.prevHardSt = hs
	r.msgs = nil
	r.readStates = nil
	if n := len(rd.CommittedEntries); n > 0 {
		r.raftLog.applying = rd.CommittedEntries[n-1].Index
	}
	rn.outstanding = rd.containsUpdates()
	return rd
}

// Advance acknowledges that rd (the last Ready returned) was persisted and
// applied: its entries become stable (a leader now counts them toward
// commitment), its snapshot and committed entries are applied.
func (rn *RawNode) Advance(rd Ready) {
	rn.outstanding = false
	r := rn.raft
	if !rd.Snapshot.IsEmpty() {
		r.raftLog.stableSnapTo(rd.Snapshot.Metadata.Index)
		r.raftLog.appliedTo(rd.Snapshot.Metadata.Index)
	}
	if n := len(rd.Entries); n > 0 {
		e := rd.Entries[n-1]
		r.raftLog.stableTo(e.Index, e.Term)
	}
	if n := len(rd.CommittedEntries); n > 0 {
		r.raftLog.appliedTo(rd.CommittedEntries[n-1].Index)
		if r.state == StateLeader {
			r.reduceUncommittedSize(payloadSize(rd.CommittedEntries))
		}
	}
	if r.state == StateLeader {
		// The leader's own persisted log now counts (contract 1).
		if pr := r.trk.Progress[r.id]; pr != nil && pr.MaybeUpdate(r.raftLog.stableIndex()) {
			if r.maybeCommit() {
				r.releasePendingReadIndexMessages()
				r.bcastAppend()
			}
		}
	}
}

// Status returns a copy of the node's state.
func (rn *RawNode) Status() Status {
	r := rn.raft
	voters, learners := r.voterAndLearnerIDs()
	return Status{
		ID:             r.id,
		HardState:      r.hardState(),
		SoftState:      r.softState(),
		Applied:        r.raftLog.applied,
		Progress:       r.progressStatus(),
		LeadTransferee: r.leadTransferee,
		Voters:         voters,
		Learners:       learners,
	}
}
