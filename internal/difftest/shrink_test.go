package difftest

import (
	"fmt"
	"strings"
	"testing"
)

// difference is the first op on which the two systems answered differently.
type difference struct {
	index     int // of the op in its sequence
	op        op
	want, got answer
	fields    []string // compareAnswers' lines
}

func (d *difference) String() string {
	return fmt.Sprintf("op %d (%s) differs:\n    %s\n  etcd:  %s\n  shelf: %s",
		d.index, d.op, strings.Join(d.fields, "\n    "), d.want, d.got)
}

// runOps sends ops in order to both systems and returns the first
// difference, or nil. observe, when set, sees every op with the oracle's
// answer (the generator uses it to follow the oracle's revisions).
func runOps(oracle, subject system, ops []op) *difference {
	for i, o := range ops {
		want, got := both(oracle, subject, o)
		if d := compareAnswers(want, got); len(d) > 0 {
			return &difference{index: i, op: o, want: want, got: got, fields: d}
		}
	}
	return nil
}

// replay runs ops against a fresh pair from mk, in a subtest so the pair is
// stopped as soon as the attempt ends, and returns the first difference.
// A pair that fails to start counts as "no difference" (the subtest's
// failure is reported and fails the parent).
func replay(t *testing.T, mk systems, ops []op, name string) *difference {
	var d *difference
	t.Run(name, func(t *testing.T) {
		oracle, subject := mk(t)
		d = runOps(oracle, subject, ops)
	})
	return d
}

// shrink is delta debugging (Zeller's ddmin) with the last op held fixed:
// it returns a subsequence of ops that still ends with ops[len(ops)-1] and
// on which fails reports true, removing chunks of the ops before it, first
// halves, then ever smaller pieces, down to single ops. When the budget of
// calls to fails suffices the result is 1-minimal: removing any one op of it
// makes fails report false. fails(ops) itself is assumed true and not
// called. It returns the subsequence and the number of calls made.
func shrink[T any](ops []T, budget int, fails func([]T) bool) ([]T, int) {
	if len(ops) == 0 {
		return ops, 0
	}
	last := ops[len(ops)-1]
	cur := append([]T(nil), ops[:len(ops)-1]...)
	calls := 0
	try := func(prefix []T) bool {
		calls++
		return fails(append(append([]T(nil), prefix...), last))
	}
	// A difference that needs no history is the common case: try the
	// last op alone first.
	if calls < budget && try(nil) {
		return []T{last}, calls
	}
	for n := 2; len(cur) > 0 && calls < budget; {
		n = min(n, len(cur))
		chunks := split(cur, n)
		reduced := false
		// A single chunk (plus the last op) may be enough on its own.
		for i := 0; i < len(chunks) && calls < budget && n > 1; i++ {
			if try(chunks[i]) {
				cur, n, reduced = chunks[i], 2, true
				break
			}
		}
		// Otherwise drop one chunk at a time. With n == 2 the
		// complements are the chunks already tried, except when n == 1.
		for i := 0; !reduced && i < len(chunks) && calls < budget && (n > 2 || n == 1); i++ {
			rest := complement(chunks, i)
			if try(rest) {
				cur, n, reduced = rest, max(n-1, 2), true
			}
		}
		if !reduced {
			if n >= len(cur) {
				break // single ops, none removable: 1-minimal
			}
			n = min(2*n, len(cur))
		}
	}
	return append(cur, last), calls
}

// split cuts xs into n contiguous chunks of nearly equal length.
func split[T any](xs []T, n int) [][]T {
	var out [][]T
	for i := 0; i < n; i++ {
		lo, hi := i*len(xs)/n, (i+1)*len(xs)/n
		if lo < hi {
			out = append(out, xs[lo:hi])
		}
	}
	return out
}

// complement joins every chunk but the i-th.
func complement[T any](chunks [][]T, i int) []T {
	var out []T
	for j, c := range chunks {
		if j != i {
			out = append(out, c...)
		}
	}
	return out
}

// investigate is what a failing run does: it cuts the sequence after the
// differing op, shrinks it by replaying candidates against fresh pairs
// from mk (at most budget replays), and returns the report: the seed, the
// difference, and the smallest sequence found with the difference it shows.
func investigate(t *testing.T, mk systems, seed uint64, ops []op, d *difference, budget int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "difftest: seed %d: after %d ops, %s\n", seed, d.index, d)
	prefix := ops[:d.index+1]
	attempt := 0
	fails := func(sub []op) bool {
		attempt++
		return replay(t, mk, sub, fmt.Sprintf("shrink-%d", attempt)) != nil
	}
	if !fails(prefix) {
		fmt.Fprintf(&b, "the %d ops up to it show no difference on a fresh pair: the difference depends on timing, not on the sequence\n", len(prefix))
		fmt.Fprintf(&b, "replay: go test ./internal/difftest -run 'TestDifferential$' -difftest.seed=%d -difftest.ops=%d\n", seed, d.index+1)
		return b.String()
	}
	small, calls := shrink(prefix, budget, fails)
	final := replay(t, mk, small, "shrunk")
	fmt.Fprintf(&b, "smallest sequence found (%d of %d ops, %d replays):\n", len(small), len(prefix), calls+2)
	for i, o := range small {
		fmt.Fprintf(&b, "  %d: %s\n      %s\n", i, o, curl(o))
	}
	if final != nil {
		fmt.Fprintf(&b, "on a fresh pair it shows: %s\n", final)
	} else {
		fmt.Fprintf(&b, "(a fresh replay of it showed no difference this time: timing-dependent)\n")
	}
	fmt.Fprintf(&b, "replay: go test ./internal/difftest -run 'TestDifferential$' -difftest.seed=%d -difftest.ops=%d\n", seed, d.index+1)
	return b.String()
}
