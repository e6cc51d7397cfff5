package difftest

import (
	"encoding/json"
	"flag"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

var (
	flagOps = flag.Int("difftest.ops", 10_000,
		"number of ops TestDifferential sends (1,000 with -short)")
	// The default seed is fixed so `make test` is reproducible; `make
	// difftest` explores new seeds (0: one from the clock, logged).
	flagSeed = flag.Uint64("difftest.seed", 20261125,
		"seed of TestDifferential's op sequence (0: a new one from the clock, logged)")
	flagShrink = flag.Int("difftest.shrink", 150,
		"most replays against fresh etcd+shelf pairs when shrinking a difference")
)

// TestDifferential sends a seeded random sequence of ops to a 3-member
// shelf cluster (round-robin over the members) and to a single etcd, and
// requires every answer to be the same, field by field, apart from the
// header's cluster_id, member_id and raft_term. On a difference it prints
// the seed, the op, both answers and the smallest op sequence that still
// shows a difference on a fresh pair.
func TestDifferential(t *testing.T) {
	n := *flagOps
	if testing.Short() {
		n = min(n, 1_000)
	}
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("difftest: seed %d, %d ops (replay with -difftest.seed=%d)", seed, n, seed)
	r := runSeed(t, realSystems, seed, n)
	if r.diff != nil {
		t.Fatal(investigate(t, realSystems, seed, r.ops, r.mutates, r.diff, *flagShrink))
	}
	t.Logf("difftest: seed %d: %d ops, every answer equal (%s)", seed, n, r.summary)
}

// seedRun is what runSeed did.
type seedRun struct {
	ops     []op
	mutates []bool      // per op: it changed the oracle's state
	diff    *difference // the first difference, nil if none
	summary string      // what was sent, when there was no difference
}

// runSeed generates n ops from seed and runs them on a fresh pair,
// generation following the oracle's answers.
func runSeed(t *testing.T, mk systems, seed uint64, n int) seedRun {
	t.Helper()
	oracle, subject := mk(t)
	g := newGen(seed)
	r := seedRun{ops: make([]op, 0, n), mutates: make([]bool, 0, n)}
	count, errs := map[string]int{}, map[string]int{}
	start := time.Now()
	for i := 0; i < n; i++ {
		o := g.next()
		r.ops = append(r.ops, o)
		want, got := both(oracle, subject, o)
		if f := compareAnswers(o.Path, want, got); len(f) > 0 {
			r.diff = &difference{index: i, op: o, want: want, got: got, fields: f}
			return r
		}
		if want.status == -1 {
			t.Fatalf("seed %d, op %d: etcd gave no answer (the test's fault, not shelf's): %s\n  op: %s", seed, i, want, o)
		}
		if o.Path == "/v3/watch" {
			countWatch(want.body, count)
		}
		before := g.cur
		g.observe(o, want)
		r.mutates = append(r.mutates, g.cur != before || (want.status == 200 && mutatesWithoutRevision[o.Path]))
		count[o.Path]++
		if want.status != 200 {
			errs[errorMessage(want.body)]++
		}
	}
	r.summary = summary(count, errs, g, time.Since(start))
	return r
}

// countWatch adds a watch answer's events and cancels to count, so the
// summary shows the watches delivered something.
func countWatch(body string, count map[string]int) {
	var msgs []map[string]any
	if json.Unmarshal([]byte(body), &msgs) != nil {
		return
	}
	for _, m := range msgs {
		evs, _ := m["events"].([]any)
		count["watch events"] += len(evs)
		if m["canceled"] == true {
			count["watch canceled"]++
		}
	}
}

// mutatesWithoutRevision are the endpoints that change state without a new
// revision when they succeed.
var mutatesWithoutRevision = map[string]bool{
	"/v3/kv/compaction": true, "/v3/lease/grant": true, "/v3/lease/revoke": true,
}

// errorMessage returns the "message" of an error body (or the body).
func errorMessage(body string) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || e.Message == "" {
		return strings.TrimSpace(body)
	}
	return e.Message
}

// summary says what a run sent: ops per endpoint, the errors etcd gave
// (so a generator that stopped reaching an error path shows), revisions.
func summary(count, errs map[string]int, g *gen, d time.Duration) string {
	var b strings.Builder
	paths := make([]string, 0, len(count))
	for p := range count {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(&b, "%s=%d ", strings.TrimPrefix(p, "/v3/"), count[p])
	}
	fmt.Fprintf(&b, "final revision %d, compacted at %d, in %v; errors:", g.cur, g.compacted, d.Round(time.Millisecond))
	msgs := make([]string, 0, len(errs))
	for m := range errs {
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool { return errs[msgs[i]] > errs[msgs[j]] })
	for _, m := range msgs {
		fmt.Fprintf(&b, "\n  %5d %s", errs[m], m)
	}
	return b.String()
}
