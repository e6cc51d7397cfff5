package rafttest

import (
	"testing"

	"github.com/shelf-kv/shelf/raft"
)

// knobBudget is how many seeds each injected bug may take to be caught
// (seeds 1..knobBudget, in order). With -short (the race detector run) the
// bug's hint seed is tried first, and the full search only if it no longer
// catches the bug (library changes move schedules; update the hint then).
const knobBudget = 2000

// injectedBugs are the classic raft bugs the checker must catch: the
// library's TestingKnobs and the driver's "ack before persist". hint is the
// first seed that caught the bug when last measured (raft cd566cd).
var injectedBugs = []struct {
	name  string
	hint  uint64
	apply func(*Options)
}{
	{"CountStaleVotes", 237, func(o *Options) { o.Knobs = raft.TestingKnobs{CountStaleVotes: true} }},
	{"CommitPreviousTermByCount", 45, func(o *Options) { o.Knobs = raft.TestingKnobs{CommitPreviousTermByCount: true} }},
	{"IgnoreLogUpToDate", 1, func(o *Options) { o.Knobs = raft.TestingKnobs{IgnoreLogUpToDate: true} }},
	{"AckBeforePersist", 35, func(o *Options) { o.AckBeforePersist = true }},
	{"LocalReads", 1, func(o *Options) { o.LocalReads = true }},
}

// isSafety reports whether f broke a safety invariant (not liveness, which
// the injected bugs do not target and unrelated library bugs can break).
func isSafety(f *Failure) bool {
	switch f.Invariant {
	case InvLiveness, InvAckedDurable, InvLibrary, "harness":
		return false
	}
	return true
}

// TestCheckerCatches shows the checker is not vacuous: with each classic bug
// switched on, some seed within knobBudget breaks an invariant. It reports
// the first failing seed and the invariant that fired.
func TestCheckerCatches(t *testing.T) {
	for _, bug := range injectedBugs {
		t.Run(bug.name, func(t *testing.T) {
			mk := func(seed uint64) Options {
				o := baseOptions(seed)
				bug.apply(&o)
				return o
			}
			test := "TestCheckerCatches/" + bug.name
			if *flagSeed >= 0 {
				_, err := Run(mk(uint64(*flagSeed)))
				if f, ok := err.(*Failure); ok {
					t.Logf("caught as expected:\n%s", f.Report(replayCmd(test, f)))
					return
				}
				t.Fatalf("seed %d with %s: no invariant broke (err=%v)", *flagSeed, bug.name, err)
			}
			var (
				failures []*Failure
				runs     int64
			)
			if testing.Short() {
				failures, runs, _ = runSeedsUntil(bug.hint, bug.hint, true, isSafety, mk)
				if len(failures) == 0 || !isSafety(failures[0]) {
					t.Logf("hint seed %d no longer catches %s: searching 1..%d", bug.hint, bug.name, knobBudget)
					more, n, _ := runSeedsUntil(1, knobBudget, true, isSafety, mk)
					failures, runs = append(failures, more...), runs+n
				}
			} else {
				failures, runs, _ = runSeedsUntil(1, knobBudget, true, isSafety, mk)
			}
			var f *Failure
			for _, g := range failures {
				if isSafety(g) {
					f = g
					break
				}
			}
			if f == nil {
				t.Fatalf("%s: no safety invariant broke in %d seeds (%d other failures): the checker cannot see this bug", bug.name, runs, len(failures))
			}
			// The same seed without the bug must pass, or the failure is
			// not the bug's doing.
			if _, err := Run(baseOptions(f.Seed)); err != nil && isSafety(err.(*Failure)) {
				t.Errorf("seed %d also fails without %s, so it proves nothing about the checker: %v", f.Seed, bug.name, err)
			}
			t.Logf("%s caught at seed %d (%d members), %d seed(s) run: invariant %s at step %d: %s\nreplay: %s",
				bug.name, f.Seed, f.Nodes, runs, f.Invariant, f.Step, f.Detail, replayCmd(test, f))
		})
	}
}
