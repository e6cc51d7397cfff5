package raft

import (
	"errors"
	"fmt"

	"github.com/shelf-kv/shelf/raft/confchange"
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/raft/tracker"
)

// campaignType says why a node campaigns.
type campaignType uint8

const (
	campaignPreElection campaignType = iota // PreVote phase first
	campaignElection                        // a normal election
	campaignTransfer                        // asked by the leader (MsgTimeoutNow)
)

// campaignTransferCtx is the Context of a MsgVote sent because of a leader
// transfer; voters grant it even inside a leader lease.
var campaignTransferCtx = []byte("CampaignTransfer")

// stepFunc is the role-specific half of Step (step_leader.go, ...).
type stepFunc func(r *raft, m raftpb.Message) error

// raft is the protocol state of one node. RawNode wraps it with the
// Ready/Advance handshake.
//
// Invariant: lead == id iff state == StateLeader.
// Invariant: Vote is only ever set for the current Term.
type raft struct {
	id   raftpb.NodeID
	Term raftpb.Term
	Vote raftpb.NodeID

	raftLog *raftLog
	trk     tracker.ProgressTracker
	state   StateType
	// isLearner is true while this node is a learner in its own config.
	isLearner bool
	lead      raftpb.NodeID
	// leadTransferee is the target of a transfer in progress (leader only).
	leadTransferee raftpb.NodeID
	// pendingConfIndex is the index of the last conf change the leader
	// appended (or its last index at election); a new one is accepted only
	// once applied >= pendingConfIndex.
	pendingConfIndex raftpb.Index
	// uncommittedSize is the payload size of the leader's uncommitted tail.
	uncommittedSize uint64

	msgs       []raftpb.Message
	readStates []ReadState
	readOnly   *readOnly
	// pendingReadIndexMessages wait until the leader commits in its term.
	pendingReadIndexMessages []raftpb.Message

	// electionElapsed counts ticks since the last election timeout reset
	// (followers, candidates) or the last CheckQuorum (leaders).
	electionElapsed  int
	heartbeatElapsed int
	// randomizedElectionTimeout is drawn from [electionTimeout, 2*electionTimeout).
	randomizedElectionTimeout int

	electionTimeout  int
	heartbeatTimeout int
	maxMsgSize       uint64
	maxUncommitted   uint64
	checkQuorum      bool
	preVote          bool
	readOnlyOption   ReadOnlyOption
	autoPromote      bool
	knobs            TestingKnobs
	rand             RandSource
	logger           Logger

	tick func()
	step stepFunc
}

