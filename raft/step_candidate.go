package raft

import (
	"fmt"

	"github.com/shelf-kv/shelf/raft/quorum"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// stepCandidate handles the messages of candidates and pre-candidates.
//
// A MsgApp, MsgHeartbeat or MsgSnap of our own term means another node won
// this term's election (raft.Step already turned a higher term into
// follower): we follow it. Vote responses are tallied; a won pre-vote starts
// the real election (term+1), a won election makes us leader, and a lost
// one (a quorum rejected) sends us back to follower in the same term, to
// time out again after a fresh randomized timeout.
func stepCandidate(r *raft, m raftpb.Message) error {
	// A pre-candidate only counts pre-vote responses, a candidate only
	// vote responses: a late answer to the other phase is stale.
	myVoteResp := raftpb.MsgVoteResp
	if r.state == StatePreCandidate {
		myVoteResp = raftpb.MsgPreVoteResp
	}
	switch m.Type {
	case raftpb.MsgProp:
		return fmt.Errorf("%w: %w (candidate %d, term %d)", ErrProposalDropped, ErrNoLeader, r.id, r.Term)
	case raftpb.MsgApp:
		r.becomeFollower(m.Term, m.From) // a leader exists in our term
		r.handleAppendEntries(m)
	case raftpb.MsgHeartbeat:
		r.becomeFollower(m.Term, m.From)
		r.handleHeartbeat(m)
	case raftpb.MsgSnap:
		r.becomeFollower(m.Term, m.From)
		r.handleSnapshot(m)
	case myVoteResp:
		granted, rejected, res := r.poll(m.From, !m.Reject)
		r.logger.Debug("raft: vote tally", "id", r.id, "type", m.Type.String(),
			"granted", granted, "rejected", rejected)
		switch res {
		case quorum.VoteWon:
			if r.state == StatePreCandidate {
				r.campaign(campaignElection)
			} else {
				r.becomeLeader()
				r.bcastAppend()
			}
		case quorum.VoteLost:
			// A pre-vote loss keeps the term; a real loss keeps the new
			// term (we voted for ourselves in it).
			r.becomeFollower(r.Term, raftpb.None)
		}
	case raftpb.MsgTimeoutNow:
		r.logger.Debug("raft: candidate ignores MsgTimeoutNow", "id", r.id, "from", m.From)
	}
	return nil
}
