package raft

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// TestRandomizedCluster is a small randomized test of the library alone (the
// full simulation, with crashable disks and its own checker, lives in
// raft/rafttest). Per seed: random ticks, proposals, reads, leader
// transfers, membership changes (two spare nodes start empty), message loss,
// reordering and duplication, partitions, crashes and restarts, log
// compaction (so snapshots are sent), and, on odd seeds, persistence that
// lags behind Ready (a leader sends MsgApp/MsgHeartbeat/MsgSnap before its
// own persist, as the durability contract allows; a crash loses the
// unpersisted Ready). After every step: election safety and state machine
// safety. Then the faults heal, links become FIFO and lossless, and every
// member of the final configuration must apply a final proposal within a
// bounded number of steps (liveness).

type rnode struct {
	id      raftpb.NodeID
	rn      *RawNode // nil while crashed
	ms      *MemoryStorage
	applied []string // data of applied normal entries, in order
	appIdx  raftpb.Index
	cs      raftpb.ConfState
	pending *Ready           // handed out, not yet persisted (async mode)
	held    []raftpb.Message // messages of pending, sent after the persist
}

type rcluster struct {
	t       *testing.T
	seed    uint64
	rng     *rand.Rand
	async   bool
	nodes   []*rnode
	net     []raftpb.Message // in flight, any order
	cut     map[[2]raftpb.NodeID]bool
	leaders map[raftpb.Term]raftpb.NodeID
	nextP   int
	stats   *rstats
	// reads maps a ReadIndex context to the highest index applied anywhere
	// when the read was issued: the answer must not be below it.
	reads map[string]raftpb.Index
}

// rstats shows the test is not vacuous (logged with -v).
type rstats struct{ applied, snapshots, confChanges, crashes, terms, reads int }

func newRCluster(t *testing.T, seed uint64, voters, spares int) *rcluster {
	c := &rcluster{t: t, seed: seed, stats: &rstats{}, reads: map[string]raftpb.Index{}, rng: rand.New(rand.NewPCG(seed, 99)), async: seed%2 == 1,
		cut: map[[2]raftpb.NodeID]bool{}, leaders: map[raftpb.Term]raftpb.NodeID{}}
	ids := make([]raftpb.NodeID, voters)
	for i := range ids {
		ids[i] = raftpb.NodeID(i + 1)
	}
	for i := range voters + spares {
		nd := &rnode{id: raftpb.NodeID(i + 1), ms: NewMemoryStorage()}
		if i < voters {
			nd.cs = raftpb.ConfState{Voters: ids}
			must(nd.ms.ApplySnapshot(raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 1, Term: 1, ConfState: nd.cs}}))
			nd.appIdx = 1
		}
		c.nodes = append(c.nodes, nd)
		c.start(nd)
	}
	return c
}

func (c *rcluster) start(nd *rnode) {
	rn, err := NewRawNode(&Config{ID: nd.id, ElectionTick: 10, HeartbeatTick: 2, Storage: nd.ms,
		Applied: nd.appIdx, MaxSizePerMsg: 64, MaxInflightMsgs: 4, AutoPromoteLearners: c.seed%3 == 0,
		Rand: rand.New(rand.NewPCG(c.seed, uint64(nd.id)+c.rng.Uint64()))})
	if err != nil {
		c.fail("restart %d: %v", nd.id, err)
	}
	nd.rn, nd.pending, nd.held = rn, nil, nil
}

func (c *rcluster) fail(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("seed %d: %s\nreplay: go test ./raft -run TestRandomizedCluster -random.seed=%d",
		c.seed, fmt.Sprintf(format, args...), c.seed)
}

// takeReady takes a Ready from nd. In async mode its persist is deferred to
// a later persist(nd); a leader sends MsgApp, MsgHeartbeat and MsgSnap at
// once (the contract's exception), everything else waits for the persist.
func (c *rcluster) takeReady(nd *rnode) {
	if nd.rn == nil || nd.pending != nil || !nd.rn.HasReady() {
		return
	}
	rd := nd.rn.Ready()
	nd.pending = &rd
	leader := nd.rn.Status().RaftState == StateLeader
	for _, m := range rd.Messages {
		switch m.Type {
		case raftpb.MsgApp, raftpb.MsgHeartbeat, raftpb.MsgSnap:
			if leader {
				c.net = append(c.net, m)
				continue
			}
		}
		nd.held = append(nd.held, m)
	}
	if !c.async {
		c.persist(nd)
	}
}

