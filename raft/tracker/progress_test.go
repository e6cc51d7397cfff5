package tracker

import "testing"

func newPr(match, next uint64) *Progress {
	return &Progress{Match: idx(match), Next: idx(next), Inflights: NewInflights(4, 0)}
}

func TestProgressProbeBacktracking(t *testing.T) {
	pr := newPr(3, 11)
	pr.SentEntries(1, 10, 11)
	if !pr.IsPaused() {
		t.Fatal("a probe pauses until a response")
	}
	// A rejection of an older probe is stale.
	if pr.MaybeDecrTo(idx(7), idx(5)) {
		t.Fatal("stale rejection accepted")
	}
	// Rejection of the latest probe (Next-1 = 10) with hint 5: Next = 6.
	if !pr.MaybeDecrTo(idx(10), idx(5)) || pr.Next != 6 || pr.IsPaused() {
		t.Fatalf("after reject: next=%d paused=%v", pr.Next, pr.IsPaused())
	}
	// Never below Match+1.
	pr.Next = 6
	if !pr.MaybeDecrTo(idx(5), idx(0)) || pr.Next != 4 {
		t.Fatalf("next=%d, want Match+1=4", pr.Next)
	}
}

func TestProgressReplicate(t *testing.T) {
	pr := newPr(5, 6)
	pr.BecomeReplicate()
	pr.SentEntries(2, 20, 7)
	pr.SentEntries(1, 10, 8)
	if pr.Next != 9 || pr.Inflights.Count() != 2 {
		t.Fatalf("next=%d inflight=%d", pr.Next, pr.Inflights.Count())
	}
	if pr.MaybeDecrTo(idx(5), idx(5)) {
		t.Fatal("a rejection at or below Match is stale in replicate")
	}
	if !pr.MaybeUpdate(idx(7)) || pr.Match != 7 {
		t.Fatal("ack of 7 not applied")
	}
	if pr.MaybeUpdate(idx(6)) {
		t.Fatal("an older ack is not news")
	}
	if !pr.MaybeDecrTo(idx(8), idx(8)) || pr.Next != 8 {
		t.Fatalf("reject above match: next=%d, want 8", pr.Next)
	}
}

func TestProgressSnapshot(t *testing.T) {
	pr := newPr(2, 3)
	pr.BecomeSnapshot(idx(10))
	if !pr.IsPaused() || pr.PendingSnapshot != 10 || pr.Next != 11 {
		t.Fatalf("snapshot state: %s", pr)
	}
	pr.BecomeProbe()
	if pr.Next != 11 || pr.State != StateProbe {
		t.Fatalf("probe after snapshot: %s", pr)
	}
}

func TestTrackerCommittedAndQuorumActive(t *testing.T) {
	p := MakeProgressTracker(4, 0)
	for _, id := range []uint64{1, 2, 3} {
		p.Voters[nid(id)] = struct{}{}
		p.Progress[nid(id)] = p.NewProgress(1, false)
	}
	p.Learners[nid(4)] = struct{}{}
	p.Progress[nid(4)] = p.NewProgress(1, true)
	p.Progress[nid(1)].Match = 9
	p.Progress[nid(2)].Match = 7
	p.Progress[nid(4)].Match = 100 // learners never count
	if got := p.Committed(); got != 7 {
		t.Fatalf("committed %d, want 7", got)
	}
	for _, pr := range p.Progress {
		pr.RecentActive = false
	}
	p.Progress[nid(1)].RecentActive = true
	p.Progress[nid(4)].RecentActive = true
	if p.QuorumActive() {
		t.Fatal("one voter active of three is not a quorum")
	}
	p.Progress[nid(3)].RecentActive = true
	if !p.QuorumActive() {
		t.Fatal("two of three voters active is a quorum")
	}
	p.RecordVote(nid(1), true)
	p.RecordVote(nid(1), false) // the first vote sticks
	p.RecordVote(nid(4), true)  // learners do not vote
	if g, r, _ := p.TallyVotes(); g != 1 || r != 0 {
		t.Fatalf("tally %d/%d", g, r)
	}
	cs := p.ConfState()
	if len(cs.Voters) != 3 || len(cs.Learners) != 1 {
		t.Fatalf("ConfState %+v", cs)
	}
}
