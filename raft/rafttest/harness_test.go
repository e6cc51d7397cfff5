package rafttest

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

func ents(term raftpb.Term, lo, hi raftpb.Index) []raftpb.Entry {
	var out []raftpb.Entry
	for i := lo; i <= hi; i++ {
		out = append(out, raftpb.Entry{Term: term, Index: i, Type: raftpb.EntryNormal, Data: []byte{byte(i), byte(term)}})
	}
	return out
}

// TestDiskCrashKeepsOnlySynced: a crash keeps exactly what was fsynced, and
// truncating the written log never corrupts the synced image it shares
// slices with.
func TestDiskCrashKeepsOnlySynced(t *testing.T) {
	d := newDisk()
	if err := d.bootstrap([]raftpb.NodeID{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.appendEntries(ents(2, 2, 6)); err != nil {
		t.Fatal(err)
	}
	d.setHardState(raftpb.HardState{Term: 2, Vote: 1, Commit: 4})
	d.fsync()
	syncedChain5, _ := d.synced.chainAt(5)
	// Unsynced: a conflicting tail from index 4 and a new vote.
	if _, _, err := d.appendEntries(ents(3, 4, 9)); err != nil {
		t.Fatal(err)
	}
	d.setHardState(raftpb.HardState{Term: 3, Vote: 2, Commit: 4})
	if got := d.written.lastIndex(); got != 9 {
		t.Fatalf("written last index = %d, want 9", got)
	}
	if c, _ := d.synced.chainAt(5); c != syncedChain5 {
		t.Fatalf("truncating the written log changed the synced image at 5")
	}
	if err := d.crash(0, 0); err != nil {
		t.Fatal(err)
	}
	if got := d.written.lastIndex(); got != 6 {
		t.Fatalf("after crash last index = %d, want 6 (the synced log)", got)
	}
	if d.written.hs != (raftpb.HardState{Term: 2, Vote: 1, Commit: 4}) {
		t.Fatalf("after crash hard state = %+v, want the synced one", d.written.hs)
	}
	if tm, _ := d.mem.Term(5); tm != 2 {
		t.Fatalf("rebuilt MemoryStorage has term %d at 5, want 2", tm)
	}
	if li, _ := d.mem.LastIndex(); li != 6 {
		t.Fatalf("rebuilt MemoryStorage last index %d, want 6", li)
	}
	// The chain must be the same as recomputing it from scratch.
	h := bootstrapChain()
	for _, e := range ents(2, 2, 6) {
		h = chainNext(h, &e)
	}
	if c, _ := d.written.chainAt(6); c != h {
		t.Fatalf("chain at 6 = %x, want %x", c, h)
	}
}

// TestDiskSnapshotSurvivesCrash: a snapshot + compaction is durable, and a
// restart rebuilds the log from the snapshot on.
func TestDiskSnapshotSurvivesCrash(t *testing.T) {
	d := newDisk()
	if err := d.bootstrap([]raftpb.NodeID{1}); err != nil {
		t.Fatal(err)
	}
	d.appendEntries(ents(2, 2, 10))
	d.fsync()
	c8, _ := d.written.chainAt(8)
	if err := d.snapshotAndCompact(smImage{Applied: 8, Hash: c8}, raftpb.ConfState{Voters: []raftpb.NodeID{1}}, 5); err != nil {
		t.Fatal(err)
	}
	if d.written.base != 5 || d.written.lastIndex() != 10 {
		t.Fatalf("after compaction log is %d..%d, want 6..10", d.written.base+1, d.written.lastIndex())
	}
	d.appendEntries(ents(2, 11, 12)) // not synced
	if err := d.crash(0, 0); err != nil {
		t.Fatal(err)
	}
	if d.written.base != 8 || d.written.lastIndex() != 10 || d.written.baseChain != c8 {
		t.Fatalf("after crash log is %d..%d (base chain %x), want 9..10 from the snapshot at 8", d.written.base+1, d.written.lastIndex(), d.written.baseChain)
	}
	if fi, _ := d.mem.FirstIndex(); fi != 9 {
		t.Fatalf("rebuilt MemoryStorage first index %d, want 9", fi)
	}
}

// TestNetworkDeterministicAndCuts: equal seeds give equal deliveries; cut
// links lose messages, one-way cuts only one direction.
func TestNetworkDeterministicAndCuts(t *testing.T) {
	run := func() []msgSummary {
		p := profile{dropP: 0.2, dupP: 0.2, maxDelay: 4}
		n := newNetwork(rand.New(rand.NewPCG(7, 7)), &p)
		n.cutOneWay(1, 3)
		var got []msgSummary
		for step := range 50 {
			for to := raftpb.NodeID(2); to <= 3; to++ {
				m := raftpb.Message{Type: raftpb.MsgApp, From: 1, To: to, Index: raftpb.Index(step)}
				n.send(step, 1, &m)
				r := raftpb.Message{Type: raftpb.MsgAppResp, From: to, To: 1, Index: raftpb.Index(step)}
				n.send(step, to, &r)
			}
			for _, e := range n.due(step) {
				if _, err := e.decode(); err != nil {
					t.Fatal(err)
				}
				got = append(got, e.msg)
			}
		}
		return got
	}
	a, b := run(), run()
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("runs delivered %d and %d messages", len(a), len(b))
	}
	reordered := false
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("delivery %d differs between equal seeds: %s vs %s", i, a[i], b[i])
		}
		if a[i].from == 1 && a[i].to == 3 {
			t.Fatalf("message over the cut link 1->3 delivered: %s", a[i])
		}
		if i > 0 && a[i].index < a[i-1].index {
			reordered = true
		}
	}
	back := 0
	for _, m := range a {
		if m.from == 3 {
			back++
		}
	}
	if back == 0 {
		t.Fatalf("no message 3->1 delivered although only 1->3 is cut")
	}
	if !reordered {
		t.Fatalf("no reordering in %d deliveries with delays 1..4", len(a))
	}
}

