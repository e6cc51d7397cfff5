package raft

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// scenarioNode is one member of a scenario cluster: a RawNode, its storage
// (persisted synchronously when a Ready is processed) and what it applied.
type scenarioNode struct {
	id      raftpb.NodeID
	cfg     Config
	rn      *RawNode // nil while crashed
	storage *MemoryStorage
	applied []raftpb.Entry // normal entries applied, in order
	appIdx  raftpb.Index
	cs      raftpb.ConfState // membership as of appIdx
}

// scenarioEnv is an in-process cluster with a message queue per node, a
// partition set, and a text command interface.
type scenarioEnv struct {
	nodes map[raftpb.NodeID]*scenarioNode
	inbox map[raftpb.NodeID][]raftpb.Message
	// cut[a][b]: messages from a to b are dropped at delivery.
	cut map[[2]raftpb.NodeID]bool
	out *strings.Builder
}

func newScenarioEnv() *scenarioEnv {
	return &scenarioEnv{
		nodes: map[raftpb.NodeID]*scenarioNode{},
		inbox: map[raftpb.NodeID][]raftpb.Message{},
		cut:   map[[2]raftpb.NodeID]bool{},
	}
}

func (e *scenarioEnv) printf(format string, args ...any) { fmt.Fprintf(e.out, format+"\n", args...) }

