package rafttest

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/shelf-kv/shelf/raft"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// clients is the simulation's view of the world outside raft: client
// proposals and reads, and the membership as the committed log defines it.
type clients struct {
	// conf is the membership after the newest conf change applied anywhere
	// (the committed log's membership); confAt maps each applied conf change
	// index to the ConfState the first applier got, to cross-check the others.
	conf      raftpb.ConfState
	confIndex raftpb.Index
	confAt    map[raftpb.Index]string
	// nextID is the id of the next member to add; ids are never reused.
	nextID raftpb.NodeID
	// confBusyUntil holds back new membership proposals after one was made.
	confBusyUntil int

	propSeq uint64
	props   map[uint64]*proposal
	// maxAck is the highest index at which a proposal was acknowledged
	// (applied on its proposer).
	maxAck  raftpb.Index
	readSeq uint64
	reads   map[string]readReq
}

// proposal is one client write (or membership change); its payload is unique.
type proposal struct {
	proposer raftpb.NodeID
	acked    bool
	index    raftpb.Index
	// refused is the error Propose returned: raft promised the proposal was
	// certainly not appended, so it must never be applied.
	refused error
}

// readReq is one ReadIndex request.
type readReq struct {
	node raftpb.NodeID
	// minIndex is the highest acknowledged write when the read was issued:
	// a linearizable read index must be at least this.
	minIndex raftpb.Index
	step     int
}

func (c *clients) init() {
	c.confAt = map[raftpb.Index]string{}
	c.props = map[uint64]*proposal{}
	c.reads = map[string]readReq{}
}

// proposalData is the payload of proposal seq: "p<seq>." and padding.
func proposalData(seq uint64, pad int) []byte {
	b := strconv.AppendUint([]byte{'p'}, seq, 10)
	b = append(b, '.')
	for range pad {
		b = append(b, 'x')
	}
	return b
}

func parseProposal(data []byte) (uint64, bool) {
	if len(data) < 3 || data[0] != 'p' {
		return 0, false
	}
	for i := 1; i < len(data); i++ {
		if data[i] == '.' {
			seq, err := strconv.ParseUint(string(data[1:i]), 10, 64)
			return seq, err == nil
		}
	}
	return 0, false
}

// propose makes a client proposal at n. It returns the sequence number, or
// 0 and the error if raft refused it.
func (s *sim) propose(n *node) (uint64, error) {
	s.propSeq++
	seq := s.propSeq
	err := n.rn.Propose(proposalData(seq, s.rng.IntN(s.prof.maxPayload+1)))
	if err != nil {
		s.note(n.id, "propose p%d refused: %v", seq, err)
		s.props[seq] = &proposal{proposer: n.id, refused: err}
		return 0, err
	}
	s.props[seq] = &proposal{proposer: n.id}
	s.res.Proposals++
	s.note(n.id, "propose p%d", seq)
	return seq, nil
}

// proposalApplied is called when n applies proposal seq at index.
func (s *sim) proposalApplied(n *node, seq uint64, index raftpb.Index) {
	p, ok := s.props[seq]
	if !ok {
		s.failf(InvLibrary, "member %d applied proposal p%d at %d that no client made", n.id, seq, index)
		return
	}
	if p.refused != nil {
		s.failf(InvLibrary, "member %d applied proposal p%d at %d, but Propose refused it at member %d (%v): it was certainly not to be appended",
			n.id, seq, index, p.proposer, p.refused)
		return
	}
	if p.proposer != n.id || p.acked {
		return
	}
	p.acked, p.index = true, index
	s.res.Acked++
	if index > s.maxAck {
		s.maxAck = index
	}
}

// readIndex issues a ReadIndex request at n.
func (s *sim) readIndex(n *node) {
	s.readSeq++
	ctx := "r" + strconv.FormatUint(s.readSeq, 10)
	s.reads[ctx] = readReq{node: n.id, minIndex: s.maxAck, step: s.step}
	if s.opts.LocalReads {
		s.readAnswered(n, raft.ReadState{Index: n.hs.Commit, RequestCtx: []byte(ctx)})
		return
	}
	n.rn.ReadIndex([]byte(ctx))
}

// readAnswered checks a ReadState: it must belong to a request made at n and
// cover every write acknowledged before that request.
func (s *sim) readAnswered(n *node, rs raft.ReadState) {
	r, ok := s.reads[string(rs.RequestCtx)]
	switch {
	case !ok:
		s.failf(InvLibrary, "member %d got a ReadState for unknown request %q", n.id, rs.RequestCtx)
	case r.node != n.id:
		s.failf(InvLibrary, "member %d got the ReadState of request %q made at member %d", n.id, rs.RequestCtx, r.node)
	case rs.Index < r.minIndex:
		s.failf(InvLinearizableRead, "read %q at member %d (issued at step %d) got read index %d, but a write acknowledged before it is at index %d",
			rs.RequestCtx, n.id, r.step, rs.Index, r.minIndex)
	default:
		s.res.Reads++
	}
}