// newRaft builds a node from c (already validated) and its Storage: the log is
// what storage holds (all of it stable), the membership is the storage's
// ConfState, the term, vote and commit index are its HardState, and the node
// starts as a follower with no known leader. Inconsistent persisted state
// (a commit index outside the log, Applied beyond the commit) is an error.
//
// It also returns the HardState as persisted: where the node's differs (a
// raised term or commit), the first Ready reports the difference, so that the
// driver persists it by the usual MustSync rule.
func newRaft(c *Config) (*raft, raftpb.HardState, error) {
	rlog, err := newLog(c.Storage, c.MaxCommittedSizePerReady)
	if err != nil {
		return nil, raftpb.HardState{}, err
	}
	hs, cs, err := c.Storage.InitialState()
	if err != nil {
		return nil, hs, fmt.Errorf("raft: Storage.InitialState: %w", err)
	}
	r := &raft{
		id:               c.ID,
		raftLog:          rlog,
		trk:              tracker.MakeProgressTracker(c.MaxInflightMsgs, c.MaxInflightBytes),
		lead:             raftpb.None,
		electionTimeout:  c.ElectionTick,
		heartbeatTimeout: c.HeartbeatTick,
		maxMsgSize:       c.MaxSizePerMsg,
		maxUncommitted:   c.MaxUncommittedEntriesSize,
		checkQuorum:      !c.DisableCheckQuorum,
		preVote:          !c.DisablePreVote,
		readOnlyOption:   c.ReadOnlyOption,
		readOnly:         newReadOnly(c.ReadOnlyOption),
		autoPromote:      c.AutoPromoteLearners,
		knobs:            c.TestingKnobs,
		rand:             c.Rand,
		logger:           c.Logger,
	}
	if err := confchange.Restore(&r.trk, cs, rlog.lastIndex()+1); err != nil {
		return nil, hs, fmt.Errorf("raft: initial ConfState from storage: %w", err)
	}
	r.refreshSelfRole()
	if !hs.IsEmpty() {
		if hs.Commit > rlog.lastIndex() {
			// Entries the node knew committed are missing: persisted
			// state was lost, which raft cannot repair.
			return nil, hs, fmt.Errorf("raft: persisted commit %d is beyond the persisted log (last index %d)",
				hs.Commit, rlog.lastIndex())
		}
		// A commit index below the snapshot is stale, not wrong: a
		// commit-only HardState need not be fsynced (Ready.MustSync), while
		// the snapshot (of committed, applied state) was. Keep the larger.
		rlog.committed = max(rlog.committed, hs.Commit)
		r.Term = hs.Term
		r.Vote = hs.Vote
	}
	if lt := rlog.lastTerm(); r.Term < lt {
		// A log can hold entries of a term above the persisted one after
		// bootstrapping (a snapshot of term 1 with an empty HardState) or
		// a torn write (a Ready's entries persisted, its HardState not).
		// A node's term is never below its log's, or checks such as "the
		// leader committed an entry of its own term" would be fooled;
		// raising the term (with no vote) is always safe, and the first
		// Ready reports it for persisting (see NewRawNode).
		r.Term, r.Vote = lt, raftpb.None
	}
	if c.Applied > rlog.committed {
		return nil, hs, fmt.Errorf("%w: Applied %d is beyond the persisted commit index %d",
			ErrInvalidConfig, c.Applied, rlog.committed)
	}
	rlog.appliedTo(c.Applied) // below the snapshot index: stays at the snapshot
	if err := r.replayConfChanges(); err != nil {
		return nil, hs, err
	}
	r.becomeFollower(r.Term, raftpb.None)
	r.logger.Info("raft: node started", "id", r.id, "term", r.Term, "commit", rlog.committed,
		"applied", rlog.applied, "last", rlog.lastIndex(), "voters", r.trk.Voters.String())
	return r, hs, nil
}

// hardState is what must survive a crash: term, vote, commit index.
func (r *raft) hardState() raftpb.HardState {
	return raftpb.HardState{Term: r.Term, Vote: r.Vote, Commit: r.raftLog.committed}
}

// softState is the volatile role and leader, reported in Ready when it changes.
func (r *raft) softState() SoftState { return SoftState{Lead: r.lead, RaftState: r.state} }

// send queues m for the next Ready, stamping From and Term. Vote messages and
// their responses carry their own Term (a pre-vote is for Term+1); MsgProp
// and MsgReadIndex forwarded to the leader carry none (they are handled like
// local messages there).
func (r *raft) send(m raftpb.Message) {
	if m.From == raftpb.None {
		m.From = r.id
	}
	switch m.Type {
	case raftpb.MsgVote, raftpb.MsgVoteResp, raftpb.MsgPreVote, raftpb.MsgPreVoteResp:
		if m.Term == 0 {
			panic(fmt.Sprintf("raft: %s sent without a term", m.Type))
		}
	case raftpb.MsgProp, raftpb.MsgReadIndex:
		m.Term = 0
	default:
		m.Term = r.Term
	}
	r.msgs = append(r.msgs, m)
}

// promotable reports whether this node may campaign: it is a voter in its
// own configuration and is not installing a snapshot.
func (r *raft) promotable() bool {
	pr := r.trk.Progress[r.id]
	return pr != nil && !pr.IsLearner && !r.raftLog.hasPendingSnapshot()
}

// refreshSelfRole recomputes isLearner from the configuration.
func (r *raft) refreshSelfRole() {
	pr := r.trk.Progress[r.id]
	r.isLearner = pr != nil && pr.IsLearner
}

