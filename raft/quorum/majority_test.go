package quorum

import (
	"slices"
	"testing"
	"testing/quick"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

type mapAcks map[raftpb.NodeID]raftpb.Index

func (m mapAcks) AckedIndex(id raftpb.NodeID) (raftpb.Index, bool) {
	v, ok := m[id]
	return v, ok
}

// refCommitted is the deliberately simple reference: the largest index i such
// that a strict majority of voters acked at least i (0 if none).
func refCommitted(voters []raftpb.NodeID, acks mapAcks) raftpb.Index {
	if len(voters) == 0 {
		return 0
	}
	var best raftpb.Index
	for _, cand := range acks {
		n := 0
		for _, v := range voters {
			if acks[v] >= cand {
				n++
			}
		}
		if n > len(voters)/2 && cand > best {
			best = cand
		}
	}
	return best
}

// refVote is the reference tally.
func refVote(voters []raftpb.NodeID, votes map[raftpb.NodeID]bool) VoteResult {
	if len(voters) == 0 {
		return VoteLost
	}
	yes, no := 0, 0
	for _, v := range voters {
		if g, ok := votes[v]; ok {
			if g {
				yes++
			} else {
				no++
			}
		}
	}
	q := len(voters)/2 + 1
	switch {
	case yes >= q:
		return VoteWon
	case len(voters)-no >= q:
		return VotePending
	}
	return VoteLost
}

// genCase derives a small configuration and acks/votes from quick's inputs
// (ids 1..9, indexes 0..15, some voters missing from the acks).
func genCase(idBits uint16, idx []uint8, voteBits, presentBits uint16) ([]raftpb.NodeID, mapAcks, map[raftpb.NodeID]bool) {
	var voters []raftpb.NodeID
	for i := range 9 {
		if idBits&(1<<i) != 0 {
			voters = append(voters, raftpb.NodeID(i+1))
		}
	}
	acks := mapAcks{}
	votes := map[raftpb.NodeID]bool{}
	for i, v := range voters {
		if presentBits&(1<<i) == 0 {
			continue
		}
		var x uint8
		if i < len(idx) {
			x = idx[i] % 16
		}
		acks[v] = raftpb.Index(x)
		votes[v] = voteBits&(1<<i) != 0
	}
	// A non-voter's ack or vote must be ignored.
	acks[42] = 1000
	votes[42] = true
	return voters, acks, votes
}

func TestCommittedIndexMatchesReference(t *testing.T) {
	f := func(idBits uint16, idx []uint8, voteBits, presentBits uint16) bool {
		voters, acks, _ := genCase(idBits, idx, voteBits, presentBits)
		got := NewMajorityConfig(voters...).CommittedIndex(acks)
		// A missing voter counts as index 0 in both.
		want := refCommitted(voters, withZeros(voters, acks))
		if got != want {
			t.Logf("voters=%v acks=%v got=%d want=%d", voters, acks, got, want)
		}
		return got == want
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000}); err != nil {
		t.Fatal(err)
	}
}

func withZeros(voters []raftpb.NodeID, acks mapAcks) mapAcks {
	out := mapAcks{}
	for _, v := range voters {
		out[v] = acks[v]
	}
	return out
}

func TestVoteResultMatchesReference(t *testing.T) {
	f := func(idBits uint16, idx []uint8, voteBits, presentBits uint16) bool {
		voters, _, votes := genCase(idBits, idx, voteBits, presentBits)
		got := NewMajorityConfig(voters...).VoteResult(votes)
		want := refVote(voters, votes)
		if got != want {
			t.Logf("voters=%v votes=%v got=%s want=%s", voters, votes, got, want)
		}
		return got == want
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000}); err != nil {
		t.Fatal(err)
	}
}

func TestMajorityTable(t *testing.T) {
	c := NewMajorityConfig(1, 2, 3)
	for _, tc := range []struct {
		acks mapAcks
		want raftpb.Index
	}{
		{mapAcks{1: 5, 2: 5, 3: 5}, 5},
		{mapAcks{1: 5, 2: 3}, 3},
		{mapAcks{1: 5}, 0},
		{mapAcks{1: 9, 2: 1, 3: 7}, 7},
	} {
		if got := c.CommittedIndex(tc.acks); got != tc.want {
			t.Errorf("CommittedIndex(%v) = %d, want %d", tc.acks, got, tc.want)
		}
	}
	if got := NewMajorityConfig().CommittedIndex(mapAcks{}); got != 0 {
		t.Errorf("empty config commits %d, want 0", got)
	}
	if got := c.String(); got != "(1 2 3)" {
		t.Errorf("String() = %q", got)
	}
	if ids := NewMajorityConfig(3, 1, 2).IDs(); !slices.Equal(ids, []raftpb.NodeID{1, 2, 3}) {
		t.Errorf("IDs() = %v", ids)
	}
	// Large configurations use the heap path.
	big := NewMajorityConfig(1, 2, 3, 4, 5, 6, 7, 8, 9)
	acks := mapAcks{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9}
	if got := big.CommittedIndex(acks); got != 5 {
		t.Errorf("9 voters: committed %d, want 5", got)
	}
}
