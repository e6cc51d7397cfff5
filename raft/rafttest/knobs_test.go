package rafttest

import (
	"testing"

	"github.com/shelf-kv/shelf/raft"
)

// knobBudget is how many seeds each injected bug may take to be caught.
const knobBudget = 1000

// injectedBugs are the classic raft bugs the checker must catch: the
// library's TestingKnobs and the driver's "ack before persist".
var injectedBugs = []struct {
	name  string
	apply func(*Options)
}{
	{"CountStaleVotes", func(o *Options) { o.Knobs = raft.TestingKnobs{CountStaleVotes: true} }},
	{"CommitPreviousTermByCount", func(o *Options) { o.Knobs = raft.TestingKnobs{CommitPreviousTermByCount: true} }},
	{"IgnoreLogUpToDate", func(o *Options) { o.Knobs = raft.TestingKnobs{IgnoreLogUpToDate: true} }},
	{"AckBeforePersist", func(o *Options) { o.AckBeforePersist = true }},
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
			failures, runs, _ := runSeedsUntil(1, knobBudget, true, isSafety, mk)
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
			t.Logf("%s caught at seed %d (%d members) after %d seed(s): invariant %s at step %d: %s\nreplay: %s",
				bug.name, f.Seed, f.Nodes, f.Seed, f.Invariant, f.Step, f.Detail, replayCmd(test, f))
		})
	}
}
