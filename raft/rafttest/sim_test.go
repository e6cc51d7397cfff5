package rafttest

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
)

// Flags of the simulation. `make sim SEEDS=N` runs
// `go test -count=1 -timeout 0 -run TestSimulation ./raft/... -sim.seeds=N`.
var (
	flagSeeds = flag.Int("sim.seeds", defaultSeeds, "TestSimulation: number of seeds to run (seeds first..first+N-1)")
	flagFirst = flag.Uint64("sim.first", 1, "TestSimulation: first seed of the range")
	flagSeed  = flag.Int64("sim.seed", -1, "replay this one seed (>= 0) in TestSimulation / TestCheckerCatches")
	flagNodes = flag.Int("sim.nodes", 0, "initial voters; 0 alternates 3 (odd seeds) and 5 (even seeds)")
	flagSteps = flag.Int("sim.steps", 0, fmt.Sprintf("fault-phase steps per seed (0 = %d)", DefaultSteps))
	flagV     = flag.Bool("sim.v", false, "print every event of the run (use with -sim.seed)")
)

// defaultSeeds is what a plain `go test ./raft/rafttest` runs; -short runs
// shortSeeds (for the race detector).
const (
	defaultSeeds = 2000
	shortSeeds   = 100
)

// nodesFor returns the cluster size for seed.
func nodesFor(seed uint64) int {
	if *flagNodes > 0 {
		return *flagNodes
	}
	if seed%2 == 1 {
		return 3
	}
	return 5
}

// baseOptions are the Options of seed before any bug injection.
func baseOptions(seed uint64) Options {
	o := Options{Seed: seed, Nodes: nodesFor(seed), Steps: *flagSteps}
	if *flagV {
		o.Verbose = os.Stdout
	}
	return o
}

// replayCmd is the one command that replays a failing seed bit for bit.
func replayCmd(test string, f *Failure) string {
	cmd := fmt.Sprintf("go test ./raft/rafttest -run '^%s$' -sim.seed=%d -sim.nodes=%d", test, f.Seed, f.Nodes)
	if *flagSteps != 0 {
		cmd += fmt.Sprintf(" -sim.steps=%d", *flagSteps)
	}
	return cmd + " -v   (add -sim.v for the full event trace)"
}

// runSeeds runs mk(seed) for seeds first..last on GOMAXPROCS workers (each
// run is single-threaded and deterministic). Failures come back sorted by seed.
func runSeeds(first, last uint64, stopAtFirst bool, mk func(seed uint64) Options) (failures []*Failure, runs int64, stats Result) {
	return runSeedsUntil(first, last, stopAtFirst, nil, mk)
}

// runSeedsUntil is runSeeds where, if stopAtFirst, seeds above the smallest
// seed whose failure satisfies stop (any failure if stop is nil) are skipped.
func runSeedsUntil(first, last uint64, stopAtFirst bool, stop func(*Failure) bool, mk func(seed uint64) Options) (failures []*Failure, runs int64, stats Result) {
	var (
		next     atomic.Uint64
		best     atomic.Uint64
		mu       sync.Mutex
		wg       sync.WaitGroup
		nruns    atomic.Int64
		acked    atomic.Int64
		reads    atomic.Int64
		crashes  atomic.Int64
		confs    atomic.Int64
		snaps    atomic.Int64
		proposed atomic.Int64
	)
	next.Store(first)
	best.Store(^uint64(0))
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				seed := next.Add(1) - 1
				if seed > last || (stopAtFirst && seed > best.Load()) {
					return
				}
				res, err := Run(mk(seed))
				nruns.Add(1)
				acked.Add(int64(res.Acked))
				proposed.Add(int64(res.Proposals))
				reads.Add(int64(res.Reads))
				crashes.Add(int64(res.Crashes))
				confs.Add(int64(res.ConfChanges))
				snaps.Add(int64(res.Snapshots))
				if err == nil {
					continue
				}
				f, ok := err.(*Failure)
				if !ok {
					f = &Failure{Seed: seed, Invariant: "harness", Detail: err.Error()}
				}
				mu.Lock()
				failures = append(failures, f)
				mu.Unlock()
				for stop == nil || stop(f) {
					b := best.Load()
					if seed >= b || best.CompareAndSwap(b, seed) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	sort.Slice(failures, func(i, j int) bool { return failures[i].Seed < failures[j].Seed })
	stats = Result{Acked: int(acked.Load()), Proposals: int(proposed.Load()), Reads: int(reads.Load()),
		Crashes: int(crashes.Load()), ConfChanges: int(confs.Load()), Snapshots: int(snaps.Load())}
	return failures, nruns.Load(), stats
}

// TestSimulation runs -sim.seeds seeds (alternating 3- and 5-member
// clusters), or replays the one seed given by -sim.seed. Every failure is
// printed with its invariant, trace and replay command.
func TestSimulation(t *testing.T) {
	if *flagSeed >= 0 {
		seed := uint64(*flagSeed)
		res, err := Run(baseOptions(seed))
		if f, ok := err.(*Failure); ok {
			t.Fatal(f.Report(replayCmd("TestSimulation", f)))
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: ok: %+v", seed, res)
		return
	}
	n := *flagSeeds
	if testing.Short() && n == defaultSeeds {
		n = shortSeeds
	}
	failures, runs, st := runSeeds(*flagFirst, *flagFirst+uint64(n)-1, false, baseOptions)
	t.Logf("%d seeds run, %d failed; totals: %d proposals (%d acknowledged), %d reads checked, %d crashes, %d membership changes, %d snapshots",
		runs, len(failures), st.Proposals, st.Acked, st.Reads, st.Crashes, st.ConfChanges, st.Snapshots)
	const show = 3
	for i, f := range failures {
		if i < show {
			t.Error(f.Report(replayCmd("TestSimulation", f)))
		} else {
			t.Errorf("also failed: %v", f)
		}
	}
}

// TestLeaseReads runs seeds with ReadOnlyLeaseBased and every member ticking
// every step (lease reads are clock-dependent; the default profile never
// enables them). Linearizable-read is checked as for ReadIndex.
func TestLeaseReads(t *testing.T) {
	n := uint64(300)
	if testing.Short() {
		n = 40
	}
	first, last := uint64(1), n
	if *flagSeed >= 0 {
		first, last = uint64(*flagSeed), uint64(*flagSeed)
	}
	failures, runs, st := runSeeds(first, last, false, func(seed uint64) Options {
		o := baseOptions(seed)
		o.tweak = func(p *profile) { p.leaseRead, p.checkQuorum, p.tickP = true, true, 1 }
		return o
	})
	t.Logf("%d seeds with lease reads, %d reads checked", runs, st.Reads)
	for i, f := range failures {
		if i == 0 {
			t.Error(f.Report(fmt.Sprintf("go test ./raft/rafttest -run '^TestLeaseReads$' -sim.seed=%d -sim.nodes=%d -v", f.Seed, f.Nodes)))
		} else {
			t.Errorf("also failed: %v", f)
		}
	}
}
