package raft

import (
	"fmt"

	"github.com/shelf-kv/shelf/raft/confchange"
	"github.com/shelf-kv/shelf/raft/quorum"
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/raft/tracker"
)

// stepLeader handles the messages a leader acts on. Term checks were done by
// raft.Step: every message here is of the leader's term (or carries none).
//
// Invariants the leader maintains:
//   - it only appends to its log, never truncates it;
//   - its own Progress.Match is its persisted last index (set in Advance);
//   - it commits only entries of its own term by counting (maybeCommit);
//   - at most one membership change is pending (pendingConfIndex).
func stepLeader(r *raft, m raftpb.Message) error {
	// Messages that need no Progress of the sender.
	switch m.Type {
	case raftpb.MsgBeat:
		r.bcastHeartbeat(r.readOnly.lastPendingRequestCtx())
		return nil
	case raftpb.MsgCheckQuorum:
		if !r.trk.QuorumActive() {
			r.logger.Warn("raft: leader lost contact with a quorum, stepping down", "id", r.id, "term", r.Term)
			r.becomeFollower(r.Term, raftpb.None)
		}
		// Start the next round: everyone must be heard from again.
		r.trk.Visit(func(id raftpb.NodeID, pr *tracker.Progress) {
			if id != r.id {
				pr.RecentActive = false
			}
		})
		return nil
	case raftpb.MsgProp:
		return r.handlePropose(m)
	case raftpb.MsgReadIndex:
		// The leader must know the latest commit index: it only does once
		// it has committed an entry of its own term. Until then, queue.
		if !r.committedEntryInCurrentTerm() {
			r.pendingReadIndexMessages = append(r.pendingReadIndexMessages, m)
			return nil
		}
		r.serveReadIndex(m)
		return nil
	}

	pr := r.trk.Progress[m.From]
	if pr == nil {
		r.logger.Debug("raft: no progress for sender", "id", r.id, "from", m.From, "type", m.Type.String())
		return nil
	}
	switch m.Type {
	case raftpb.MsgAppResp:
		r.handleAppendResponse(m, pr)
	case raftpb.MsgHeartbeatResp:
		// The follower is alive: it counts for CheckQuorum, and it may be
		// sent one more MsgApp (a probe, or an empty MsgApp when its
		// window is full, which unblocks a window whose messages were lost).
		pr.RecentActive = true
		pr.MsgAppFlowPaused = false
		if pr.Match < r.raftLog.lastIndex() || pr.State == tracker.StateProbe {
			r.sendAppend(m.From)
		}
		r.maybeAutoPromote(m.From, pr)
		// A heartbeat carrying a ReadIndex context is an ack of this
		// leader's leadership at the time the read arrived; once a quorum
		// of voters acked it, that read and every one queued before it
		// are answered.
		if len(m.Context) == 0 {
			return nil
		}
		if r.trk.Voters.VoteResult(r.readOnly.recvAck(m.From, m.Context)) != quorum.VoteWon {
			return nil
		}
		for _, rs := range r.readOnly.advance(m) {
			r.respondReadIndex(rs.req, rs.index)
		}
	case raftpb.MsgSnapStatus:
		if pr.State != tracker.StateSnapshot {
			return nil
		}
		if m.Reject {
			// Failed: forget it, so the probe starts after Match and
			// finds (again) that a snapshot is needed.
			r.logger.Info("raft: snapshot to follower failed", "id", r.id, "to", m.From)
			pr.PendingSnapshot = 0
		}
		// Either way, probe after the next heartbeat: a delivered snapshot
		// is acknowledged by a MsgAppResp (or the probe after it matches).
		pr.BecomeProbe()
		pr.MsgAppFlowPaused = true
	case raftpb.MsgUnreachable:
		// Messages to it are likely lost: stop streaming optimistically
		// and probe (one message per heartbeat) until it answers.
		if pr.State == tracker.StateReplicate {
			pr.BecomeProbe()
		}
	case raftpb.MsgTransferLeader:
		r.handleTransferLeader(m, pr)
	}
	return nil
}

