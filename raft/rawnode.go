package raft

import (
	"errors"

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
type RawNode struct {
	// placeholder until the core lands; the exported API below is final.
	cfg Config
}

// NewRawNode validates a copy of cfg (see Config.Validate) and builds a node
// from cfg.Storage: its HardState, its snapshot's ConfState and its log.
func NewRawNode(cfg *Config) (*RawNode, error) {
	if cfg == nil {
		return nil, errors.New("raft: nil Config")
	}
	c := *cfg
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &RawNode{cfg: c}, nil
}

// Tick advances the node's logical clock by one tick (election and heartbeat
// timeouts are counted in ticks).
func (rn *RawNode) Tick() {}

// Campaign makes the node start an election now (a pre-election first if
// PreVote is on). Learners and removed nodes do not campaign.
func (rn *RawNode) Campaign() error { return nil }

// Propose proposes data to be appended to the log as an EntryNormal. It
// returns an error wrapping ErrProposalDropped (joined with the reason:
// ErrNoLeader, ErrTransferring, ErrUncommittedCapExceeded) if the proposal
// was certainly not appended. A nil error does not mean the proposal will
// commit: the driver learns that from CommittedEntries.
func (rn *RawNode) Propose(data []byte) error { return ErrProposalDropped }

// ProposeConfChange proposes a membership change (an EntryConfChange whose
// Data is cc.Marshal()). Errors as Propose, plus ErrConfChangePending and
// ErrConfChangeInvalid when this node is the leader and refuses it.
func (rn *RawNode) ProposeConfChange(cc raftpb.ConfChange) error { return ErrProposalDropped }

// ApplyConfChange applies a committed membership change to this node; the
// driver calls it when it applies an EntryConfChange, in log order. It
// returns the resulting membership. An invalid change (which the leader would
// not have proposed) leaves the membership unchanged.
func (rn *RawNode) ApplyConfChange(cc raftpb.ConfChange) *raftpb.ConfState {
	return &raftpb.ConfState{}
}

// Step feeds a message received from a peer. Local message types are
// rejected with ErrStepLocalMsg; responses from unknown peers with
// ErrStepPeerNotFound. Other errors (a dropped forwarded proposal) are
// informational; the driver may ignore them.
func (rn *RawNode) Step(m raftpb.Message) error { return nil }

// ReadIndex requests a linearizable read index; the answer arrives as a
// ReadState carrying rctx in a later Ready. Give every request its own,
// unique rctx (never reuse one across retries). The request is silently
// dropped if there is no leader; retry with a new rctx.
func (rn *RawNode) ReadIndex(rctx []byte) {}

// TransferLeader asks the leader to hand leadership to transferee.
func (rn *RawNode) TransferLeader(transferee raftpb.NodeID) {}

// ReportUnreachable tells the node that a message to id could not be sent.
func (rn *RawNode) ReportUnreachable(id raftpb.NodeID) {}

// ReportSnapshot tells the leader the outcome of sending a snapshot to id.
func (rn *RawNode) ReportSnapshot(id raftpb.NodeID, status SnapshotStatus) {}

// HasReady reports whether Ready would return anything.
func (rn *RawNode) HasReady() bool { return false }

// Ready returns the pending work; see the durability contract on Ready.
func (rn *RawNode) Ready() Ready { return Ready{} }

// Advance acknowledges that rd (the last Ready returned) was persisted and
// applied.
func (rn *RawNode) Advance(rd Ready) {}

// Status returns a copy of the node's state.
func (rn *RawNode) Status() Status { return Status{ID: rn.cfg.ID} }