// reset prepares the node for a new role in term: a new term forgets the
// vote; every role change forgets the leader, restarts the timers with a
// fresh random election timeout, aborts a transfer, forgets votes and
// pending reads, and resets every Progress to probe from our last index.
func (r *raft) reset(term raftpb.Term) {
	if r.Term != term {
		r.Term = term
		r.Vote = raftpb.None
	}
	r.lead = raftpb.None
	r.electionElapsed = 0
	r.heartbeatElapsed = 0
	r.resetRandomizedElectionTimeout()
	r.abortLeaderTransfer()
	r.trk.ResetVotes()
	last := r.raftLog.lastIndex()
	r.trk.Visit(func(id raftpb.NodeID, pr *tracker.Progress) {
		*pr = tracker.Progress{
			Next:      last + 1,
			Inflights: tracker.NewInflights(r.trk.MaxInflight, r.trk.MaxInflightBytes),
			IsLearner: pr.IsLearner,
		}
		if id == r.id {
			// Only what is persisted counts toward commitment (contract 1).
			pr.Match = r.raftLog.stableIndex()
		}
	})
	r.pendingConfIndex = 0
	r.uncommittedSize = 0
	r.readOnly = newReadOnly(r.readOnlyOption)
	r.pendingReadIndexMessages = nil
}

// resetRandomizedElectionTimeout draws the next election timeout uniformly
// from [electionTimeout, 2*electionTimeout) from the seeded Config.Rand, so
// that members rarely time out together (split votes) and a simulation
// replays exactly.
func (r *raft) resetRandomizedElectionTimeout() {
	r.randomizedElectionTimeout = r.electionTimeout + int(r.rand.Uint64()%uint64(r.electionTimeout))
}

// pastElectionTimeout reports whether a follower or candidate has waited its
// randomized election timeout without hearing from a leader.
func (r *raft) pastElectionTimeout() bool {
	return r.electionElapsed >= r.randomizedElectionTimeout
}

// becomeFollower follows lead (None if unknown) in term.
func (r *raft) becomeFollower(term raftpb.Term, lead raftpb.NodeID) {
	r.step = stepFollower
	r.reset(term)
	r.tick = r.tickElection
	r.lead = lead
	r.state = StateFollower
	r.logger.Debug("raft: became follower", "id", r.id, "term", r.Term, "lead", lead)
}

// becomeCandidate starts an election: a new term, with our own vote (both
// persisted, through Ready's HardState, before any MsgVote is sent).
func (r *raft) becomeCandidate() {
	if r.state == StateLeader {
		panic("raft: invalid transition leader -> candidate")
	}
	r.step = stepCandidate
	r.reset(r.Term + 1)
	r.tick = r.tickElection
	r.Vote = r.id
	r.state = StateCandidate
	r.logger.Debug("raft: became candidate", "id", r.id, "term", r.Term)
}

// becomePreCandidate starts a pre-election: no term change, no vote cast.
func (r *raft) becomePreCandidate() {
	if r.state == StateLeader {
		panic("raft: invalid transition leader -> pre-candidate")
	}
	r.step = stepCandidate
	r.trk.ResetVotes()
	r.tick = r.tickElection
	r.lead = raftpb.None
	r.state = StatePreCandidate
	r.logger.Debug("raft: became pre-candidate", "id", r.id, "term", r.Term)
}

// becomeLeader takes office: every follower is probed from our last index,
// our own Match is only what is persisted, and the term's first entry is an
// EntryEmpty no-op whose commitment commits every earlier entry (a leader
// cannot commit entries of earlier terms by counting them).
func (r *raft) becomeLeader() {
	if r.state == StateFollower {
		panic("raft: invalid transition follower -> leader")
	}
	r.step = stepLeader
	r.reset(r.Term)
	r.tick = r.tickHeartbeat
	r.lead = r.id
	r.state = StateLeader
	if pr := r.trk.Progress[r.id]; pr != nil {
		pr.BecomeReplicate()
		pr.Match = r.raftLog.stableIndex()
		pr.Next = r.raftLog.lastIndex() + 1
		pr.RecentActive = true
	}
	// Conf changes are refused until everything up to here is applied,
	// which includes the no-op below: the "commit in your own term first"
	// rule of one-at-a-time membership change.
	r.pendingConfIndex = r.raftLog.lastIndex() + 1
	if !r.appendEntry(raftpb.Entry{Type: raftpb.EntryEmpty}) {
		panic("raft: the empty entry of a new leader was refused")
	}
	r.logger.Info("raft: became leader", "id", r.id, "term", r.Term)
}