// handlePropose appends the proposal m to the leader's log, or refuses it
// (returning an error that wraps ErrProposalDropped and the reason). A
// proposal is all-or-nothing: either every entry is appended, or none. It is
// refused when this leader was removed, during a leadership transfer, when a
// conf change violates the one-at-a-time rule or is invalid, or when the
// uncommitted cap would be exceeded.
func (r *raft) handlePropose(m raftpb.Message) error {
	if len(m.Entries) == 0 {
		return fmt.Errorf("%w: empty proposal", ErrProposalDropped)
	}
	if r.trk.Progress[r.id] == nil {
		return fmt.Errorf("%w: leader %d was removed from the configuration", ErrProposalDropped, r.id)
	}
	if r.leadTransferee != raftpb.None {
		return fmt.Errorf("%w: %w (to %d)", ErrProposalDropped, ErrTransferring, r.leadTransferee)
	}
	// Copy: the caller's (or the network's) slice is never modified.
	ents := append([]raftpb.Entry(nil), m.Entries...)
	for i := range ents {
		switch ents[i].Type {
		case raftpb.EntryNormal:
		case raftpb.EntryConfChange:
			if err := r.checkConfChangeProposal(&ents[i]); err != nil {
				return err
			}
			if i != len(ents)-1 || countConfChanges(ents) > 1 {
				return fmt.Errorf("%w: %w: more than one change in a proposal", ErrProposalDropped, ErrConfChangePending)
			}
		default:
			return fmt.Errorf("%w: entry type %s cannot be proposed", ErrProposalDropped, ents[i].Type)
		}
	}
	last := r.raftLog.lastIndex()
	if !r.appendEntry(ents...) {
		return fmt.Errorf("%w: %w (%d uncommitted bytes, cap %d)", ErrProposalDropped,
			ErrUncommittedCapExceeded, r.uncommittedSize, r.maxUncommitted)
	}
	// Remember where the change sits: the next one waits until it is applied.
	for i := range ents {
		if ents[i].Type == raftpb.EntryConfChange {
			r.pendingConfIndex = last + 1 + raftpb.Index(i)
		}
	}
	// Followers get the entries now; the leader's own copy counts toward
	// commitment only once persisted (Advance).
	r.bcastAppend()
	return nil
}

// countConfChanges counts the EntryConfChange entries of a proposal.
func countConfChanges(ents []raftpb.Entry) int {
	n := 0
	for i := range ents {
		if ents[i].Type == raftpb.EntryConfChange {
			n++
		}
	}
	return n
}

// checkConfChangeProposal refuses a membership change while an earlier one (or
// the leader's own election no-op) is not applied yet, and an invalid one.
func (r *raft) checkConfChangeProposal(e *raftpb.Entry) error {
	if r.pendingConfIndex > r.raftLog.applied {
		return fmt.Errorf("%w: %w (pending at %d, applied %d)", ErrProposalDropped,
			ErrConfChangePending, r.pendingConfIndex, r.raftLog.applied)
	}
	var cc raftpb.ConfChange
	if err := cc.Unmarshal(e.Data); err != nil {
		return fmt.Errorf("%w: %w: %w", ErrProposalDropped, ErrConfChangeInvalid, err)
	}
	if err := confchange.Validate(r.trk.Config, cc); err != nil {
		return fmt.Errorf("%w: %w: %w", ErrProposalDropped, ErrConfChangeInvalid, err)
	}
	return nil
}

// handleAppendResponse updates the follower's progress from a MsgAppResp and
// sends what it needs next.
func (r *raft) handleAppendResponse(m raftpb.Message, pr *tracker.Progress) {
	pr.RecentActive = true
	if m.Reject {
		// Probe at the follower's hint; with a hint term, skip every entry
		// of ours whose term is larger than it (findConflictByTerm).
		next := m.RejectHint
		if m.LogTerm > 0 {
			next, _ = r.raftLog.findConflictByTerm(m.RejectHint, m.LogTerm)
		}
		if pr.MaybeDecrTo(m.Index, next) {
			if pr.State == tracker.StateReplicate {
				pr.BecomeProbe()
			}
			r.sendAppend(m.From)
		}
		return
	}
	if m.Index > r.raftLog.lastIndex() {
		// Nobody can hold entries this leader never had: a corrupt or
		// forged ack. Counting it could commit what nobody stored.
		r.logger.Warn("raft: ignoring an ack beyond the leader's log", "id", r.id, "from", m.From,
			"index", m.Index, "last", r.raftLog.lastIndex())
		return
	}
	wasPaused := pr.IsPaused()
	// An ack that teaches nothing new is stale or duplicated (the network
	// may reorder and duplicate) — except in probe, where an ack of exactly
	// Match still confirms where the logs match and ends the probe.
	if !pr.MaybeUpdate(m.Index) && !(pr.Match == m.Index && pr.State == tracker.StateProbe) {
		return
	}
	switch {
	case pr.State == tracker.StateProbe:
		pr.BecomeReplicate()
	case pr.State == tracker.StateSnapshot && pr.Match+1 >= r.raftLog.firstIndex():
		// The follower caught up through the snapshot: the log serves it now.
		pr.BecomeProbe()
		pr.BecomeReplicate()
	case pr.State == tracker.StateSnapshot && pr.Match >= pr.PendingSnapshot:
		// The snapshot arrived but the log was compacted past it since:
		// probe, which sends a newer snapshot. (Without this the follower
		// would wait for a ReportSnapshot the driver may never send.)
		pr.BecomeProbe()
	case pr.State == tracker.StateReplicate:
		pr.Inflights.FreeLE(m.Index)
	}
	// More may be committed now: tell everyone (the commit index travels in
	// MsgApp). Otherwise at least resume this follower if it was paused.
	if r.maybeCommit() {
		r.releasePendingReadIndexMessages()
		r.bcastAppend()
	} else if wasPaused {
		r.sendAppend(m.From)
	}
	// Stream whatever else the window allows.
	for r.maybeSendAppend(m.From, false) {
	}
	// A transfer target that has just caught up is told to campaign now.
	if m.From == r.leadTransferee && pr.Match == r.raftLog.lastIndex() {
		r.logger.Info("raft: transferee caught up, sending MsgTimeoutNow", "id", r.id, "to", m.From)
		r.send(raftpb.Message{To: m.From, Type: raftpb.MsgTimeoutNow})
	}
	r.maybeAutoPromote(m.From, pr)
}

