package raft

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

func bootStorage(t *testing.T, voters ...raftpb.NodeID) *MemoryStorage {
	t.Helper()
	ms := NewMemoryStorage()
	if err := ms.ApplySnapshot(raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{
		Index: 1, Term: 1, ConfState: raftpb.ConfState{Voters: voters}}}); err != nil {
		t.Fatal(err)
	}
	return ms
}

func newTestRawNode(t *testing.T, id raftpb.NodeID, st Storage) *RawNode {
	t.Helper()
	rn, err := NewRawNode(&Config{ID: id, ElectionTick: 10, HeartbeatTick: 1, Storage: st})
	if err != nil {
		t.Fatal(err)
	}
	return rn
}

// persist writes rd to ms as a driver following the contract would.
func persist(t *testing.T, ms *MemoryStorage, rd Ready) {
	t.Helper()
	if !rd.Snapshot.IsEmpty() {
		if err := ms.ApplySnapshot(rd.Snapshot); err != nil {
			t.Fatal(err)
		}
	}
	if err := ms.Append(rd.Entries); err != nil {
		t.Fatal(err)
	}
	if !rd.HardState.IsEmpty() {
		if err := ms.SetHardState(rd.HardState); err != nil {
			t.Fatal(err)
		}
	}
}

// Durability contract (1): a leader never counts its own unpersisted entries.
// A single-voter leader commits its entries only after the Advance that
// acknowledges their persistence, and CommittedEntries come after that.
func TestLeaderCountsItselfOnlyAfterAdvance(t *testing.T) {
	ms := bootStorage(t, 1)
	rn := newTestRawNode(t, 1, ms)
	if err := rn.Campaign(); err != nil {
		t.Fatal(err)
	}
	rd := rn.Ready()
	if rd.SoftState == nil || rd.SoftState.RaftState != StateLeader || len(rd.Entries) != 1 {
		t.Fatalf("first Ready: %v", fmtReady(rd))
	}
	if len(rd.CommittedEntries) != 0 || rn.Status().Commit != 1 {
		t.Fatalf("committed before persisting: commit=%d %v", rn.Status().Commit, fmtReady(rd))
	}
	if !rd.MustSync {
		t.Fatal("entries and a new term/vote need an fsync")
	}
	persist(t, ms, rd)
	rn.Advance(rd)
	if got := rn.Status().Commit; got != 2 {
		t.Fatalf("commit after Advance = %d, want 2", got)
	}
	rd = rn.Ready()
	if len(rd.CommittedEntries) != 1 || rd.CommittedEntries[0].Type != raftpb.EntryEmpty {
		t.Fatalf("second Ready: %v", fmtReady(rd))
	}
	if rd.MustSync {
		t.Fatal("a commit-index-only change does not need an fsync")
	}
	persist(t, ms, rd)
	rn.Advance(rd)
}

// In a 3-voter group, one follower's ack plus the leader's unpersisted log is
// not a quorum; two followers' acks are.
func TestLeaderUnpersistedLogIsNotPartOfTheQuorum(t *testing.T) {
	env := newScenarioEnv()
	env.run("add-nodes 3 voters=(1,2,3) index=2")
	env.run("campaign 1")
	env.run("stabilize")
	leader := env.nodes[1].rn
	if err := leader.Propose([]byte("x")); err != nil {
		t.Fatal(err)
	}
	rd := leader.Ready() // entry 4 handed to the driver; not yet persisted
	ack := func(from raftpb.NodeID) {
		if err := leader.Step(raftpb.Message{Type: raftpb.MsgAppResp, From: from, To: 1,
			Term: leader.Status().Term, Index: 4}); err != nil {
			t.Fatal(err)
		}
	}
	ack(2)
	if c := leader.Status().Commit; c != 3 {
		t.Fatalf("commit %d after one follower ack with the leader's own write in flight, want 3", c)
	}
	ack(3)
	if c := leader.Status().Commit; c != 4 {
		t.Fatalf("commit %d after two follower acks, want 4", c)
	}
	// The entry is committed but not persisted locally: it is not applied yet.
	persist(t, env.nodes[1].storage, rd)
	leader.Advance(rd)
	rd = leader.Ready()
	if len(rd.CommittedEntries) != 1 || string(rd.CommittedEntries[0].Data) != "x" {
		t.Fatalf("after Advance: %v", fmtReady(rd))
	}
}