func (e *scenarioEnv) ids() []raftpb.NodeID {
	ids := make([]raftpb.NodeID, 0, len(e.nodes))
	for id := range e.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// run executes one command line and returns its output.
func (e *scenarioEnv) run(line string) (out string) {
	e.out = &strings.Builder{}
	defer func() {
		if p := recover(); p != nil {
			e.printf("PANIC: %v", p)
		}
		out = strings.TrimRight(e.out.String(), "\n")
	}()
	f := strings.Fields(line)
	cmd, args := f[0], f[1:]
	var err error
	switch cmd {
	case "add-nodes":
		err = e.addNodes(args)
	case "campaign":
		err = e.node(args, 0).rn.Campaign()
	case "propose":
		err = e.node(args, 0).rn.Propose([]byte(arg(args, 1)))
	case "propose-conf-change":
		var cc raftpb.ConfChange
		if cc, err = parseCC(arg(args, 1)); err == nil {
			err = e.node(args, 0).rn.ProposeConfChange(cc)
		}
	case "tick":
		n, _ := strconv.Atoi(arg(args, 1))
		for range n {
			e.node(args, 0).rn.Tick()
		}
	case "tick-heartbeat":
		nd := e.node(args, 0)
		for range nd.cfg.HeartbeatTick {
			nd.rn.Tick()
		}
	case "tick-election":
		e.tickElection(e.node(args, 0))
	case "stabilize":
		e.stabilize()
	case "process-ready":
		for _, id := range parseIDs(args) {
			e.processReady(e.nodes[id])
		}
	case "deliver-msgs":
		// deliver-msgs ID... [from=ID]: with from, only messages sent by
		// that node are delivered; the others stay queued.
		var from raftpb.NodeID
		var ids []string
		for _, a := range args {
			if v, ok := strings.CutPrefix(a, "from="); ok {
				from = parseIDs([]string{v})[0]
			} else {
				ids = append(ids, a)
			}
		}
		for _, id := range parseIDs(ids) {
			e.deliverFrom(id, from)
		}
	case "drop-msgs":
		for _, id := range parseIDs(args) {
			e.printf("dropped %d message(s) to %d", len(e.inbox[id]), id)
			e.inbox[id] = nil
		}
	case "partition":
		e.partition(parseIDs(args))
	case "heal":
		e.cut = map[[2]raftpb.NodeID]bool{}
	case "crash":
		nd := e.node(args, 0)
		nd.rn = nil
		e.inbox[nd.id] = nil
	case "restart":
		err = e.restart(e.node(args, 0))
	case "read-index":
		e.node(args, 0).rn.ReadIndex([]byte(arg(args, 1)))
	case "transfer-leader":
		to, _ := strconv.ParseUint(arg(args, 1), 10, 64)
		e.node(args, 0).rn.TransferLeader(raftpb.NodeID(to))
	case "compact":
		err = e.compact(e.node(args, 0), arg(args, 1))
	case "report-snapshot":
		to, _ := strconv.ParseUint(arg(args, 1), 10, 64)
		st := SnapshotFinish
		if arg(args, 2) == "fail" {
			st = SnapshotFailure
		}
		e.node(args, 0).rn.ReportSnapshot(raftpb.NodeID(to), st)
	case "report-unreachable":
		to, _ := strconv.ParseUint(arg(args, 1), 10, 64)
		e.node(args, 0).rn.ReportUnreachable(raftpb.NodeID(to))
	case "status":
		e.status(e.node(args, 0))
	case "raft-log":
		e.raftLog(e.node(args, 0))
	case "raft-state":
		for _, id := range e.ids() {
			nd := e.nodes[id]
			if nd.rn == nil {
				e.printf("%d: crashed", id)
				continue
			}
			st := nd.rn.Status()
			e.printf("%d: %s Term:%d Lead:%d Commit:%d Applied:%d", id, st.RaftState, st.Term, st.Lead, st.Commit, st.Applied)
		}
	case "applied":
		nd := e.node(args, 0)
		e.printf("applied index %d: %s", nd.appIdx, fmtEntries(nd.applied))
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		e.printf("error: %v", err)
	}
	return ""
}

func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

func (e *scenarioEnv) node(args []string, i int) *scenarioNode {
	id, err := strconv.ParseUint(arg(args, i), 10, 64)
	nd := e.nodes[raftpb.NodeID(id)]
	if err != nil || nd == nil {
		panic(fmt.Sprintf("no node %q", arg(args, i)))
	}
	return nd
}

func parseIDs(args []string) []raftpb.NodeID {
	var ids []raftpb.NodeID
	for _, a := range args {
		a = strings.Trim(a, "()")
		for _, p := range strings.Split(a, ",") {
			if p == "" {
				continue
			}
			v, err := strconv.ParseUint(p, 10, 64)
			if err != nil {
				panic(fmt.Sprintf("bad id %q", p))
			}
			ids = append(ids, raftpb.NodeID(v))
		}
	}
	return ids
}

func parseCC(s string) (raftpb.ConfChange, error) {
	if len(s) < 2 {
		return raftpb.ConfChange{}, fmt.Errorf("bad conf change %q", s)
	}
	id, err := strconv.ParseUint(s[1:], 10, 64)
	if err != nil {
		return raftpb.ConfChange{}, fmt.Errorf("bad conf change %q", s)
	}
	cc := raftpb.ConfChange{NodeID: raftpb.NodeID(id)}
	switch s[0] {
	case 'v':
		cc.Type = raftpb.ConfChangeAddNode
	case 'l':
		cc.Type = raftpb.ConfChangeAddLearnerNode
	case 'r':
		cc.Type = raftpb.ConfChangeRemoveNode
	default:
		return cc, fmt.Errorf("bad conf change %q", s)
	}
	return cc, nil
}

// addNodes: add-nodes N [voters=(1,2,3)] [learners=(4)] [index=I] [options...]
// Nodes get the next free ids. With voters set, each node's storage is
// bootstrapped with a snapshot at index I (term 1) carrying the membership;
// without, the nodes start empty (to be added by a conf change).
// Options: prevote=false checkquorum=false max-size-per-msg=N
// max-inflight=N max-inflight-bytes=N max-uncommitted-size=N
// auto-promote=true read-only=lease election=N heartbeat=N
func (e *scenarioEnv) addNodes(args []string) error {
	n, err := strconv.Atoi(arg(args, 0))
	if err != nil {
		return fmt.Errorf("add-nodes: bad count %q", arg(args, 0))
	}
	cfg := Config{ElectionTick: 10, HeartbeatTick: 1, MaxSizePerMsg: noLimit, MaxInflightMsgs: 256}
	var cs raftpb.ConfState
	index := raftpb.Index(0)
	for _, a := range args[1:] {
		k, v, _ := strings.Cut(a, "=")
		num, _ := strconv.ParseUint(v, 10, 64)
		switch k {
		case "voters":
			cs.Voters = parseIDs([]string{v})
		case "learners":
			cs.Learners = parseIDs([]string{v})
		case "index":
			index = raftpb.Index(num)
		case "prevote":
			cfg.DisablePreVote = v == "false"
		case "checkquorum":
			cfg.DisableCheckQuorum = v == "false"
		case "max-size-per-msg":
			cfg.MaxSizePerMsg = num
		case "max-inflight":
			cfg.MaxInflightMsgs = int(num)
		case "max-inflight-bytes":
			cfg.MaxInflightBytes = num
		case "max-uncommitted-size":
			cfg.MaxUncommittedEntriesSize = num
		case "auto-promote":
			cfg.AutoPromoteLearners = v == "true"
		case "read-only":
			if v == "lease" {
				cfg.ReadOnlyOption = ReadOnlyLeaseBased
			}
		case "election":
			cfg.ElectionTick = int(num)
		case "heartbeat":
			cfg.HeartbeatTick = int(num)
		case "knob":
			switch v {
			case "commit-previous-term":
				cfg.TestingKnobs.CommitPreviousTermByCount = true
			case "count-stale-votes":
				cfg.TestingKnobs.CountStaleVotes = true
			case "ignore-log-up-to-date":
				cfg.TestingKnobs.IgnoreLogUpToDate = true
			default:
				return fmt.Errorf("add-nodes: unknown knob %q", v)
			}
		default:
			return fmt.Errorf("add-nodes: unknown option %q", a)
		}
	}
	if len(cs.Voters) > 0 && index == 0 {
		index = 1
	}
	next := raftpb.NodeID(len(e.nodes) + 1)
	for i := range n {
		id := next + raftpb.NodeID(i)
		st := NewMemoryStorage()
		nd := &scenarioNode{id: id, storage: st, cfg: cfg}
		nd.cfg.ID = id
		nd.cfg.Storage = st
		// A per-node deterministic jitter source.
		nd.cfg.Rand = newSplitMix(uint64(id) * 7919)
		if len(cs.Voters) > 0 {
			snap := raftpb.Snapshot{Data: []byte("boot"), Metadata: raftpb.SnapshotMetadata{Index: index, Term: 1, ConfState: cs}}
			if err := st.ApplySnapshot(snap); err != nil {
				return err
			}
			nd.appIdx = index
			nd.cs = cs
		}
		e.nodes[id] = nd
		if err := e.restart(nd); err != nil {
			return err
		}
	}
	return nil
}

// restart rebuilds a node from its storage, with Applied = what it applied.
func (e *scenarioEnv) restart(nd *scenarioNode) error {
	cfg := nd.cfg
	cfg.Applied = nd.appIdx
	rn, err := NewRawNode(&cfg)
	if err != nil {
		return err
	}
	nd.rn = rn
	return nil
}

func (e *scenarioEnv) partition(group []raftpb.NodeID) {
	in := map[raftpb.NodeID]bool{}
	for _, id := range group {
		in[id] = true
	}
	for _, a := range e.ids() {
		for _, b := range e.ids() {
			if in[a] != in[b] {
				e.cut[[2]raftpb.NodeID{a, b}] = true
			}
		}
	}
}

// tickElection ticks a leader ElectionTick times (one CheckQuorum round) and
// anyone else exactly until its randomized election timeout fires.
func (e *scenarioEnv) tickElection(nd *scenarioNode) {
	r := nd.rn.raft
	n := nd.cfg.ElectionTick
	if r.state != StateLeader {
		n = max(r.randomizedElectionTimeout-r.electionElapsed, 1)
	}
	for range n {
		nd.rn.Tick()
	}
}

// processReady handles one Ready of nd, synchronously and by the contract:
// persist, send (queue), apply, Advance.
func (e *scenarioEnv) processReady(nd *scenarioNode) {
	if nd.rn == nil || !nd.rn.HasReady() {
		return
	}
	rd := nd.rn.Ready()
	e.printf("> %d handling Ready", nd.id)
	for _, l := range fmtReady(rd) {
		e.printf("  %s", l)
	}
	if !rd.Snapshot.IsEmpty() {
		must(nd.storage.ApplySnapshot(rd.Snapshot))
		nd.appIdx = rd.Snapshot.Metadata.Index
		nd.cs = rd.Snapshot.Metadata.ConfState
		nd.applied = append(nd.applied, raftpb.Entry{Index: nd.appIdx, Data: rd.Snapshot.Data})
	}
	must(nd.storage.Append(rd.Entries))
	if !rd.HardState.IsEmpty() {
		must(nd.storage.SetHardState(rd.HardState))
	}
	for _, m := range rd.Messages {
		e.inbox[m.To] = append(e.inbox[m.To], m)
	}
	for _, ent := range rd.CommittedEntries {
		switch ent.Type {
		case raftpb.EntryConfChange:
			var cc raftpb.ConfChange
			must(cc.Unmarshal(ent.Data))
			nd.cs = *nd.rn.ApplyConfChange(cc)
		case raftpb.EntryNormal:
			nd.applied = append(nd.applied, ent)
		}
		nd.appIdx = ent.Index
	}
	nd.rn.Advance(rd)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// deliver steps every queued message into node id (dropping those across a
// partition or to a crashed node) and prints them.
func (e *scenarioEnv) deliver(id raftpb.NodeID) { e.deliverFrom(id, raftpb.None) }

// deliverFrom is deliver restricted to messages from `from` (None: all).
func (e *scenarioEnv) deliverFrom(id, from raftpb.NodeID) {
	var msgs, kept []raftpb.Message
	for _, m := range e.inbox[id] {
		if from == raftpb.None || m.From == from {
			msgs = append(msgs, m)
		} else {
			kept = append(kept, m)
		}
	}
	e.inbox[id] = kept
	nd := e.nodes[id]
	for _, m := range msgs {
		switch {
		case nd == nil || nd.rn == nil:
			e.printf("  %s DROPPED (node down)", fmtMsg(m))
		case e.cut[[2]raftpb.NodeID{m.From, m.To}]:
			e.printf("  %s DROPPED (partition)", fmtMsg(m))
		default:
			e.printf("  %s", fmtMsg(m))
			// Round-trip through the wire codec, as a transport would.
			var dec raftpb.Message
			must(dec.Unmarshal(m.Marshal()))
			if err := nd.rn.Step(dec); err != nil && !errors.Is(err, ErrProposalDropped) {
				e.printf("  error: %v", err)
			} else if err != nil {
				e.printf("  dropped: %v", err)
			}
		}
	}
}

// stabilize processes Readys and delivers messages until nothing moves.
func (e *scenarioEnv) stabilize() {
	for {
		moved := false
		for _, id := range e.ids() {
			if nd := e.nodes[id]; nd.rn != nil && nd.rn.HasReady() {
				e.processReady(nd)
				moved = true
			}
		}
		for _, id := range e.ids() {
			if len(e.inbox[id]) > 0 {
				e.printf("> %d receiving messages", id)
				e.deliver(id)
				moved = true
			}
		}
		if !moved {
			return
		}
	}
}

func (e *scenarioEnv) compact(nd *scenarioNode, idx string) error {
	i, err := strconv.ParseUint(idx, 10, 64)
	if err != nil {
		return err
	}
	if raftpb.Index(i) > nd.appIdx {
		return fmt.Errorf("cannot compact %d beyond applied %d", i, nd.appIdx)
	}
	cs := nd.cs
	if _, err := nd.storage.CreateSnapshot(raftpb.Index(i), &cs, []byte(fmt.Sprintf("snap@%d", i))); err != nil {
		return err
	}
	return nd.storage.Compact(raftpb.Index(i))
}

func (e *scenarioEnv) status(nd *scenarioNode) {
	st := nd.rn.Status()
	e.printf("%d: %s Term:%d Vote:%d Lead:%d Commit:%d Applied:%d voters=%s learners=%s",
		st.ID, st.RaftState, st.Term, st.Vote, st.Lead, st.Commit, st.Applied, fmtIDs(st.Voters), fmtIDs(st.Learners))
	if st.LeadTransferee != raftpb.None {
		e.printf("  transferring to %d", st.LeadTransferee)
	}
	ids := make([]raftpb.NodeID, 0, len(st.Progress))
	for id := range st.Progress {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		pr := st.Progress[id]
		s := fmt.Sprintf("  %d: %s match=%d next=%d", id, pr.State, pr.Match, pr.Next)
		if pr.IsLearner {
			s += " learner"
		}
		if pr.Inflight > 0 {
			s += fmt.Sprintf(" inflight=%d", pr.Inflight)
		}
		if pr.PendingSnapshot > 0 {
			s += fmt.Sprintf(" pendingSnap=%d", pr.PendingSnapshot)
		}
		e.printf("%s", s)
	}
}

func (e *scenarioEnv) raftLog(nd *scenarioNode) {
	first, _ := nd.storage.FirstIndex()
	last, _ := nd.storage.LastIndex()
	ents, err := nd.storage.Entries(first, last+1, noLimit)
	if err != nil {
		e.printf("error: %v", err)
		return
	}
	if len(ents) == 0 {
		e.printf("log is empty: first index=%d, last index=%d", first, last)
	}
	for _, ent := range ents {
		e.printf("%s", fmtEntry(ent))
	}
}
