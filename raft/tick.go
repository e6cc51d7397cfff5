package raft

import (
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/raft/tracker"
)

// tickElection is the tick of followers and candidates: campaign once the
// randomized election timeout has passed without hearing from a leader.
func (r *raft) tickElection() {
	r.electionElapsed++
	if r.promotable() && r.pastElectionTimeout() {
		r.electionElapsed = 0
		_ = r.Step(raftpb.Message{From: r.id, Type: raftpb.MsgHup})
	}
}

// tickHeartbeat is the leader's tick: heartbeats every heartbeatTimeout, and
// every electionTimeout a CheckQuorum round and the abort of a transfer that
// did not complete.
func (r *raft) tickHeartbeat() {
	r.heartbeatElapsed++
	r.electionElapsed++
	if r.electionElapsed >= r.electionTimeout {
		r.electionElapsed = 0
		if r.checkQuorum {
			_ = r.Step(raftpb.Message{From: r.id, Type: raftpb.MsgCheckQuorum})
		}
		if r.state == StateLeader {
			r.retryStalledSnapshots()
		}
		if r.state == StateLeader && r.leadTransferee != raftpb.None {
			r.logger.Info("raft: leader transfer timed out", "id", r.id, "transferee", r.leadTransferee)
			r.abortLeaderTransfer()
		}
	}
	if r.state != StateLeader {
		return
	}
	if r.heartbeatElapsed >= r.heartbeatTimeout {
		r.heartbeatElapsed = 0
		_ = r.Step(raftpb.Message{From: r.id, Type: raftpb.MsgBeat})
	}
}

// retryStalledSnapshots runs at every election-timeout boundary of a leader:
// a follower that has been in StateSnapshot for a whole election timeout
// (between one and two of them) without an acknowledgement or a
// ReportSnapshot is probed again, which sends a fresh snapshot if still
// needed. Drivers should call ReportSnapshot; this only bounds the damage
// when the outcome is lost.
func (r *raft) retryStalledSnapshots() {
	r.trk.Visit(func(id raftpb.NodeID, pr *tracker.Progress) {
		if pr.State != tracker.StateSnapshot {
			return
		}
		if !pr.SnapshotStale {
			pr.SnapshotStale = true
			return
		}
		r.logger.Info("raft: no news of a snapshot for an election timeout, probing again",
			"id", r.id, "to", id, "index", pr.PendingSnapshot)
		pr.PendingSnapshot = 0
		pr.BecomeProbe()
	})
}
