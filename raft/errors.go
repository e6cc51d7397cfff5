package raft

import "errors"

// Storage errors. A Storage returns them (possibly wrapped) and raft checks them
// with errors.Is.
var (
	// ErrCompacted: the requested index is at or below the storage's
	// compaction point (it lives only in the snapshot now).
	ErrCompacted = errors.New("raft: requested index is unavailable due to compaction")
	// ErrSnapOutOfDate: ApplySnapshot or CreateSnapshot was given a snapshot
	// older than the one the storage already holds.
	ErrSnapOutOfDate = errors.New("raft: requested index is older than the existing snapshot")
	// ErrUnavailable: the requested index is beyond the last stored entry.
	ErrUnavailable = errors.New("raft: requested entry at index is unavailable")
	// ErrSnapshotTemporarilyUnavailable: Storage.Snapshot cannot produce a
	// snapshot right now; raft will ask again later.
	ErrSnapshotTemporarilyUnavailable = errors.New("raft: snapshot is temporarily unavailable")
)

// Proposal and API errors.
var (
	// ErrProposalDropped is returned (possibly wrapping a more specific reason
	// below) when a proposal is not appended to any log: there is no known
	// leader, a leadership transfer is in progress, this node was removed, or
	// one of the limits below was hit. The caller may retry later.
	ErrProposalDropped = errors.New("raft: proposal dropped")
	// ErrUncommittedCapExceeded is joined with ErrProposalDropped when
	// appending the proposal would take the leader's uncommitted log tail past
	// Config.MaxUncommittedEntriesSize.
	ErrUncommittedCapExceeded = errors.New("raft: uncommitted log size cap (MaxUncommittedEntriesSize) exceeded")
	// ErrNoLeader is joined with ErrProposalDropped when the node knows no leader.
	ErrNoLeader = errors.New("raft: no known leader")
	// ErrTransferring is joined with ErrProposalDropped while the leader is
	// handing leadership over (MsgTransferLeader).
	ErrTransferring = errors.New("raft: leadership transfer in progress")
	// ErrConfChangePending is joined with ErrProposalDropped when a membership
	// change is proposed while an earlier one is not yet applied, or before
	// the leader applied an entry of its own term.
	ErrConfChangePending = errors.New("raft: a membership change is already pending")
	// ErrConfChangeInvalid is joined with ErrProposalDropped when a membership
	// change would be meaningless or unsafe (removing the last voter,
	// demoting a voter to learner, an unknown type, node id 0).
	ErrConfChangeInvalid = errors.New("raft: invalid membership change")
	// ErrStepLocalMsg: Step was given a message type that only the node itself
	// may generate (MsgHup, MsgBeat, MsgUnreachable, MsgSnapStatus, MsgCheckQuorum).
	ErrStepLocalMsg = errors.New("raft: cannot step a local message type from the network")
	// ErrStepPeerNotFound: Step was given a response from a node that is not
	// in this node's configuration.
	ErrStepPeerNotFound = errors.New("raft: cannot step a response from an unknown peer")
	// ErrInvalidConfig is wrapped by every Config.Validate error.
	ErrInvalidConfig = errors.New("raft: invalid config")
)
