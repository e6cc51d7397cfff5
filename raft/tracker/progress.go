// Package tracker keeps the leader's view of each follower: how much of the
// log it holds (Match), what to send next (Next), in which replication state
// it is, and its flow-control window; plus the configuration (voters,
// learners) and the votes of an election.
package tracker

import (
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// StateType is the replication state of a follower as seen by the leader.
type StateType uint8

const (
	// StateProbe: the leader does not know where the follower's log matches
	// its own; it sends one MsgApp per heartbeat interval (or per response)
	// and backs Next off on rejections.
	StateProbe StateType = iota
	// StateReplicate: the logs match up to Match; the leader streams entries
	// optimistically, bounded by the Inflights window.
	StateReplicate
	// StateSnapshot: the follower needs a snapshot (its Next is below the
	// leader's first index); nothing else is sent until it is acknowledged
	// or reported failed.
	StateSnapshot
)

func (s StateType) String() string {
	switch s {
	case StateProbe:
		return "StateProbe"
	case StateReplicate:
		return "StateReplicate"
	case StateSnapshot:
		return "StateSnapshot"
	}
	return fmt.Sprintf("StateType(%d)", uint8(s))
}

// Progress is the leader's view of one follower (or of itself).
//
// Invariant: Match < Next.
type Progress struct {
	// Match is the highest index known to be durably replicated on the node.
	Match raftpb.Index
	// Next is the index of the next entry to send.
	Next raftpb.Index
	// State is the replication state (see StateType).
	State StateType
	// PendingSnapshot is the index of the snapshot being sent (StateSnapshot only).
	PendingSnapshot raftpb.Index
	// RecentActive is true if the leader heard from the node since the last
	// CheckQuorum round (the leader itself is always active).
	RecentActive bool
	// MsgAppFlowPaused is set after a MsgApp is sent in StateProbe (one probe
	// at a time), or in StateReplicate when the send filled the Inflights
	// window; it is cleared by a response or a heartbeat response. While the
	// window is full but the flow is not paused, the leader sends only an
	// empty MsgApp: if every in-flight message was lost, that one is
	// acknowledged or rejected and unblocks the window.
	MsgAppFlowPaused bool
	// Inflights is the flow-control window (meaningful in StateReplicate).
	Inflights *Inflights
	// IsLearner is true for a non-voting member.
	IsLearner bool
	// SnapshotStale is set at an election-timeout boundary while in
	// StateSnapshot; a progress still in StateSnapshot at the next boundary
	// is probed again (the ack, or the driver's ReportSnapshot, was lost).
	SnapshotStale bool
}

// ResetState moves pr to state, clearing the probe pause, the pending
// snapshot and the inflight window.
func (pr *Progress) ResetState(state StateType) {
	pr.MsgAppFlowPaused = false
	pr.PendingSnapshot = 0
	pr.SnapshotStale = false
	pr.State = state
	pr.Inflights.Reset()
}

// BecomeProbe moves pr to StateProbe. Leaving StateSnapshot, Next restarts
// after the snapshot (the follower either installed it or will reject and be
// backed off); otherwise after Match.
func (pr *Progress) BecomeProbe() {
	if pr.State == StateSnapshot {
		pending := pr.PendingSnapshot
		pr.ResetState(StateProbe)
		pr.Next = max(pr.Match+1, pending+1)
		return
	}
	pr.ResetState(StateProbe)
	pr.Next = pr.Match + 1
}

// BecomeReplicate moves pr to StateReplicate, streaming from Match+1.
func (pr *Progress) BecomeReplicate() {
	pr.ResetState(StateReplicate)
	pr.Next = pr.Match + 1
}

// BecomeSnapshot moves pr to StateSnapshot while the snapshot at snapi is sent.
func (pr *Progress) BecomeSnapshot(snapi raftpb.Index) {
	pr.ResetState(StateSnapshot)
	pr.PendingSnapshot = snapi
	pr.Next = snapi + 1
}

// SentEntries updates pr after a MsgApp carrying n entries (bytes in total,
// the last one at lastIndex) was sent. In StateReplicate Next advances
// optimistically and the message joins the window; in StateProbe further
// MsgApps pause until a response or heartbeat.
func (pr *Progress) SentEntries(n int, bytes uint64, lastIndex raftpb.Index) {
	switch pr.State {
	case StateReplicate:
		if n > 0 {
			pr.Next = lastIndex + 1
			pr.Inflights.Add(lastIndex, bytes)
		}
		// A full window pauses the flow until an ack frees it or a
		// heartbeat response allows one empty MsgApp (see IsPaused).
		pr.MsgAppFlowPaused = pr.Inflights.Full()
	case StateProbe:
		pr.MsgAppFlowPaused = true
	}
}

// MaybeUpdate records that the node acknowledged index n. It returns false if
// n is not news (a stale or duplicate acknowledgement).
func (pr *Progress) MaybeUpdate(n raftpb.Index) bool {
	updated := false
	if pr.Match < n {
		pr.Match = n
		updated = true
		pr.MsgAppFlowPaused = false
	}
	pr.Next = max(pr.Next, n+1)
	return updated
}

// MaybeDecrTo handles a rejected MsgApp whose Index was rejected; matchHint is
// the follower's hint of an index where the logs may match. It returns false
// if the rejection is stale (it does not concern the message last probed).
func (pr *Progress) MaybeDecrTo(rejected, matchHint raftpb.Index) bool {
	if pr.State == StateReplicate {
		// Entries up to Match are known to match: a rejection at or below
		// it is stale. Otherwise fall back to Match+1 (the caller probes).
		if rejected <= pr.Match {
			return false
		}
		pr.Next = pr.Match + 1
		return true
	}
	// In probe (and snapshot) state only the latest probe's rejection counts.
	if pr.Next == 0 || pr.Next-1 != rejected {
		return false
	}
	pr.Next = max(min(rejected, matchHint+1), pr.Match+1)
	pr.MsgAppFlowPaused = false
	return true
}

// IsPaused reports whether the leader must not send a MsgApp with entries now.
func (pr *Progress) IsPaused() bool {
	switch pr.State {
	case StateProbe:
		return pr.MsgAppFlowPaused
	case StateReplicate:
		return pr.MsgAppFlowPaused
	default:
		return true
	}
}

// Clone returns an independent copy of pr.
func (pr *Progress) Clone() *Progress {
	c := *pr
	c.Inflights = pr.Inflights.Clone()
	return &c
}

func (pr *Progress) String() string {
	s := fmt.Sprintf("%s match=%d next=%d", pr.State, pr.Match, pr.Next)
	if pr.IsLearner {
		s += " learner"
	}
	if pr.State == StateSnapshot {
		s += fmt.Sprintf(" pendingSnap=%d", pr.PendingSnapshot)
	}
	if pr.IsPaused() {
		s += " paused"
	}
	if n := pr.Inflights.Count(); n > 0 {
		s += fmt.Sprintf(" inflight=%d", n)
	}
	return s
}