// TestCheckerFires feeds the checker histories that break each history
// invariant and checks it names the right one.
func TestCheckerFires(t *testing.T) {
	newSim := func() (*sim, *node, *node) {
		s := &sim{nodes: map[raftpb.NodeID]*node{}, tr: newTracer(8, nil), opts: Options{Nodes: 3}}
		s.chk = newChecker(s)
		a, b := s.addNode(1), s.addNode(2)
		for _, n := range []*node{a, b} {
			if err := n.disk.bootstrap([]raftpb.NodeID{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
			n.up = true
		}
		return s, a, b
	}
	write := func(s *sim, n *node, es []raftpb.Entry) {
		w, c, err := n.disk.appendEntries(es)
		if err != nil {
			t.Fatal(err)
		}
		s.chk.written(n, w, c)
	}
	cases := []struct {
		name string
		want string
		run  func(s *sim, a, b *node)
	}{
		{"two leaders in one term", InvElectionSafety, func(s *sim, a, b *node) {
			s.chk.leaderElected(a, 5)
			s.chk.leaderElected(b, 5)
		}},
		{"same index and term, different prefix", InvLogMatching, func(s *sim, a, b *node) {
			write(s, a, ents(2, 2, 4))
			es := ents(2, 2, 4)
			es[0].Data = []byte("other")
			write(s, b, es)
		}},
		{"different entries committed at one index", InvStateMachine, func(s *sim, a, b *node) {
			write(s, a, ents(2, 2, 3))
			write(s, b, ents(3, 2, 3))
			a.hs.Term, b.hs.Term = 2, 3
			s.chk.commitAdvanced(a, 1, 3)
			s.chk.commitAdvanced(b, 1, 3)
		}},
		{"new leader lacks a committed entry", InvLeaderCompleteness, func(s *sim, a, b *node) {
			write(s, a, ents(2, 2, 3))
			a.hs.Term = 2
			s.chk.commitAdvanced(a, 1, 3)
			b.hs.Term = 3
			s.chk.leaderElected(b, 3)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, a, b := newSim()
			tc.run(s, a, b)
			if s.fail == nil || s.fail.Invariant != tc.want {
				t.Fatalf("got %v, want invariant %s", s.fail, tc.want)
			}
		})
	}
}

// TestReplayIsBitForBit: two runs of one seed produce the same event trace.
func TestReplayIsBitForBit(t *testing.T) {
	for _, seed := range []uint64{3, 4} {
		var a, b bytes.Buffer
		o := Options{Seed: seed, Nodes: nodesFor(seed), Steps: 300}
		o.Verbose = &a
		resA, errA := Run(o)
		o.Verbose = &b
		resB, errB := Run(o)
		if resA != resB || (errA == nil) != (errB == nil) || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("seed %d: two runs differ: %+v (%v) vs %+v (%v); traces %d vs %d bytes", seed, resA, errA, resB, errB, a.Len(), b.Len())
		}
		if a.Len() == 0 {
			t.Fatalf("seed %d: empty trace", seed)
		}
	}
}

// TestDiskTornCrash: a torn crash keeps exactly a prefix of the unsynced
// writes, down to a prefix of one append.
func TestDiskTornCrash(t *testing.T) {
	d := newDisk()
	if err := d.bootstrap([]raftpb.NodeID{1}); err != nil {
		t.Fatal(err)
	}
	d.appendEntries(ents(2, 2, 4))
	d.fsync()
	d.setHardState(raftpb.HardState{Term: 3, Vote: 1, Commit: 4}) // op 0
	d.appendEntries(ents(3, 3, 8))                                // op 1: truncates 3..4
	d.setHardState(raftpb.HardState{Term: 3, Vote: 1, Commit: 6}) // op 2
	if err := d.crash(1, 2); err != nil {                         // op 0, then 3..4 of op 1
		t.Fatal(err)
	}
	if d.written.hs.Term != 3 || d.written.hs.Commit != 4 {
		t.Fatalf("hard state %+v, want the first unsynced one", d.written.hs)
	}
	if last := d.written.lastIndex(); last != 4 {
		t.Fatalf("last index %d, want 4 (2 of op 1's entries)", last)
	}
	if tm, _ := d.written.termAt(3); tm != 3 {
		t.Fatalf("term at 3 is %d, want 3 (the torn append replaced it)", tm)
	}
	if tm, _ := d.mem.Term(4); tm != 3 {
		t.Fatalf("rebuilt MemoryStorage term at 4 is %d, want 3", tm)
	}
	// The synced image of before must be untouched by the replay.
	h := bootstrapChain()
	for _, e := range ents(2, 2, 2) {
		h = chainNext(h, &e)
	}
	for _, e := range ents(3, 3, 4) {
		h = chainNext(h, &e)
	}
	if c, _ := d.written.chainAt(4); c != h {
		t.Fatalf("chain at 4 = %x, want %x", c, h)
	}
}
