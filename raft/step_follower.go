package raft

import (
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// stepFollower handles the messages a follower acts on. Any message from the
// leader of our term resets the election timer and (re)learns who leads.
// Proposals, transfer requests and read requests are forwarded to the leader
// unchanged (From stays the originator); without a known leader, proposals
// fail with ErrNoLeader and the others are dropped.
func stepFollower(r *raft, m raftpb.Message) error {
	switch m.Type {
	case raftpb.MsgProp:
		if r.lead == raftpb.None {
			return fmt.Errorf("%w: %w (follower %d, term %d)", ErrProposalDropped, ErrNoLeader, r.id, r.Term)
		}
		m.To = r.lead
		r.send(m)
	case raftpb.MsgApp:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleAppendEntries(m)
	case raftpb.MsgHeartbeat:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleHeartbeat(m)
	case raftpb.MsgSnap:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleSnapshot(m)
	case raftpb.MsgTransferLeader:
		if r.lead == raftpb.None {
			r.logger.Info("raft: no leader, dropping leader transfer", "id", r.id)
			return nil
		}
		m.To = r.lead
		r.send(m)
	case raftpb.MsgTimeoutNow:
		// The leader hands over: campaign now, skipping the pre-vote and
		// the lease (the vote carries campaignTransferCtx).
		r.logger.Info("raft: received MsgTimeoutNow, campaigning", "id", r.id, "from", m.From)
		r.hup(campaignTransfer)
	case raftpb.MsgReadIndex:
		if r.lead == raftpb.None {
			r.logger.Info("raft: no leader, dropping read index request", "id", r.id)
			return nil
		}
		m.To = r.lead
		r.send(m)
	case raftpb.MsgReadIndexResp:
		r.readStates = append(r.readStates, ReadState{Index: m.Index, RequestCtx: m.Context})
	}
	return nil
}

// handleAppendEntries answers a MsgApp from the leader: accept (acknowledging
// the last index it now holds, once persisted) or reject with a hint.
func (r *raft) handleAppendEntries(m raftpb.Message) {
	if m.Index < r.raftLog.committed {
		// Everything up to committed matches the leader already.
		r.send(raftpb.Message{To: m.From, Type: raftpb.MsgAppResp, Index: r.raftLog.committed})
		return
	}
	if last, ok := r.raftLog.maybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries); ok {
		r.send(raftpb.Message{To: m.From, Type: raftpb.MsgAppResp, Index: last})
		return
	}
	// Reject, with the largest index whose term is <= the leader's term at
	// m.Index: the leader can skip every entry of a term we cannot match
	// (fast backtracking by term).
	hintIndex := min(m.Index, r.raftLog.lastIndex())
	hintIndex, hintTerm := r.raftLog.findConflictByTerm(hintIndex, m.LogTerm)
	r.send(raftpb.Message{To: m.From, Type: raftpb.MsgAppResp, Index: m.Index,
		Reject: true, RejectHint: hintIndex, LogTerm: hintTerm})
}

// handleHeartbeat learns the commit index (never past our own log, which the
// leader's Match bound already guarantees) and answers, echoing the context
// of a ReadIndex round.
func (r *raft) handleHeartbeat(m raftpb.Message) {
	commit := m.Commit
	if last := r.raftLog.lastIndex(); commit > last {
		r.logger.Warn("raft: heartbeat commit beyond our log, clamping", "id", r.id, "commit", commit, "last", last)
		commit = last
	}
	r.raftLog.commitTo(commit)
	r.send(raftpb.Message{To: m.From, Type: raftpb.MsgHeartbeatResp, Context: m.Context})
}

// handleSnapshot installs the leader's snapshot if it is news, and
// acknowledges the index we now hold.
func (r *raft) handleSnapshot(m raftpb.Message) {
	if m.Snapshot == nil {
		r.logger.Warn("raft: MsgSnap without a snapshot", "id", r.id, "from", m.From)
		return
	}
	if r.restore(*m.Snapshot) {
		r.send(raftpb.Message{To: m.From, Type: raftpb.MsgAppResp, Index: r.raftLog.lastIndex()})
		return
	}
	r.send(raftpb.Message{To: m.From, Type: raftpb.MsgAppResp, Index: r.raftLog.committed})
}