func TestReadyOutstandingUntilAdvance(t *testing.T) {
	ms := bootStorage(t, 1)
	rn := newTestRawNode(t, 1, ms)
	_ = rn.Campaign()
	rd := rn.Ready()
	if rn.HasReady() {
		t.Fatal("HasReady must be false until Advance")
	}
	if again := rn.Ready(); again.containsUpdates() {
		t.Fatal("a second Ready before Advance must be empty")
	}
	// Inputs are accepted meanwhile and show up after Advance.
	if err := rn.Propose([]byte("during")); err != nil {
		t.Fatal(err)
	}
	persist(t, ms, rd)
	rn.Advance(rd)
	rd = rn.Ready()
	if len(rd.Entries) != 1 || string(rd.Entries[0].Data) != "during" {
		t.Fatalf("after Advance: %v", fmtReady(rd))
	}
}

// A node restarted from its storage with Config.Applied resumes applying
// after Applied: nothing applied twice, nothing skipped.
func TestRestartResumesAfterApplied(t *testing.T) {
	ms := bootStorage(t, 1)
	rn := newTestRawNode(t, 1, ms)
	_ = rn.Campaign()
	var applied []raftpb.Entry
	step := func() {
		for rn.HasReady() {
			rd := rn.Ready()
			persist(t, ms, rd)
			applied = append(applied, rd.CommittedEntries...)
			rn.Advance(rd)
		}
	}
	step()
	for _, d := range []string{"a", "b", "c"} {
		if err := rn.Propose([]byte(d)); err != nil {
			t.Fatal(err)
		}
		step()
	}
	if n := len(applied); n != 4 || applied[n-1].Index != 5 {
		t.Fatalf("applied %v", applied)
	}
	// The application durably applied only up to 3 ("a").
	rn2, err := NewRawNode(&Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: ms, Applied: 3})
	if err != nil {
		t.Fatal(err)
	}
	rd := rn2.Ready()
	if len(rd.CommittedEntries) != 2 || rd.CommittedEntries[0].Index != 4 || rd.CommittedEntries[1].Index != 5 {
		t.Fatalf("after restart: %v", fmtReady(rd))
	}
	if rd.SoftState != nil && rd.SoftState.RaftState != StateFollower {
		t.Fatal("a restarted node starts as a follower")
	}
	// Applied beyond the persisted commit is a configuration error.
	_, err = NewRawNode(&Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: ms, Applied: 99})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Applied 99: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	st := NewMemoryStorage()
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{ElectionTick: 10, HeartbeatTick: 1, Storage: st}, "ID must not be 0"},
		{Config{ID: 1, ElectionTick: 10, Storage: st}, "HeartbeatTick"},
		{Config{ID: 1, ElectionTick: 1, HeartbeatTick: 1, Storage: st}, "ElectionTick (1) must be greater"},
		{Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1}, "Storage must not be nil"},
		{Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: st, ReadOnlyOption: ReadOnlyLeaseBased,
			DisableCheckQuorum: true}, "requires CheckQuorum"},
		{Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: st, MaxInflightMsgs: -1}, "MaxInflightMsgs"},
		{Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: st, MaxSizePerMsg: 100, MaxInflightBytes: 10}, "MaxInflightBytes"},
	} {
		_, err := NewRawNode(&tc.cfg)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := NewRawNode(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil config: %v", err)
	}
	c := Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: st}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.MaxSizePerMsg == 0 || c.MaxInflightMsgs == 0 || c.Rand == nil || c.Logger == nil {
		t.Errorf("defaults not filled: %+v", c)
	}
}

