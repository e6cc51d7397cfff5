package difftest

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"
)

var (
	flagOps = flag.Int("difftest.ops", 10_000,
		"number of ops TestDifferential sends (1,000 with -short)")
	flagSeed = flag.Uint64("difftest.seed", 0,
		"seed of TestDifferential's op sequence (0: a new one from the clock, logged)")
	flagShrink = flag.Int("difftest.shrink", 80,
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
	ops, d, stats := runSeed(t, realSystems, seed, n)
	if d != nil {
		t.Fatal(investigate(t, realSystems, seed, ops, d, *flagShrink))
	}
	t.Logf("difftest: seed %d: %d ops, every answer equal (%s)", seed, n, stats)
}

// runSeed generates n ops from seed and runs them on a fresh pair,
// generation following the oracle's answers. It returns the ops sent, the
// first difference (nil if none) and a summary of what was sent.
func runSeed(t *testing.T, mk systems, seed uint64, n int) ([]op, *difference, string) {
	t.Helper()
	oracle, subject := mk(t)
	g := newGen(seed)
	ops := make([]op, 0, n)
	count := map[string]int{}
	errs := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		o := g.next()
		ops = append(ops, o)
		want, got := both(oracle, subject, o)
		if f := compareAnswers(want, got); len(f) > 0 {
			return ops, &difference{index: i, op: o, want: want, got: got, fields: f}, ""
		}
		g.observe(o, want)
		count[o.Path]++
		if want.status != 200 {
			errs++
		}
	}
	return ops, nil, summary(count, errs, g, time.Since(start))
}

func summary(count map[string]int, errs int, g *gen, d time.Duration) string {
	var b strings.Builder
	for _, p := range []string{"/v3/kv/put", "/v3/kv/range", "/v3/kv/deleterange", "/v3/kv/txn", "/v3/kv/compaction"} {
		fmt.Fprintf(&b, "%s=%d ", strings.TrimPrefix(p, "/v3/"), count[p])
	}
	fmt.Fprintf(&b, "errors=%d, final revision %d, compacted at %d, in %v", errs, g.cur, g.compacted, d.Round(time.Millisecond))
	return b.String()
}
