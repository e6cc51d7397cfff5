// Package quorum holds the majority math of a single (non-joint) raft
// configuration: which index a quorum has acknowledged, and whether an
// election is won, lost or still open.
package quorum

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// MajorityConfig is a set of voters; a quorum is any strict majority of it.
type MajorityConfig map[raftpb.NodeID]struct{}

// NewMajorityConfig returns the configuration made of ids.
func NewMajorityConfig(ids ...raftpb.NodeID) MajorityConfig {
	c := MajorityConfig{}
	for _, id := range ids {
		c[id] = struct{}{}
	}
	return c
}

// IDs returns the voters in increasing order.
func (c MajorityConfig) IDs() []raftpb.NodeID {
	ids := make([]raftpb.NodeID, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (c MajorityConfig) String() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, id := range c.IDs() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d", uint64(id))
	}
	b.WriteByte(')')
	return b.String()
}

// AckedIndexer tells which log index a voter is known to hold durably.
type AckedIndexer interface {
	// AckedIndex returns the voter's acknowledged index, and false if
	// nothing is known about it (counted as index 0).
	AckedIndex(id raftpb.NodeID) (raftpb.Index, bool)
}

// CommittedIndex returns the largest index acknowledged by a majority of c:
// the value at position n/2 (0-based, from the top) of the sorted acked
// indexes. An empty configuration commits nothing (0): a group without voters
// cannot make progress, and removing the last voter is refused upstream.
func (c MajorityConfig) CommittedIndex(l AckedIndexer) raftpb.Index {
	n := len(c)
	if n == 0 {
		return 0
	}
	// Small stack buffer for the common sizes; sorted descending below.
	var stack [7]raftpb.Index
	srt := stack[:0]
	if n > len(stack) {
		srt = make([]raftpb.Index, 0, n)
	}
	for id := range c {
		idx, _ := l.AckedIndex(id)
		srt = append(srt, idx)
	}
	slices.Sort(srt)
	// Ascending order: the element at n - (n/2+1) is held by n/2+1 voters.
	return srt[n-(n/2+1)]
}

// VoteResult is the outcome of an election so far.
type VoteResult uint8

const (
	// VotePending: neither a quorum of yes nor a quorum of no votes yet.
	VotePending VoteResult = 1 + iota
	// VoteLost: a quorum voted no (or can no longer vote yes).
	VoteLost
	// VoteWon: a quorum voted yes.
	VoteWon
)

func (r VoteResult) String() string {
	switch r {
	case VotePending:
		return "VotePending"
	case VoteLost:
		return "VoteLost"
	case VoteWon:
		return "VoteWon"
	}
	return fmt.Sprintf("VoteResult(%d)", uint8(r))
}

// VoteResult tallies votes (true = granted) cast by members of c; votes of
// non-members are ignored, missing members are pending. An empty
// configuration never wins.
func (c MajorityConfig) VoteResult(votes map[raftpb.NodeID]bool) VoteResult {
	if len(c) == 0 {
		return VoteLost
	}
	var yes, missing int
	for id := range c {
		v, ok := votes[id]
		switch {
		case !ok:
			missing++
		case v:
			yes++
		}
	}
	q := len(c)/2 + 1
	if yes >= q {
		return VoteWon
	}
	if yes+missing >= q {
		return VotePending
	}
	return VoteLost
}
