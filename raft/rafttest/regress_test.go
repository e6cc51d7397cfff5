package rafttest

import (
	"fmt"
	"os"
	"testing"
)

// regressions are seeds that once broke an invariant, with the bug they
// found. A seed replays the schedule of the harness at the commit that added
// it; when the harness's random draws change, a seed keeps running (more
// coverage) but may no longer steer into its bug, so entries that need a
// feature pin it with tweak, and new features draw from sim.aux, not the main
// stream. After a change to the main stream, re-derive the seeds: build this
// package against the buggy library (git archive <commit> go.mod go.sum raft
// into a scratch directory, copy raft/rafttest over it) and pick seeds that
// fail there and pass at HEAD.
var regressions = []struct {
	seed  uint64
	nodes int
	tweak func(*profile)
	bug   string
}{
	// Found against raft 4afb752, fixed by 740a212 (seeds re-checked
	// against 4afb752 with the harness at the commit that last edited them).
	{18, 5, nil, "SIM-1: lost MsgApps that filled the inflight window were never retransmitted (liveness)"},
	{67, 3, nil, "SIM-1: lost MsgApps that filled the inflight window were never retransmitted (acked-durable)"},
	{4, 5, tweakFullWindow, "SIM-1: lost MsgApps that filled the inflight window were never retransmitted (liveness)"},
	{190, 5, tweakSnapDuringReady, "SIM-2: MsgSnap stepped between Ready and Advance; ApplyConfChange of older entries corrupted the restored membership"},
	{406, 5, tweakSnapDuringReady, "SIM-2: MsgSnap stepped between Ready and Advance; ApplyConfChange of older entries corrupted the restored membership"},
	// Found against raft 61696b9 / cd566cd (open when added).
	{48202, 5, nil, "SIM-4: after a torn crash kept a Ready's entries (term 36) but not its HardState (term 34), the restarted node raised its term to 36 without ever reporting it with MustSync"},
	{89, 3, tweakSlowDiskStepInReady, "SIM-3: a lagging voter with a higher term ignores the lower-term MsgVote of the only other voter, which it does not know is a voter: no leader ever (PreVote off)"},
}

// tweakSlowDiskStepInReady: slow fsyncs, late application, stepping during
// a Ready, frequent snapshots.
func tweakSlowDiskStepInReady(p *profile) {
	p.stepInReady, p.applyEarlyP, p.maxFsync, p.snapEvery = true, 0, 5, 3
}

// tweakFullWindow steers into SIM-1: a small window and a lossy network.
func tweakFullWindow(p *profile) {
	p.maxInflight, p.dropP = 1+int(p.maxFsync%2)*3, 0.05+p.dropP
}

// tweakSnapDuringReady steers into SIM-2: frequent membership changes and
// snapshots, slow fsyncs, late application, and stepping during a Ready.
func tweakSnapDuringReady(p *profile) {
	p.confP, p.snapEvery, p.snapP, p.stepInReady, p.applyEarlyP, p.maxFsync = 0.03, 5, 0.3, true, 0, 3
}

// TestRegressionSeeds replays every seed that ever failed.
func TestRegressionSeeds(t *testing.T) {
	for _, r := range regressions {
		t.Run(fmt.Sprintf("seed=%d/nodes=%d", r.seed, r.nodes), func(t *testing.T) {
			t.Parallel()
			o := Options{Seed: r.seed, Nodes: r.nodes, Steps: *flagSteps, tweak: r.tweak}
			if *flagV {
				o.Verbose = os.Stdout
			}
			if _, err := Run(o); err != nil {
				if f, ok := err.(*Failure); ok {
					replay := fmt.Sprintf("go test ./raft/rafttest -run 'TestRegressionSeeds/seed=%d/' -v   (add -sim.v for the full event trace)", r.seed)
					t.Fatalf("regression (%s) is back:\n%s", r.bug, f.Report(replay))
				}
				t.Fatal(err)
			}
		})
	}
}

// regressionStress are seed ranges run with a profile pinned to steer into a
// bug that was once found: they keep finding it even after unrelated changes
// to the harness or the library move the single seeds above.
var regressionStress = []struct {
	name  string
	seeds int
	tweak func(*profile)
	bug   string
}{
	{"FullWindowLoss", 100, tweakFullWindow, "SIM-1: lost MsgApps that filled the inflight window were never retransmitted (liveness)"},
	{"SlowDiskStepInReady", 150, tweakSlowDiskStepInReady, "SIM-3 (and anything else a slow disk under a concurrent driver finds)"},
	{"SnapshotDuringReady", 300, tweakSnapDuringReady, "SIM-2: MsgSnap stepped between Ready and Advance; ApplyConfChange of older entries corrupted the restored membership"},
}

// TestRegressionStress runs each pinned family over its seed range.
func TestRegressionStress(t *testing.T) {
	for _, fam := range regressionStress {
		t.Run(fam.name, func(t *testing.T) {
			n := fam.seeds
			if testing.Short() {
				n /= 4
			}
			mk := func(seed uint64) Options {
				o := baseOptions(seed)
				o.tweak = fam.tweak
				return o
			}
			first, last := uint64(1), uint64(n)
			if *flagSeed >= 0 {
				first, last = uint64(*flagSeed), uint64(*flagSeed)
			}
			failures, _, _ := runSeeds(first, last, false, mk)
			for i, f := range failures {
				replay := fmt.Sprintf("go test ./raft/rafttest -run 'TestRegressionStress/%s$' -sim.seed=%d -sim.nodes=%d -v", fam.name, f.Seed, f.Nodes)
				if i == 0 {
					t.Errorf("%s: %d of %d seeds fail; first:\n%s", fam.bug, len(failures), last-first+1, f.Report(replay))
				} else {
					t.Errorf("also: %v", f)
				}
			}
		})
	}
}
