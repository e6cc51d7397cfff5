package rafttest

import (
	"github.com/shelf-kv/shelf/raft"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Invariant names, as reported in a Failure. They are stable: tests and
// regression tables match on them.
const (
	InvElectionSafety     = "election-safety"      // at most one leader per term, across all history
	InvLogMatching        = "log-matching"         // same index and term => identical prefixes (persisted logs)
	InvLeaderCompleteness = "leader-completeness"  // a committed entry is in every later-term leader's log
	InvStateMachine       = "state-machine-safety" // no two members apply different entries at an index
	InvCommitMonotonic    = "commit-monotonic"     // a live member's commit index never decreases
	InvVote               = "vote-safety"          // a member never votes twice in one term, terms never decrease
	InvDurability         = "durability-contract"  // MustSync and "CommittedEntries are already persisted"
	InvApplyOrder         = "apply-order"          // CommittedEntries continue exactly after what was applied
	InvLinearizableRead   = "linearizable-read"    // a read index covers every write acknowledged before the read
	InvAckedDurable       = "acked-durable"        // an acknowledged proposal is eventually applied by every member
	InvLiveness           = "liveness"             // after healing: a leader, a fresh commit, everyone caught up
	InvMembership         = "membership-safety"    // only voters campaign; a removed leader steps down
	InvLibrary            = "library-error"        // a panic, an unexpected error, a malformed Ready or message
)

// termIndex names one log position.
type termIndex struct {
	term  raftpb.Term
	index raftpb.Index
}

// canonEntry is what the checker knows about a committed index.
type canonEntry struct {
	// chain is chain(index) of the committed log. Invariant: every member
	// that commits or applies index reports the same chain.
	chain uint64
	// commitTerm is the lowest term of a member seen committing index: the
	// entry was committed in a term <= commitTerm, so every leader of a
	// higher term must hold it.
	commitTerm raftpb.Term
	by         raftpb.NodeID
}

// checker holds the history the invariants are checked against. Its hooks
// are called by the drivers at every event; each hook checks what the event
// could have broken, so every invariant is checked after every step.
type checker struct {
	s *sim
	// leaders maps a term to the one member that led in it.
	leaders map[raftpb.Term]raftpb.NodeID
	// logAt maps every (term, index) ever written to a persisted log to its
	// chain hash (log matching).
	logAt map[termIndex]uint64
	// canon is the committed log as observed so far.
	canon    map[raftpb.Index]canonEntry
	canonMax raftpb.Index
}

func newChecker(s *sim) *checker {
	c := &checker{
		s:       s,
		leaders: map[raftpb.Term]raftpb.NodeID{},
		logAt:   map[termIndex]uint64{},
		canon:   map[raftpb.Index]canonEntry{},
	}
	c.canon[bootstrapIndex] = canonEntry{chain: bootstrapChain(), commitTerm: bootstrapTerm}
	c.canonMax = bootstrapIndex
	c.logAt[termIndex{bootstrapTerm, bootstrapIndex}] = bootstrapChain()
	return c
}

// written records entries persisted to n's log (log matching).
func (c *checker) written(n *node, ents []raftpb.Entry, chains []uint64) {
	for k := range ents {
		c.logPosition(n, termIndex{ents[k].Term, ents[k].Index}, chains[k])
	}
}

func (c *checker) logPosition(n *node, ti termIndex, chain uint64) {
	if prev, ok := c.logAt[ti]; ok {
		if prev != chain {
			c.s.failf(InvLogMatching, "member %d persisted entry %d/%d whose log prefix differs from another log holding %d/%d (chain %x vs %x)",
				n.id, ti.term, ti.index, ti.term, ti.index, chain, prev)
		}
		return
	}
	c.logAt[ti] = chain
}

// snapshotInstalled records that n installed a snapshot at index/term with
// state machine hash chain: the index is committed.
func (c *checker) snapshotInstalled(n *node, index raftpb.Index, term raftpb.Term, chain uint64) {
	c.logPosition(n, termIndex{term, index}, chain)
	c.committed(n, index, chain)
}

// commitAdvanced checks and records n's commit index moving from old to cur:
// every index in (old, cur] must be in n's log and agree with what others
// committed.
func (c *checker) commitAdvanced(n *node, old, cur raftpb.Index) {
	w := &n.disk.written
	if old < w.base {
		old = w.base
	}
	if cur > w.lastIndex() {
		c.s.failf(InvLibrary, "member %d commit index %d is beyond its last persisted index %d", n.id, cur, w.lastIndex())
		return
	}
	for i := old + 1; i <= cur; i++ {
		chain, _ := w.chainAt(i)
		c.committed(n, i, chain)
	}
}

// committed records that n holds index (with prefix hash chain) committed.
func (c *checker) committed(n *node, index raftpb.Index, chain uint64) {
	term := n.hs.Term
	ce, ok := c.canon[index]
	if ok {
		if ce.chain != chain {
			c.s.failf(InvStateMachine, "member %d committed index %d with a log prefix (chain %x) different from the one member %d committed (chain %x)",
				n.id, index, chain, ce.by, ce.chain)
			return
		}
		if term < ce.commitTerm {
			ce.commitTerm = term
			c.canon[index] = ce
		}
		return
	}
	c.canon[index] = canonEntry{chain: chain, commitTerm: term, by: n.id}
	if index > c.canonMax {
		c.canonMax = index
	}
	// Leader completeness for leaders elected before this commit became known.
	for _, id := range c.s.ids {
		m := c.s.nodes[id]
		if m.up && m.state == raft.StateLeader && m.hs.Term > term {
			c.leaderHolds(m, index, chain)
		}
	}
}

// applied checks that n's state machine, after applying index, equals what
// every other member has at index.
func (c *checker) applied(n *node, index raftpb.Index, smHash uint64) {
	ce, ok := c.canon[index]
	if !ok {
		c.committed(n, index, smHash)
		return
	}
	if ce.chain != smHash {
		c.s.failf(InvStateMachine, "member %d applied index %d reaching state %x, but the committed log at %d (first seen on member %d) gives %x",
			n.id, index, smHash, index, ce.by, ce.chain)
	}
}

// leaderElected checks election safety and leader completeness when n is
// seen as leader of term.
func (c *checker) leaderElected(n *node, term raftpb.Term) {
	if prev, ok := c.leaders[term]; ok {
		if prev != n.id {
			c.s.failf(InvElectionSafety, "members %d and %d were both leader in term %d", prev, n.id, term)
		}
		return
	}
	c.leaders[term] = n.id
	c.s.newLeader(n, term)
	// Every entry committed in an earlier term must be in the new leader's
	// log; the chain hash at the highest such index covers all of them.
	for i := c.canonMax; i >= bootstrapIndex; i-- {
		ce, ok := c.canon[i]
		if !ok || ce.commitTerm >= term {
			continue
		}
		c.leaderHolds(n, i, ce.chain)
		return
	}
}

// leaderHolds checks that leader n's log holds committed index with the
// given prefix hash.
func (c *checker) leaderHolds(n *node, index raftpb.Index, chain uint64) {
	w := &n.disk.written
	switch {
	case index < w.base:
		// Covered by n's snapshot or compaction point, itself committed:
		// compare there instead.
		if ce, ok := c.canon[w.base]; ok && ce.chain != w.baseChain {
			c.s.failf(InvLeaderCompleteness, "leader %d (term %d) has a compaction point %d that differs from the committed log", n.id, n.hs.Term, w.base)
		}
	case index > w.lastIndex():
		c.s.failf(InvLeaderCompleteness, "leader %d of term %d lacks committed index %d (its log ends at %d)", n.id, n.hs.Term, index, w.lastIndex())
	default:
		if got, _ := w.chainAt(index); got != chain {
			t, _ := w.termAt(index)
			c.s.failf(InvLeaderCompleteness, "leader %d of term %d holds a different entry (term %d) or prefix at committed index %d", n.id, n.hs.Term, t, index)
		}
	}
}
