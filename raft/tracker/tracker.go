package tracker

import (
	"slices"

	"github.com/shelf-kv/shelf/raft/quorum"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Config is a membership: the voters (whose majority decides) and the learners
// (who receive the log but do not vote).
// Invariant: Voters and Learners are disjoint.
type Config struct {
	Voters   quorum.MajorityConfig
	Learners map[raftpb.NodeID]struct{}
}

// Clone returns an independent copy of c.
func (c Config) Clone() Config {
	out := Config{Voters: quorum.MajorityConfig{}, Learners: map[raftpb.NodeID]struct{}{}}
	for id := range c.Voters {
		out.Voters[id] = struct{}{}
	}
	for id := range c.Learners {
		out.Learners[id] = struct{}{}
	}
	return out
}

// ProgressMap maps every member to its Progress.
type ProgressMap map[raftpb.NodeID]*Progress

// AckedIndex implements quorum.AckedIndexer with each member's Match.
func (m ProgressMap) AckedIndex(id raftpb.NodeID) (raftpb.Index, bool) {
	pr, ok := m[id]
	if !ok {
		return 0, false
	}
	return pr.Match, true
}

// ProgressTracker is the membership plus the Progress of every member and the
// votes of the current election.
// Invariant: Progress has exactly one entry per voter and learner.
type ProgressTracker struct {
	Config
	Progress ProgressMap
	// Votes records granted (true) and rejected (false) votes by node.
	Votes map[raftpb.NodeID]bool

	MaxInflight      int
	MaxInflightBytes uint64
}

// MakeProgressTracker returns an empty tracker whose Progress windows will be
// bounded by maxInflight messages and maxBytes bytes (0 = no byte limit).
func MakeProgressTracker(maxInflight int, maxBytes uint64) ProgressTracker {
	return ProgressTracker{
		Config:           Config{Voters: quorum.MajorityConfig{}, Learners: map[raftpb.NodeID]struct{}{}},
		Progress:         ProgressMap{},
		Votes:            map[raftpb.NodeID]bool{},
		MaxInflight:      maxInflight,
		MaxInflightBytes: maxBytes,
	}
}

// NewProgress returns a fresh Progress for a member, probing from next.
func (p *ProgressTracker) NewProgress(next raftpb.Index, isLearner bool) *Progress {
	return &Progress{
		Next:      max(next, 1),
		Inflights: NewInflights(p.MaxInflight, p.MaxInflightBytes),
		IsLearner: isLearner,
		// A new member counts as active so that adding it does not make a
		// leader step down at the next CheckQuorum before it is heard from.
		RecentActive: true,
	}
}

// ConfState returns the membership as a ConfState (sorted ids).
func (p *ProgressTracker) ConfState() raftpb.ConfState {
	cs := raftpb.ConfState{Voters: p.Voters.IDs()}
	if len(p.Learners) > 0 {
		cs.Learners = sortedIDs(p.Learners)
	}
	return cs
}

// IsSingleton reports whether the only voter is... a single voter.
func (p *ProgressTracker) IsSingleton() bool { return len(p.Voters) == 1 }

// Committed returns the largest index acknowledged (Match) by a quorum of voters.
func (p *ProgressTracker) Committed() raftpb.Index {
	return p.Voters.CommittedIndex(p.Progress)
}

// IDs returns every member (voters and learners) in increasing order, the
// order in which the leader visits followers (deterministic output).
func (p *ProgressTracker) IDs() []raftpb.NodeID {
	ids := make([]raftpb.NodeID, 0, len(p.Progress))
	for id := range p.Progress {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Visit calls f for every member in increasing id order.
func (p *ProgressTracker) Visit(f func(id raftpb.NodeID, pr *Progress)) {
	for _, id := range p.IDs() {
		f(id, p.Progress[id])
	}
}

// QuorumActive reports whether a quorum of voters was RecentActive.
func (p *ProgressTracker) QuorumActive() bool {
	votes := map[raftpb.NodeID]bool{}
	for id, pr := range p.Progress {
		if !pr.IsLearner {
			votes[id] = pr.RecentActive
		}
	}
	return p.Voters.VoteResult(votes) == quorum.VoteWon
}

// VoterNodes returns the voters in increasing order.
func (p *ProgressTracker) VoterNodes() []raftpb.NodeID { return p.Voters.IDs() }

// LearnerNodes returns the learners in increasing order (nil if none).
func (p *ProgressTracker) LearnerNodes() []raftpb.NodeID {
	if len(p.Learners) == 0 {
		return nil
	}
	return sortedIDs(p.Learners)
}

// ResetVotes forgets the votes of the previous election.
func (p *ProgressTracker) ResetVotes() { p.Votes = map[raftpb.NodeID]bool{} }

// RecordVote records id's vote, keeping the first one if id voted twice.
func (p *ProgressTracker) RecordVote(id raftpb.NodeID, granted bool) {
	if _, ok := p.Votes[id]; !ok {
		p.Votes[id] = granted
	}
}

// TallyVotes returns the granted and rejected votes of voters and the result.
func (p *ProgressTracker) TallyVotes() (granted, rejected int, result quorum.VoteResult) {
	for id := range p.Voters {
		v, voted := p.Votes[id]
		if !voted {
			continue
		}
		if v {
			granted++
		} else {
			rejected++
		}
	}
	return granted, rejected, p.Voters.VoteResult(p.Votes)
}

func sortedIDs(m map[raftpb.NodeID]struct{}) []raftpb.NodeID {
	ids := make([]raftpb.NodeID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
