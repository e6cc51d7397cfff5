// Package confchange validates and applies one-at-a-time membership changes
// (raftpb.ConfChange) to a tracker.ProgressTracker. There is no joint
// consensus: each change adds, promotes or removes exactly one member.
package confchange

import (
	"errors"
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/raft/tracker"
)

// ErrInvalid is wrapped by every error of this package.
var ErrInvalid = errors.New("confchange: invalid membership change")

// Validate reports whether cc may be applied to cfg. Changes that would leave
// the group without a voter, demote a voter directly to a learner (not
// supported without joint consensus: remove it, then add it as a learner),
// name node 0 or have an unknown type are refused. A change that is a no-op
// (adding an existing voter, removing a non-member) is valid.
func Validate(cfg tracker.Config, cc raftpb.ConfChange) error {
	if cc.NodeID == raftpb.None {
		return fmt.Errorf("%w: %s names node 0", ErrInvalid, cc.Type)
	}
	_, isVoter := cfg.Voters[cc.NodeID]
	switch cc.Type {
	case raftpb.ConfChangeAddNode:
		return nil
	case raftpb.ConfChangeAddLearnerNode:
		if isVoter {
			return fmt.Errorf("%w: cannot demote voter %d to learner in one step", ErrInvalid, cc.NodeID)
		}
		return nil
	case raftpb.ConfChangeRemoveNode:
		if isVoter && len(cfg.Voters) == 1 {
			return fmt.Errorf("%w: cannot remove %d, the last voter", ErrInvalid, cc.NodeID)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown change type %d", ErrInvalid, uint8(cc.Type))
}

// Apply validates cc and applies it to trk. A new member's Progress starts
// probing at next (the leader's last index + 1). On error trk is unchanged.
func Apply(trk *tracker.ProgressTracker, cc raftpb.ConfChange, next raftpb.Index) error {
	if err := Validate(trk.Config, cc); err != nil {
		return err
	}
	id := cc.NodeID
	_, isVoter := trk.Voters[id]
	_, isLearner := trk.Learners[id]
	switch cc.Type {
	case raftpb.ConfChangeAddNode:
		switch {
		case isVoter:
		case isLearner:
			delete(trk.Learners, id)
			trk.Voters[id] = struct{}{}
			trk.Progress[id].IsLearner = false
		default:
			trk.Voters[id] = struct{}{}
			trk.Progress[id] = trk.NewProgress(next, false)
		}
	case raftpb.ConfChangeAddLearnerNode:
		if !isLearner {
			trk.Learners[id] = struct{}{}
			trk.Progress[id] = trk.NewProgress(next, true)
		}
	case raftpb.ConfChangeRemoveNode:
		delete(trk.Voters, id)
		delete(trk.Learners, id)
		delete(trk.Progress, id)
	}
	return nil
}

// Restore rebuilds trk's membership from cs (a snapshot's or the bootstrap
// ConfState), with every Progress probing from next. Joint states
// (VotersOutgoing, LearnersNext) are not supported and are an error, as is a
// node listed both as voter and learner.
func Restore(trk *tracker.ProgressTracker, cs raftpb.ConfState, next raftpb.Index) error {
	if len(cs.VotersOutgoing) > 0 || len(cs.LearnersNext) > 0 || cs.AutoLeave {
		return fmt.Errorf("%w: joint configuration %v not supported", ErrInvalid, cs)
	}
	fresh := tracker.MakeProgressTracker(trk.MaxInflight, trk.MaxInflightBytes)
	for _, id := range cs.Voters {
		if id == raftpb.None {
			return fmt.Errorf("%w: voter 0 in %v", ErrInvalid, cs)
		}
		fresh.Voters[id] = struct{}{}
		fresh.Progress[id] = fresh.NewProgress(next, false)
	}
	for _, id := range cs.Learners {
		if _, ok := fresh.Voters[id]; ok || id == raftpb.None {
			return fmt.Errorf("%w: learner %d is also a voter (or 0) in %v", ErrInvalid, id, cs)
		}
		fresh.Learners[id] = struct{}{}
		fresh.Progress[id] = fresh.NewProgress(next, true)
	}
	*trk = fresh
	return nil
}
