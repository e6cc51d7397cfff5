package raft

import (
	"bytes"

	"github.com/shelf-kv/shelf/raft/quorum"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Step is the entry point of every message, local or remote. It handles what
// is common to all roles (terms, votes, elections) and hands the rest to the
// role's step function.
//
// The term rules: a message of a higher term makes us a follower of that
// term first (its sender is the leader if it is a MsgApp, MsgHeartbeat or
// MsgSnap), except pre-votes, which never move terms, and vote requests
// received inside a leader lease, which are ignored. A message of a lower
// term is dropped, except that a stale leader is answered so that it
// learns the new term, and a stale (pre-)candidate is rejected with our term.
func (r *raft) Step(m raftpb.Message) error {
	switch {
	case m.Term == 0:
		// Local message, or a forwarded MsgProp / MsgReadIndex.
	case m.Term > r.Term:
		if m.Type == raftpb.MsgVote || m.Type == raftpb.MsgPreVote {
			force := bytes.Equal(m.Context, campaignTransferCtx)
			inLease := r.checkQuorum && r.lead != raftpb.None && r.electionElapsed < r.electionTimeout
			if !force && inLease {
				// We heard from a leader within the election timeout: a
				// vote request now comes from a node that lost contact
				// (e.g. a rejoining partitioned node). Ignore it, without
				// adopting its term, so it cannot depose a healthy leader.
				r.logger.Debug("raft: ignoring vote request inside the leader lease",
					"id", r.id, "from", m.From, "term", m.Term, "lead", r.lead)
				return nil
			}
		}
		switch {
		case m.Type == raftpb.MsgPreVote:
			// A pre-vote never changes our term.
		case m.Type == raftpb.MsgPreVoteResp && !m.Reject:
			// A granted pre-vote carries the term we would campaign in;
			// the term moves only if the real election happens.
		default:
			if m.Type == raftpb.MsgApp || m.Type == raftpb.MsgHeartbeat || m.Type == raftpb.MsgSnap {
				r.becomeFollower(m.Term, m.From)
			} else {
				r.becomeFollower(m.Term, raftpb.None)
			}
		}
	case m.Term < r.Term:
		switch {
		case (r.checkQuorum || r.preVote) && (m.Type == raftpb.MsgHeartbeat || m.Type == raftpb.MsgApp):
			// A stale leader: answer with our term so that it steps down.
			// Without this, with CheckQuorum or PreVote, a partitioned old
			// leader would never learn the new term and the rest could not
			// elect anyone the old leader's followers would listen to.
			r.send(raftpb.Message{To: m.From, Type: raftpb.MsgAppResp})
		case m.Type == raftpb.MsgPreVote:
			r.send(raftpb.Message{To: m.From, Term: r.Term, Type: raftpb.MsgPreVoteResp, Reject: true})
		case m.Type == raftpb.MsgVote:
			// The paper's RequestVote rule: reply false with our term.
			// etcd-io/raft ignores the request; but then (with PreVote off)
			// a candidate that needs our vote and never hears from us
			// otherwise (we do not count it as a voter, our configuration
			// lags) can never catch up with our term (SIM-3).
			r.send(raftpb.Message{To: m.From, Term: r.Term, Type: raftpb.MsgVoteResp, Reject: true})
		case m.Type == raftpb.MsgVoteResp && r.knobs.CountStaleVotes && r.state == StateCandidate:
			// TESTING KNOB: fall through and count a vote of an older term.
			return r.step(r, m)
		default:
			r.logger.Debug("raft: ignoring a message of a lower term",
				"id", r.id, "type", m.Type.String(), "from", m.From, "msgterm", m.Term, "term", r.Term)
		}
		return nil
	}

	switch m.Type {
	case raftpb.MsgHup:
		if r.preVote {
			r.hup(campaignPreElection)
		} else {
			r.hup(campaignElection)
		}
	case raftpb.MsgVote, raftpb.MsgPreVote:
		r.handleVoteRequest(m)
	default:
		return r.step(r, m)
	}
	return nil
}

// handleVoteRequest grants or rejects a (pre-)vote. We vote for m.From if we
// already voted for it in this term, or have not voted and know no leader,
// or it is a pre-vote for a later term; and its log is at least as up to date
// as ours.
func (r *raft) handleVoteRequest(m raftpb.Message) {
	canVote := r.Vote == m.From ||
		(r.Vote == raftpb.None && r.lead == raftpb.None) ||
		(m.Type == raftpb.MsgPreVote && m.Term > r.Term)
	upToDate := r.raftLog.isUpToDate(m.Index, m.LogTerm) || r.knobs.IgnoreLogUpToDate
	resp := voteRespType(m.Type)
	if canVote && upToDate {
		// The response carries the request's term: for a pre-vote that is
		// our term+1, which the pre-candidate recognises.
		r.send(raftpb.Message{To: m.From, Term: m.Term, Type: resp})
		if m.Type == raftpb.MsgVote {
			r.electionElapsed = 0
			r.Vote = m.From
		}
		return
	}
	if r.Term == 0 {
		// A node that never saw a term (a new, empty member) has no term
		// to reject with; a rejection of a lower term would be dropped by
		// the candidate anyway, so say nothing.
		return
	}
	r.send(raftpb.Message{To: m.From, Term: r.Term, Type: resp, Reject: true})
}

// voteRespType is the response type of a (pre-)vote request type.
func voteRespType(t raftpb.MessageType) raftpb.MessageType {
	if t == raftpb.MsgPreVote {
		return raftpb.MsgPreVoteResp
	}
	return raftpb.MsgVoteResp
}

// hup starts a campaign of type t if this node may campaign.
func (r *raft) hup(t campaignType) {
	if r.state == StateLeader {
		return
	}
	if !r.promotable() {
		r.logger.Debug("raft: not promotable, not campaigning", "id", r.id)
		return
	}
	if r.hasUnappliedConfChanges() {
		r.logger.Info("raft: not campaigning: committed conf changes are not applied yet", "id", r.id)
		return
	}
	r.campaign(t)
}

// campaign becomes (pre-)candidate, votes for itself and asks every other voter.
func (r *raft) campaign(t campaignType) {
	var term raftpb.Term
	var voteMsg raftpb.MessageType
	if t == campaignPreElection {
		r.becomePreCandidate()
		voteMsg = raftpb.MsgPreVote
		term = r.Term + 1 // the term we would campaign in; ours is unchanged
	} else {
		r.becomeCandidate()
		voteMsg = raftpb.MsgVote
		term = r.Term
	}
	if _, _, res := r.poll(r.id, true); res == quorum.VoteWon {
		// A single-voter group wins at once.
		if t == campaignPreElection {
			r.campaign(campaignElection)
		} else {
			r.becomeLeader()
		}
		return
	}
	var ctx []byte
	if t == campaignTransfer {
		ctx = campaignTransferCtx
	}
	for _, id := range r.trk.VoterNodes() {
		if id == r.id {
			continue
		}
		r.send(raftpb.Message{To: id, Term: term, Type: voteMsg,
			Index: r.raftLog.lastIndex(), LogTerm: r.raftLog.lastTerm(), Context: ctx})
	}
}

// poll records a vote and returns the tally.
func (r *raft) poll(id raftpb.NodeID, granted bool) (int, int, quorum.VoteResult) {
	r.trk.RecordVote(id, granted)
	return r.trk.TallyVotes()
}