func TestStepRejectsLocalAndUnknownPeers(t *testing.T) {
	rn := newTestRawNode(t, 1, bootStorage(t, 1, 2, 3))
	for _, typ := range []raftpb.MessageType{raftpb.MsgHup, raftpb.MsgBeat, raftpb.MsgUnreachable,
		raftpb.MsgSnapStatus, raftpb.MsgCheckQuorum} {
		if err := rn.Step(raftpb.Message{Type: typ, From: 2}); !errors.Is(err, ErrStepLocalMsg) {
			t.Errorf("%s: %v", typ, err)
		}
	}
	err := rn.Step(raftpb.Message{Type: raftpb.MsgAppResp, From: 9, Term: 1})
	if !errors.Is(err, ErrStepPeerNotFound) {
		t.Errorf("response from unknown peer: %v", err)
	}
	if err := rn.Step(raftpb.Message{Type: raftpb.MessageType(77), From: 2}); err == nil {
		t.Error("unknown type accepted")
	}
	if err := rn.Step(raftpb.Message{Type: raftpb.MsgSnap, From: 2, Term: 1}); err == nil {
		t.Error("MsgSnap without a snapshot accepted")
	}
}

func TestProposeErrors(t *testing.T) {
	rn := newTestRawNode(t, 1, bootStorage(t, 1, 2, 3))
	err := rn.Propose([]byte("x"))
	if !errors.Is(err, ErrProposalDropped) || !errors.Is(err, ErrNoLeader) {
		t.Fatalf("no leader: %v", err)
	}
	err = rn.ProposeConfChange(raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: 4})
	if !errors.Is(err, ErrProposalDropped) {
		t.Fatalf("conf change without leader: %v", err)
	}
}

// A new leader refuses a membership change until it has applied its
// election no-op (the "commit in your own term first" rule).
func TestConfChangeRefusedBeforeOwnTermApplied(t *testing.T) {
	ms := bootStorage(t, 1)
	rn := newTestRawNode(t, 1, ms)
	_ = rn.Campaign()
	err := rn.ProposeConfChange(raftpb.ConfChange{Type: raftpb.ConfChangeAddLearnerNode, NodeID: 2})
	if !errors.Is(err, ErrConfChangePending) {
		t.Fatalf("before the no-op is applied: %v", err)
	}
	for rn.HasReady() {
		rd := rn.Ready()
		persist(t, ms, rd)
		rn.Advance(rd)
	}
	if err := rn.ProposeConfChange(raftpb.ConfChange{Type: raftpb.ConfChangeAddLearnerNode, NodeID: 2}); err != nil {
		t.Fatalf("after the no-op is applied: %v", err)
	}
	err = rn.ProposeConfChange(raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode, NodeID: 1})
	if !errors.Is(err, ErrConfChangePending) {
		t.Fatalf("second change while one is pending: %v", err)
	}
}

// The testing knob CommitPreviousTermByCount really injects the Figure 8
// bug: in the figure8 scenario the leader commits x (term 2) as soon as it
// is on a majority, before its own term-3 entry is replicated.
func TestKnobCommitPreviousTermByCount(t *testing.T) {
	for _, knob := range []bool{false, true} {
		env := newScenarioEnv()
		opt := ""
		if knob {
			opt = " knob=commit-previous-term"
		}
		env.run("add-nodes 3 voters=(1,2,3) index=2 max-size-per-msg=1" + opt)
		for _, c := range []string{"campaign 1", "stabilize", "partition 1", "propose 1 x", "stabilize",
			"crash 1", "restart 1", "crash 3", "heal", "tick-election 2", "stabilize", "tick-election 1"} {
			env.run(c)
		}
		// Drive the election and the first exchange by hand until 2 has
		// acknowledged x (index 4) but not the no-op (index 5).
		sawCommitAt4 := false
		for range 50 {
			env.run("process-ready 1 2")
			out := env.run("deliver-msgs 1 2")
			if env.nodes[1].rn.Status().Commit == 4 {
				sawCommitAt4 = true
			}
			if strings.Contains(out, "Index:5") {
				break
			}
		}
		if sawCommitAt4 != knob {
			t.Errorf("knob=%v: leader committed index 4 (an earlier term's entry) by count: %v", knob, sawCommitAt4)
		}
	}
}

