package raft

import (
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/raft/tracker"
)

// ProgressStatus is the leader's view of one member, as reported by Status.
type ProgressStatus struct {
	Match           raftpb.Index
	Next            raftpb.Index
	State           tracker.StateType
	PendingSnapshot raftpb.Index
	RecentActive    bool
	IsLearner       bool
	// Inflight is the number of MsgApps in flight to the member.
	Inflight int
}

// Status is a snapshot of a node's state, for monitoring and tests. It is a
// copy: mutating it does not affect the node.
type Status struct {
	ID raftpb.NodeID
	raftpb.HardState
	SoftState
	// Applied is the index of the last entry handed out in CommittedEntries
	// and acknowledged by Advance (or Config.Applied after a restart).
	Applied raftpb.Index
	// Progress is set only on the leader: every member's progress.
	Progress map[raftpb.NodeID]ProgressStatus
	// LeadTransferee is the target of a leadership transfer in progress, or None.
	LeadTransferee raftpb.NodeID
	// Voters and Learners are the membership this node currently applies.
	Voters   []raftpb.NodeID
	Learners []raftpb.NodeID
}