// persist completes nd's pending Ready: persist, send the held messages,
// apply, Advance.
func (c *rcluster) persist(nd *rnode) {
	rd := nd.pending
	if nd.rn == nil || rd == nil {
		return
	}
	if !rd.Snapshot.IsEmpty() {
		must(nd.ms.ApplySnapshot(rd.Snapshot))
		// The state machine is the list of applied data; a snapshot
		// carries it, joined by NUL bytes.
		c.stats.snapshots++
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
	c.net = append(c.net, nd.held...)
	for _, rs := range rd.ReadStates {
		floor, ok := c.reads[string(rs.RequestCtx)]
		if !ok {
			c.fail("member %d got a ReadState for unknown ctx %q", nd.id, rs.RequestCtx)
		}
		if rs.Index < floor {
			c.fail("linearizability: read %q answered at index %d, but index %d was applied before it was issued",
				rs.RequestCtx, rs.Index, floor)
		}
		c.stats.reads++
	}
	for _, e := range rd.CommittedEntries {
		if e.Index != nd.appIdx+1 {
			c.fail("member %d applies %d after %d", nd.id, e.Index, nd.appIdx)
		}
		nd.appIdx = e.Index
		switch e.Type {
		case raftpb.EntryNormal:
			if len(e.Data) > 0 {
				nd.applied = append(nd.applied, string(e.Data))
				c.stats.applied++
			}
		case raftpb.EntryConfChange:
			var cc raftpb.ConfChange
			must(cc.Unmarshal(e.Data))
			nd.cs = *nd.rn.ApplyConfChange(cc)
			c.stats.confChanges++
		}
	}
	nd.pending, nd.held = nil, nil
	nd.rn.Advance(*rd)
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
	// (on seeds divisible by 4 only: the others check that raft copes
	// without it).
	if from := c.nodes[m.From-1]; m.Type == raftpb.MsgSnap && from.rn != nil && c.seed%4 == 0 {
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
	other := c.nodes[c.rng.IntN(len(c.nodes))]
	up := nd.rn != nil
	switch r := c.rng.Float64(); {
	case r < 0.28:
		if up {
			nd.rn.Tick()
		}
	case r < 0.40:
		if up {
			c.nextP++
			_ = nd.rn.Propose([]byte(fmt.Sprintf("p%d", c.nextP)))
		}
	case r < 0.55:
		c.takeReady(nd)
	case r < 0.65:
		c.persist(nd)
	case r < 0.93:
		c.deliver(false, 0.08, 0.02)
	case r < 0.94:
		c.cut[[2]raftpb.NodeID{nd.id, other.id}], c.cut[[2]raftpb.NodeID{other.id, nd.id}] = true, true
	case r < 0.95:
		c.cut = map[[2]raftpb.NodeID]bool{}
	case r < 0.955:
		if up { // crash: a pending (unpersisted) Ready is lost
			nd.rn, nd.pending, nd.held = nil, nil, nil
			c.stats.crashes++
		} else {
			c.start(nd)
		}
	case r < 0.97:
		if up && nd.appIdx > 1 && nd.pending == nil {
			cs := nd.cs
			data := []byte(strings.Join(nd.applied, "\x00"))
			if _, err := nd.ms.CreateSnapshot(nd.appIdx, &cs, data); err == nil {
				must(nd.ms.Compact(nd.appIdx))
			}
		}
	case r < 0.98:
		if up {
			ctx := fmt.Sprintf("r%d", c.rng.Uint64())
			var floor raftpb.Index
			for _, o := range c.nodes {
				floor = max(floor, o.appIdx)
			}
			c.reads[ctx] = floor
			nd.rn.ReadIndex([]byte(ctx))
		}
	case r < 0.985:
		if up {
			nd.rn.TransferLeader(other.id)
		}
	case r < 0.99:
		if up {
			typ := []raftpb.ConfChangeType{raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode,
				raftpb.ConfChangeRemoveNode}[c.rng.IntN(3)]
			_ = nd.rn.ProposeConfChange(raftpb.ConfChange{Type: typ, NodeID: other.id})
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
	total := rstats{}
	for seed := first; seed < first+seeds; seed++ {
		c := newRCluster(t, seed, 3+2*int(seed%2), 2)
		for range 3000 {
			c.faultStep()
		}
		c.settle()
		s := c.stats
		total.applied += s.applied
		total.snapshots += s.snapshots
		total.confChanges += s.confChanges
		total.crashes += s.crashes
		total.terms += len(c.leaders)
		total.reads += s.reads
	}
	t.Logf("%d seeds: %d entries applied, %d snapshots installed, %d conf changes applied, %d crashes, %d terms with a leader, %d reads checked",
		seeds, total.applied, total.snapshots, total.confChanges, total.crashes, total.terms, total.reads)
	if seeds >= 20 && (total.snapshots == 0 || total.confChanges == 0 || total.crashes == 0 || total.reads == 0) {
		t.Fatalf("the randomized test is vacuous: %+v", total)
	}
}

// settle heals every fault, then requires a final proposal to be applied by
// every member of the leader's configuration.
func (c *rcluster) settle() {
	c.cut = map[[2]raftpb.NodeID]bool{}
	for _, nd := range c.nodes {
		if nd.rn == nil {
			c.start(nd)
		}
	}
	// A proposal may be lost with a deposed leader's uncommitted tail, so
	// the final proposal is repeated until the leader has applied one.
	final := fmt.Sprintf("final-%d", c.seed)
	proposed := false
	for step := range 20000 {
		for _, nd := range c.nodes {
			c.persist(nd)
			c.takeReady(nd)
			c.persist(nd)
			if step%4 == 0 {
				nd.rn.Tick()
			}
		}
		for range len(c.net) {
			c.deliver(true, 0, 0)
		}
		var leader *rnode
		for _, nd := range c.nodes {
			if nd.rn.Status().RaftState == StateLeader {
				leader = nd
			}
		}
		if leader == nil {
			continue
		}
		if !slices.Contains(leader.applied, final) {
			if step%100 == 0 {
				proposed = leader.rn.Propose([]byte(final)) == nil || proposed
			}
			continue
		}
		// Converged: every member of the configuration applied what the
		// leader applied.
		st := leader.rn.Status()
		done := true
		for _, id := range append(slices.Clone(st.Voters), st.Learners...) {
			if !slices.Equal(c.nodes[id-1].applied, leader.applied) {
				done = false
			}
		}
		if done {
			return
		}
	}
	var s string
	for _, nd := range c.nodes {
		st := nd.rn.Status()
		s += fmt.Sprintf("\n  %d: %s term=%d lead=%d commit=%d applied=%d voters=%v learners=%v progress=%v",
			nd.id, st.RaftState, st.Term, st.Lead, st.Commit, st.Applied, st.Voters, st.Learners, st.Progress)
	}
	c.fail("no convergence after healing (final proposal made: %v):%s", proposed, s)
}