// handleTransferLeader starts handing leadership to m.From.
func (r *raft) handleTransferLeader(m raftpb.Message, pr *tracker.Progress) {
	if pr.IsLearner {
		r.logger.Info("raft: ignoring leader transfer to a learner", "id", r.id, "to", m.From)
		return
	}
	transferee := m.From
	if last := r.leadTransferee; last != raftpb.None {
		if last == transferee {
			return // already in progress
		}
		r.abortLeaderTransfer()
	}
	if transferee == r.id {
		return
	}
	// The transfer must finish within an election timeout (tickHeartbeat).
	r.electionElapsed = 0
	r.leadTransferee = transferee
	if pr.Match == r.raftLog.lastIndex() {
		r.send(raftpb.Message{To: transferee, Type: raftpb.MsgTimeoutNow})
	} else {
		r.sendAppend(transferee)
	}
}

// maybeAutoPromote proposes promoting learner id once it is caught up (see
// Config.AutoPromoteLearners and AutoPromoteLag).
func (r *raft) maybeAutoPromote(id raftpb.NodeID, pr *tracker.Progress) {
	if !r.autoPromote || !pr.IsLearner || r.state != StateLeader || r.leadTransferee != raftpb.None {
		return
	}
	if pr.Match+AutoPromoteLag < r.raftLog.lastIndex() || r.pendingConfIndex > r.raftLog.applied {
		return
	}
	cc := raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: id}
	err := r.handlePropose(raftpb.Message{From: r.id, Type: raftpb.MsgProp,
		Entries: []raftpb.Entry{{Type: raftpb.EntryConfChange, Data: cc.Marshal()}}})
	if err != nil {
		r.logger.Info("raft: auto-promotion not proposed", "id", r.id, "learner", id, "err", err)
		return
	}
	r.logger.Info("raft: proposed auto-promotion of learner", "id", r.id, "learner", id)
}

// releasePendingReadIndexMessages serves the reads that waited for the
// leader's first commit in its term.
func (r *raft) releasePendingReadIndexMessages() {
	if len(r.pendingReadIndexMessages) == 0 || !r.committedEntryInCurrentTerm() {
		return
	}
	msgs := r.pendingReadIndexMessages
	r.pendingReadIndexMessages = nil
	for _, m := range msgs {
		r.serveReadIndex(m)
	}
}

// serveReadIndex answers a ReadIndex request at the current commit index:
// at once on a single-voter group or with a lease (ReadOnlyLeaseBased),
// otherwise after a heartbeat round acknowledged by a quorum. During a
// leadership transfer the lease is void (the transferee may win an election
// inside it), so reads take the heartbeat round then too.
func (r *raft) serveReadIndex(m raftpb.Message) {
	lease := r.readOnlyOption == ReadOnlyLeaseBased && r.leadTransferee == raftpb.None
	if r.trk.IsSingleton() || lease {
		r.respondReadIndex(m, r.raftLog.committed)
		return
	}
	r.readOnly.addRequest(r.raftLog.committed, m)
	// The leader acknowledges its own round.
	r.readOnly.recvAck(r.id, m.Context)
	r.bcastHeartbeat(m.Context)
}

// respondReadIndex answers req locally (a ReadState) or to the follower that
// forwarded it (MsgReadIndexResp).
func (r *raft) respondReadIndex(req raftpb.Message, index raftpb.Index) {
	if req.From == raftpb.None || req.From == r.id {
		r.readStates = append(r.readStates, ReadState{Index: index, RequestCtx: req.Context})
		return
	}
	r.send(raftpb.Message{To: req.From, Type: raftpb.MsgReadIndexResp, Index: index, Context: req.Context})
}
