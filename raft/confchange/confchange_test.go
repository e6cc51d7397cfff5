package confchange

import (
	"errors"
	"slices"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/raft/tracker"
)

func newTracker(t *testing.T, voters, learners []raftpb.NodeID) *tracker.ProgressTracker {
	t.Helper()
	trk := tracker.MakeProgressTracker(4, 0)
	if err := Restore(&trk, raftpb.ConfState{Voters: voters, Learners: learners}, 10); err != nil {
		t.Fatal(err)
	}
	return &trk
}

func ids(v ...raftpb.NodeID) []raftpb.NodeID { return v }

func TestApplySequence(t *testing.T) {
	trk := newTracker(t, ids(1, 2, 3), nil)
	steps := []struct {
		cc       raftpb.ConfChange
		voters   []raftpb.NodeID
		learners []raftpb.NodeID
		err      bool
	}{
		{raftpb.ConfChange{Type: raftpb.ConfChangeAddLearnerNode, NodeID: 4}, ids(1, 2, 3), ids(4), false},
		{raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: 4}, ids(1, 2, 3, 4), nil, false}, // promotion
		{raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: 4}, ids(1, 2, 3, 4), nil, false}, // no-op
		{raftpb.ConfChange{Type: raftpb.ConfChangeAddLearnerNode, NodeID: 4}, ids(1, 2, 3, 4), nil, true},
		{raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode, NodeID: 2}, ids(1, 3, 4), nil, false},
		{raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode, NodeID: 9}, ids(1, 3, 4), nil, false}, // no-op
		{raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: 0}, ids(1, 3, 4), nil, true},
		{raftpb.ConfChange{Type: 7, NodeID: 5}, ids(1, 3, 4), nil, true},
	}
	for i, s := range steps {
		err := Apply(trk, s.cc, 20)
		if (err != nil) != s.err || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Fatalf("step %d (%v): err = %v", i, s.cc, err)
		}
		cs := trk.ConfState()
		if !slices.Equal(cs.Voters, s.voters) || !slices.Equal(cs.Learners, s.learners) {
			t.Fatalf("step %d (%v): got %v / %v, want %v / %v", i, s.cc, cs.Voters, cs.Learners, s.voters, s.learners)
		}
		if len(trk.Progress) != len(s.voters)+len(s.learners) {
			t.Fatalf("step %d: %d progresses for %d members", i, len(trk.Progress), len(s.voters)+len(s.learners))
		}
	}
	if pr := trk.Progress[4]; pr.IsLearner || pr.Next != 20 {
		t.Fatalf("promoted learner progress: %s", pr)
	}
}

func TestCannotRemoveLastVoter(t *testing.T) {
	trk := newTracker(t, ids(1), ids(2))
	err := Apply(trk, raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode, NodeID: 1}, 5)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("removing the last voter: %v", err)
	}
	// Removing a learner of a single-voter group is fine.
	if err := Apply(trk, raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode, NodeID: 2}, 5); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreRejectsJointAndOverlap(t *testing.T) {
	trk := tracker.MakeProgressTracker(4, 0)
	for _, cs := range []raftpb.ConfState{
		{Voters: ids(1), VotersOutgoing: ids(2)},
		{Voters: ids(1, 2), Learners: ids(2)},
		{Voters: ids(0)},
	} {
		if err := Restore(&trk, cs, 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("Restore(%+v) = %v", cs, err)
		}
	}
}