func TestKnobIgnoreLogUpToDate(t *testing.T) {
	for _, knob := range []bool{false, true} {
		cfg := Config{ID: 2, ElectionTick: 10, HeartbeatTick: 1, Storage: bootStorage(t, 1, 2, 3), DisablePreVote: true}
		cfg.TestingKnobs.IgnoreLogUpToDate = knob
		rn, err := NewRawNode(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		// A candidate whose log (0/0) is behind ours (1/1).
		if err := rn.Step(raftpb.Message{Type: raftpb.MsgVote, From: 3, To: 2, Term: 5}); err != nil {
			t.Fatal(err)
		}
		rd := rn.Ready()
		granted := len(rd.Messages) == 1 && !rd.Messages[0].Reject
		if granted != knob {
			t.Errorf("knob=%v: vote granted to an out-of-date log: %v", knob, granted)
		}
	}
}

func TestKnobCountStaleVotes(t *testing.T) {
	for _, knob := range []bool{false, true} {
		cfg := Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: bootStorage(t, 1, 2, 3), DisablePreVote: true}
		cfg.TestingKnobs.CountStaleVotes = knob
		rn, err := NewRawNode(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		_ = rn.Campaign() // term 2
		_ = rn.Campaign() // a candidate may campaign again: term 3
		term := rn.Status().Term
		// A vote granted for the previous term arrives late.
		_ = rn.Step(raftpb.Message{Type: raftpb.MsgVoteResp, From: 2, To: 1, Term: term - 1})
		won := rn.Status().RaftState == StateLeader
		if won != knob {
			t.Errorf("knob=%v: stale vote counted: %v", knob, won)
		}
	}
}

// Regression (simulation seed 50 / SIM-2): a MsgSnap stepped between Ready and
// Advance, while that Ready's CommittedEntries (with conf changes) are being
// applied, must not replace the membership under them. The snapshot is
// refused until Advance; the follower answers with its commit index.
func TestSnapshotDeferredWhileApplying(t *testing.T) {
	ms := bootStorage(t, 1, 2, 3)
	rn := newTestRawNode(t, 2, ms)
	cc := raftpb.ConfChange{Type: raftpb.ConfChangeAddLearnerNode, NodeID: 4}
	// The leader (1) replicates and commits a conf change at index 2.
	must(rn.Step(raftpb.Message{Type: raftpb.MsgApp, From: 1, To: 2, Term: 2, Index: 1, LogTerm: 1, Commit: 2,
		Entries: []raftpb.Entry{{Term: 2, Index: 2, Type: raftpb.EntryConfChange, Data: cc.Marshal()}}}))
	rd := rn.Ready()
	persist(t, ms, rd)
	rn.Advance(rd)
	rd = rn.Ready()
	if len(rd.CommittedEntries) != 1 {
		t.Fatalf("want the conf change to apply: %v", fmtReady(rd))
	}
	// Before the driver applies it, a snapshot at 10 (where 4 is a voter) arrives.
	snap := raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 10, Term: 2,
		ConfState: raftpb.ConfState{Voters: []raftpb.NodeID{1, 2, 3, 4}}}}
	must(rn.Step(raftpb.Message{Type: raftpb.MsgSnap, From: 1, To: 2, Term: 2, Snapshot: &snap}))
	cs := rn.ApplyConfChange(cc)
	if len(cs.Learners) != 1 || cs.Learners[0] != 4 || len(cs.Voters) != 3 {
		t.Fatalf("conf change applied on top of the wrong membership: %+v", cs)
	}
	persist(t, ms, rd)
	rn.Advance(rd)
	rd = rn.Ready()
	if !rd.Snapshot.IsEmpty() {
		t.Fatal("the snapshot stepped while applying must have been refused")
	}
	if len(rd.Messages) != 1 || rd.Messages[0].Index != 2 || rd.Messages[0].Reject {
		t.Fatalf("want an ack of the commit index: %v", fmtReady(rd))
	}
	rn.Advance(rd)
	// Once nothing is being applied, the same snapshot is installed.
	must(rn.Step(raftpb.Message{Type: raftpb.MsgSnap, From: 1, To: 2, Term: 2, Snapshot: &snap}))
	if rd = rn.Ready(); rd.Snapshot.Metadata.Index != 10 {
		t.Fatalf("snapshot not installed: %v", fmtReady(rd))
	}
}

