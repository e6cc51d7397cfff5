package raft

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// A small randomized cluster test of the library alone (the full
// simulation, with crashable disks and membership changes, lives in
// raft/rafttest). Per seed: random ticks, proposals, message loss, reordering,
// duplication, partitions, crashes/restarts and log compaction (so snapshots
// are sent); after every step, election safety and state machine safety are
// checked. Then the faults heal, proposals stop, links become FIFO and
// lossless, and every member must converge on one log within a bounded
// number of ticks (liveness).

type rnode struct {
	id      raftpb.NodeID
	rn      *RawNode
	ms      *MemoryStorage
	applied []string // data of applied normal entries, in order
	appIdx  raftpb.Index
	cs      raftpb.ConfState
}

type rcluster struct {
	t       *testing.T
	seed    uint64
	rng     *rand.Rand
	nodes   []*rnode
	net     []raftpb.Message // in flight, any order
	cut     map[[2]raftpb.NodeID]bool
	leaders map[raftpb.Term]raftpb.NodeID
	nextP   int
}

func newRCluster(t *testing.T, seed uint64, n int) *rcluster {
	c := &rcluster{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 99)),
		cut: map[[2]raftpb.NodeID]bool{}, leaders: map[raftpb.Term]raftpb.NodeID{}}
	voters := make([]raftpb.NodeID, n)
	for i := range voters {
		voters[i] = raftpb.NodeID(i + 1)
	}
	for _, id := range voters {
		ms := NewMemoryStorage()
		cs := raftpb.ConfState{Voters: voters}
		must(ms.ApplySnapshot(raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 1, Term: 1, ConfState: cs}}))
		nd := &rnode{id: id, ms: ms, appIdx: 1, cs: cs}
		c.nodes = append(c.nodes, nd)
		c.start(nd)
	}
	return c
}

func (c *rcluster) start(nd *rnode) {
	rn, err := NewRawNode(&Config{ID: nd.id, ElectionTick: 10, HeartbeatTick: 2, Storage: nd.ms,
		Applied: nd.appIdx, MaxSizePerMsg: 64, MaxInflightMsgs: 4,
		Rand: rand.New(rand.NewPCG(c.seed, uint64(nd.id)+c.rng.Uint64()))})
	if err != nil {
		c.t.Fatalf("seed %d: restart %d: %v", c.seed, nd.id, err)
	}
	nd.rn = rn
}

func (c *rcluster) fail(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("seed %d: %s (replay: go test ./raft -run TestRandomizedCluster -random.seed=%d)",
		c.seed, fmt.Sprintf(format, args...), c.seed)
}

// ready handles one Ready of nd by the contract (synchronous persist).
func (c *rcluster) ready(nd *rnode) {
	if nd.rn == nil || !nd.rn.HasReady() {
		return
	}
	rd := nd.rn.Ready()
	if !rd.Snapshot.IsEmpty() {
		must(nd.ms.ApplySnapshot(rd.Snapshot))
		// The state machine is the list of applied data; a snapshot
		// carries it, joined by NUL bytes.
		nd.appIdx = rd.Snapshot.Metadata.Index
		nd.cs = rd.Snapshot.Metadata.ConfState
		nd.applied = nil
		if len(rd.Snapshot.Data) > 0 {
			nd.applied = strings.Split(string(rd.Snapshot.Data), "\x00")
		}
	}
	must(nd.ms.Append(rd.Entries))
	if !rd.HardState.IsEmpty() {
		must(nd.ms.SetHardState(rd.HardState))
	}
	c.net = append(c.net, rd.Messages...)
	for _, e := range rd.CommittedEntries {
		if e.Index != nd.appIdx+1 {
			c.fail("member %d applies %d after %d", nd.id, e.Index, nd.appIdx)
		}
		nd.appIdx = e.Index
		if e.Type == raftpb.EntryNormal && len(e.Data) > 0 {
			nd.applied = append(nd.applied, string(e.Data))
		}
	}
	nd.rn.Advance(rd)
	c.checkSafety()
}

func (c *rcluster) checkSafety() {
	for _, nd := range c.nodes {
		if nd.rn == nil {
			continue
		}
		st := nd.rn.Status()
		if st.RaftState == StateLeader {
			if l, ok := c.leaders[st.Term]; ok && l != nd.id {
				c.fail("two leaders in term %d: %d and %d", st.Term, l, nd.id)
			}
			c.leaders[st.Term] = nd.id
		}
	}
	for _, a := range c.nodes {
		for _, b := range c.nodes {
			n := min(len(a.applied), len(b.applied))
			for i := range n {
				if a.applied[i] != b.applied[i] {
					c.fail("members %d and %d applied %q and %q at position %d", a.id, b.id, a.applied[i], b.applied[i], i)
				}
			}
		}
	}
}