// appendEntry appends ents (terms and indexes are assigned here) to the
// leader's log. It returns false, appending nothing, if the uncommitted cap
// would be exceeded.
func (r *raft) appendEntry(ents ...raftpb.Entry) bool {
	li := r.raftLog.lastIndex()
	for i := range ents {
		ents[i].Term = r.Term
		ents[i].Index = li + 1 + raftpb.Index(i)
	}
	if !r.increaseUncommittedSize(ents) {
		return false
	}
	r.raftLog.append(ents...)
	// The leader's own Match does NOT advance here: see Advance.
	return true
}

// increaseUncommittedSize accounts for ents in the uncommitted cap. A proposal
// is always allowed when nothing is uncommitted, so that a single entry
// larger than the cap can still make progress.
func (r *raft) increaseUncommittedSize(ents []raftpb.Entry) bool {
	s := payloadSize(ents)
	if r.maxUncommitted > 0 && s > 0 && r.uncommittedSize > 0 && r.uncommittedSize+s > r.maxUncommitted {
		return false
	}
	r.uncommittedSize += s
	return true
}

// reduceUncommittedSize releases the payload of committed entries.
func (r *raft) reduceUncommittedSize(s uint64) {
	if s > r.uncommittedSize {
		r.uncommittedSize = 0
	} else {
		r.uncommittedSize -= s
	}
}

// maybeCommit advances the commit index to what a quorum has persisted, if
// that entry is of the current term (Figure 8) — unless the testing knob
// CommitPreviousTermByCount injects the bug.
func (r *raft) maybeCommit() bool {
	mci := r.trk.Committed()
	if r.knobs.CommitPreviousTermByCount {
		if mci > r.raftLog.committed && mci <= r.raftLog.lastIndex() {
			r.raftLog.commitTo(mci)
			return true
		}
		return false
	}
	return r.raftLog.maybeCommit(mci, r.Term)
}

// committedEntryInCurrentTerm reports whether the leader has committed an
// entry of its own term (required before serving ReadIndex).
func (r *raft) committedEntryInCurrentTerm() bool {
	return r.raftLog.termOrZero(r.raftLog.committed) == r.Term
}

// abortLeaderTransfer forgets a transfer in progress; proposals resume.
func (r *raft) abortLeaderTransfer() { r.leadTransferee = raftpb.None }

// hasUnappliedConfChanges reports whether a committed conf change is not yet
// applied; a node does not campaign then, since its configuration is stale.
func (r *raft) hasUnappliedConfChanges() bool {
	if r.raftLog.applied >= r.raftLog.committed {
		return false
	}
	lo, hi := r.raftLog.applied+1, r.raftLog.committed+1
	if lo >= hi {
		return false
	}
	ents, err := r.raftLog.slice(lo, hi, noLimit)
	if err != nil {
		if errors.Is(err, ErrCompacted) {
			return false
		}
		panic(fmt.Sprintf("raft: reading unapplied entries: %v", err))
	}
	for i := range ents {
		if ents[i].Type == raftpb.EntryConfChange {
			return true
		}
	}
	return false
}

// replayConfChanges re-applies to the membership the conf changes between the
// storage's snapshot and Applied: InitialState's ConfState is the membership
// as of the snapshot, while the application already applied (and will not
// re-apply) the entries up to Applied.
func (r *raft) replayConfChanges() error {
	lo, hi := r.raftLog.firstIndex(), r.raftLog.applied+1
	if lo >= hi {
		return nil
	}
	ents, err := r.raftLog.storage.Entries(lo, hi, noLimit)
	if err != nil {
		return fmt.Errorf("raft: reading applied entries [%d, %d) to replay membership changes: %w", lo, hi, err)
	}
	for i := range ents {
		if ents[i].Type != raftpb.EntryConfChange {
			continue
		}
		var cc raftpb.ConfChange
		if err := cc.Unmarshal(ents[i].Data); err != nil {
			return fmt.Errorf("raft: conf change entry %d: %w", ents[i].Index, err)
		}
		// Invalid changes were skipped when first applied: skip them again.
		_ = confchange.Apply(&r.trk, cc, r.raftLog.lastIndex()+1)
	}
	r.refreshSelfRole()
	return nil
}
