package raft

import "github.com/shelf-kv/shelf/raft/raftpb"

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