// deliver steps one in-flight message: a random one (reordering) or the
// oldest (FIFO), maybe dropping or duplicating it.
func (c *rcluster) deliver(fifo bool, dropP, dupP float64) {
	if len(c.net) == 0 {
		return
	}
	i := 0
	if !fifo {
		i = c.rng.IntN(len(c.net))
	}
	m := c.net[i]
	c.net = append(c.net[:i], c.net[i+1:]...)
	if c.rng.Float64() < dupP {
		c.net = append(c.net, m)
	}
	to := c.nodes[m.To-1]
	lost := to.rn == nil || c.cut[[2]raftpb.NodeID{m.From, m.To}] || c.rng.Float64() < dropP
	// Like a real transport, report the fate of snapshots to the sender
	// (on even seeds only: odd seeds check that raft copes without it).
	if from := c.nodes[m.From-1]; m.Type == raftpb.MsgSnap && from.rn != nil && c.seed%2 == 0 {
		if lost {
			from.rn.ReportSnapshot(m.To, SnapshotFailure)
		} else {
			defer from.rn.ReportSnapshot(m.To, SnapshotFinish)
		}
	}
	if lost {
		return
	}
	var dec raftpb.Message
	must(dec.Unmarshal(m.Marshal()))
	_ = to.rn.Step(dec)
}

func (c *rcluster) faultStep() {
	nd := c.nodes[c.rng.IntN(len(c.nodes))]
	switch r := c.rng.Float64(); {
	case r < 0.30:
		if nd.rn != nil {
			nd.rn.Tick()
		}
	case r < 0.45:
		if nd.rn != nil {
			c.nextP++
			_ = nd.rn.Propose([]byte(fmt.Sprintf("p%d", c.nextP)))
		}
	case r < 0.65:
		c.ready(nd)
	case r < 0.95:
		c.deliver(false, 0.1, 0.02)
	case r < 0.96:
		a, b := c.nodes[c.rng.IntN(len(c.nodes))].id, nd.id
		c.cut[[2]raftpb.NodeID{a, b}], c.cut[[2]raftpb.NodeID{b, a}] = true, true
	case r < 0.97:
		c.cut = map[[2]raftpb.NodeID]bool{}
	case r < 0.975:
		if nd.rn != nil { // crash: everything processed was persisted
			nd.rn = nil
		} else {
			c.start(nd)
		}
	case r < 0.99:
		if nd.rn != nil && nd.appIdx > 1 && !*randomNoCompact {
			cs := nd.cs
			data := []byte(strings.Join(nd.applied, "\x00"))
			if _, err := nd.ms.CreateSnapshot(nd.appIdx, &cs, data); err == nil {
				must(nd.ms.Compact(nd.appIdx))
			}
		}
	default:
		if nd.rn != nil {
			nd.rn.ReadIndex([]byte(fmt.Sprintf("r%d", c.rng.Uint64())))
		}
	}
}

func TestRandomizedCluster(t *testing.T) {
	seeds := *randomSeeds
	if testing.Short() && seeds > 60 {
		seeds = 60
	}
	first := uint64(1)
	if *randomSeed != 0 {
		first, seeds = *randomSeed, 1
	}
	for seed := first; seed < first+seeds; seed++ {
		c := newRCluster(t, seed, 3+2*int(seed%2))
		for range 3000 {
			c.faultStep()
		}
		// Heal: everyone up, no cuts, FIFO and lossless, no new proposals.
		c.cut = map[[2]raftpb.NodeID]bool{}
		for _, nd := range c.nodes {
			if nd.rn == nil {
				c.start(nd)
			}
		}
		final := fmt.Sprintf("final-%d", seed)
		proposed, done := false, false
		for step := 0; step < 20000 && !done; step++ {
			for _, nd := range c.nodes {
				c.ready(nd)
				if step%4 == 0 {
					nd.rn.Tick()
				}
			}
			for range len(c.net) {
				c.deliver(true, 0, 0)
			}
			if !proposed {
				for _, nd := range c.nodes {
					if nd.rn.Status().RaftState == StateLeader && nd.rn.Propose([]byte(final)) == nil {
						proposed = true
					}
				}
			}
			done = proposed
			for _, nd := range c.nodes {
				if n := len(nd.applied); n == 0 || nd.applied[n-1] != final {
					done = false
				}
			}
		}
		if !done {
			var s string
			for _, nd := range c.nodes {
				st := nd.rn.Status()
				s += fmt.Sprintf("\n  %d: %s term=%d lead=%d commit=%d applied=%d progress=%v",
					nd.id, st.RaftState, st.Term, st.Lead, st.Commit, st.Applied, st.Progress)
			}
			c.fail("no convergence after healing (final proposal made: %v):%s", proposed, s)
		}
	}
}