// A commit-only HardState need not be fsynced, so after a crash the persisted
// commit index may be below a (fsynced) snapshot: the node starts with the
// snapshot index as its commit. A commit beyond the log is corruption.
func TestRestartWithStaleOrImpossibleCommit(t *testing.T) {
	ms := NewMemoryStorage()
	must(ms.ApplySnapshot(raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 10, Term: 2,
		ConfState: raftpb.ConfState{Voters: []raftpb.NodeID{1, 2, 3}}}}))
	must(ms.SetHardState(raftpb.HardState{Term: 2, Commit: 4}))
	rn := newTestRawNode(t, 1, ms)
	if c := rn.Status().Commit; c != 10 {
		t.Fatalf("commit %d, want the snapshot index 10", c)
	}
	must(ms.SetHardState(raftpb.HardState{Term: 2, Commit: 11}))
	if _, err := NewRawNode(&Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: ms}); err == nil {
		t.Fatal("a commit index beyond the persisted log must be refused")
	}
}

// Election timeouts are drawn from [ElectionTick, 2*ElectionTick) using only
// Config.Rand: the same seed gives the same sequence, different seeds differ.
func TestRandomizedElectionTimeout(t *testing.T) {
	draw := func(seed uint64) []int {
		cfg := Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: bootStorage(t, 1, 2, 3), Rand: newSplitMix(seed)}
		rn, err := NewRawNode(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		seen := map[int]bool{}
		for range 200 {
			rn.raft.resetRandomizedElectionTimeout()
			v := rn.raft.randomizedElectionTimeout
			if v < 10 || v >= 20 {
				t.Fatalf("timeout %d outside [10, 20)", v)
			}
			seen[v] = true
			out = append(out, v)
		}
		if len(seen) < 8 {
			t.Fatalf("only %d distinct timeouts in 200 draws", len(seen))
		}
		return out
	}
	a, b, c := draw(7), draw(7), draw(8)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed must replay the same timeouts")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds gave identical timeouts")
	}
}

// Regression (SIM-3): a MsgVote of a lower term is rejected with our term, so
// that a candidate that lags in term learns it (with PreVote off it could
// otherwise never catch up with a voter that does not count it as a peer).
func TestStaleVoteRejectedWithCurrentTerm(t *testing.T) {
	cfg := Config{ID: 2, ElectionTick: 10, HeartbeatTick: 1, Storage: bootStorage(t, 1, 2, 3), DisablePreVote: true}
	rn, err := NewRawNode(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	must(rn.Step(raftpb.Message{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Term: 9}))
	rn.Advance(rn.Ready())
	must(rn.Step(raftpb.Message{Type: raftpb.MsgVote, From: 3, To: 2, Term: 4, Index: 50, LogTerm: 4}))
	rd := rn.Ready()
	if len(rd.Messages) != 1 || rd.Messages[0].Type != raftpb.MsgVoteResp || !rd.Messages[0].Reject || rd.Messages[0].Term != 9 {
		t.Fatalf("want a rejection carrying term 9: %v", fmtReady(rd))
	}
}

// Regression (SIM-4): a term raised at startup (the log's last term is above
// the persisted one, after a torn write) is reported by the first Ready with
// MustSync, like any term change.
func TestRaisedTermIsPersisted(t *testing.T) {
	ms := bootStorage(t, 1, 2, 3)
	must(ms.Append([]raftpb.Entry{{Term: 36, Index: 2}}))
	must(ms.SetHardState(raftpb.HardState{Term: 34, Commit: 1}))
	rn := newTestRawNode(t, 1, ms)
	if !rn.HasReady() {
		t.Fatal("the raised term must be reported")
	}
	rd := rn.Ready()
	if rd.HardState.Term != 36 || rd.HardState.Vote != 0 || !rd.MustSync {
		t.Fatalf("first Ready: %v", fmtReady(rd))
	}
}