// proposeConfChange proposes a random membership change that keeps the
// cluster within bounds: at most Nodes+1 voters, at least max(2, Nodes-2),
// at most Nodes+2 members in all.
func (s *sim) proposeConfChange(at *node) {
	voters, learners := s.conf.Voters, s.conf.Learners
	n := s.opts.Nodes
	var choices []raftpb.ConfChange
	if len(voters)+len(learners) < n+2 {
		choices = append(choices, raftpb.ConfChange{Type: raftpb.ConfChangeAddLearnerNode, NodeID: s.nextID})
		if len(voters) < n+1 {
			choices = append(choices, raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: s.nextID})
		}
	}
	if len(learners) > 0 {
		l := learners[s.rng.IntN(len(learners))]
		choices = append(choices, raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode, NodeID: l})
		if len(voters) < n+1 {
			choices = append(choices, raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: l}, raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: l})
		}
	}
	if len(voters) > max(2, n-2) {
		victim := voters[s.rng.IntN(len(voters))]
		if at.state == raft.StateLeader && s.rng.IntN(3) == 0 {
			victim = at.id // remove the leader itself
		}
		choices = append(choices, raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode, NodeID: victim})
	}
	if len(choices) == 0 {
		return
	}
	cc := choices[s.rng.IntN(len(choices))]
	if cc.NodeID == s.nextID {
		s.nextID++ // never reuse an id, even if this proposal is dropped
	}
	s.propSeq++
	cc.Context = proposalData(s.propSeq, 0)
	err := at.rn.ProposeConfChange(cc)
	s.props[s.propSeq] = &proposal{proposer: at.id, refused: err}
	s.note(at.id, "propose conf change %s (c%d): err=%v", cc, s.propSeq, err)
	if err == nil {
		s.confBusyUntil = s.step + 4*s.prof.electionTick
	}
}

// confApplied is called when n applies a conf change at index. The first
// application of an index defines the committed membership; members added
// by it come into existence (empty disk), members removed by it are stopped
// a little later.
func (s *sim) confApplied(n *node, index raftpb.Index, cc raftpb.ConfChange, cs raftpb.ConfState) {
	key := confKey(cs)
	if prev, ok := s.confAt[index]; ok {
		if prev != key {
			s.failf(InvStateMachine, "member %d applied conf change %s at %d and got membership %s, another member got %s",
				n.id, cc, index, key, prev)
		}
		return
	}
	s.confAt[index] = key
	if index < s.confIndex {
		s.failf(InvApplyOrder, "conf change at %d first applied after the one at %d", index, s.confIndex)
		return
	}
	s.conf, s.confIndex = cs, index
	s.confBusyUntil = 0
	s.res.ConfChanges++
	s.note(n.id, "conf change %s applied at %d: %s", cc, index, key)
	switch cc.Type {
	case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
		m, ok := s.nodes[cc.NodeID]
		switch {
		case !ok && cc.NodeID != raftpb.None:
			m = s.addNode(cc.NodeID)
			if err := m.start(); err != nil {
				s.failf(InvLibrary, "starting new member %d: %v", cc.NodeID, err)
			}
		case ok && m.removed:
			// Added back after its removal (a promotion proposed before the
			// removal committed after it): the operator restarts it with
			// its data intact.
			m.removed = false
			if !m.up {
				m.restartAt = s.step
			}
		}
	case raftpb.ConfChangeRemoveNode:
		if m, ok := s.nodes[cc.NodeID]; ok && !m.removed {
			m.removed = true
			m.stopAt = s.step + s.rng.IntN(3*s.prof.electionTick)
			if s.aux.IntN(2) == 0 {
				// Keep it running longer: a removed leader must step down
				// and a removed member must not disrupt the group.
				m.stopAt += 5 * s.prof.electionTick
			}
		}
	}
}

// confKey renders a membership canonically (sorted ids).
func confKey(cs raftpb.ConfState) string {
	v := slices.Sorted(slices.Values(cs.Voters))
	l := slices.Sorted(slices.Values(cs.Learners))
	return fmt.Sprintf("voters=%v learners=%v", v, l)
}

// isMember reports whether id is a voter or learner of the committed membership.
func (s *sim) isMember(id raftpb.NodeID) bool {
	return slices.Contains(s.conf.Voters, id) || slices.Contains(s.conf.Learners, id)
}
