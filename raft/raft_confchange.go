package raft

import (
	"github.com/shelf-kv/shelf/raft/confchange"
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/raft/tracker"
)

// applyConfChange applies a committed membership change (the driver calls it
// through RawNode.ApplyConfChange, in log order) and returns the new
// membership. An invalid change leaves the membership unchanged: every node
// evaluates the same change against the same configuration, so all of them
// skip it alike.
func (r *raft) applyConfChange(cc raftpb.ConfChange) raftpb.ConfState {
	if err := confchange.Apply(&r.trk, cc, r.raftLog.lastIndex()+1); err != nil {
		r.logger.Warn("raft: skipping an invalid committed conf change", "id", r.id, "cc", cc.String(), "err", err)
		return r.trk.ConfState()
	}
	r.logger.Info("raft: applied conf change", "id", r.id, "cc", cc.String(), "voters", r.trk.Voters.String())
	r.refreshSelfRole()
	if r.trk.Progress[r.id] == nil {
		// Removed: a removed leader steps down; nobody removed campaigns
		// again (promotable is false without a Progress of our own).
		if r.state == StateLeader {
			r.logger.Info("raft: leader removed from the configuration, stepping down", "id", r.id)
		}
		if r.state != StateFollower {
			r.becomeFollower(r.Term, raftpb.None)
		}
		return r.trk.ConfState()
	}
	if r.state != StateLeader {
		return r.trk.ConfState()
	}
	if r.leadTransferee != raftpb.None && r.trk.Progress[r.leadTransferee] == nil {
		r.abortLeaderTransfer()
	}
	// The quorum may have shrunk: maybe more is committed now. Either way,
	// tell new members (and everyone) what they need.
	if r.maybeCommit() {
		r.releasePendingReadIndexMessages()
	}
	r.bcastAppend()
	return r.trk.ConfState()
}

// voterAndLearnerIDs returns the current membership (for Status).
func (r *raft) voterAndLearnerIDs() (voters, learners []raftpb.NodeID) {
	return r.trk.VoterNodes(), r.trk.LearnerNodes()
}

// progressStatus copies the leader's view of every member (for Status).
func (r *raft) progressStatus() map[raftpb.NodeID]ProgressStatus {
	if r.state != StateLeader {
		return nil
	}
	out := make(map[raftpb.NodeID]ProgressStatus, len(r.trk.Progress))
	r.trk.Visit(func(id raftpb.NodeID, pr *tracker.Progress) {
		out[id] = ProgressStatus{Match: pr.Match, Next: pr.Next, State: pr.State,
			PendingSnapshot: pr.PendingSnapshot, RecentActive: pr.RecentActive,
			IsLearner: pr.IsLearner, Inflight: pr.Inflights.Count()}
	})
	return out
}
