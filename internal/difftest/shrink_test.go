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
		if d := compareAnswers(o.Path, want, got); len(d) > 0 {
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

// shrink is delta debugging (Zeller's ddmin) on a sequence whose last
// element shows a failure. fails replays a candidate and, when it fails,
// returns the shortest prefix of the candidate that fails (ending with the
// element that showed it), so a candidate that fails earlier than its end
// cuts everything after. shrink holds the current last element fixed and
// removes chunks of the elements before it: first halves, then ever smaller
// pieces, down to single elements. When the budget of calls to fails
// suffices the result is 1-minimal: removing any one element before the last
// makes the failure go away. fails(seq) itself is assumed to fail and is not
// called. shrink returns the smallest failing sequence found and the number
// of calls made.
func shrink[T any](seq []T, budget int, fails func([]T) ([]T, bool)) ([]T, int) {
	if len(seq) == 0 {
		return seq, 0
	}
	calls := 0
	// try replays prefix + the current last element; on a failure seq
	// becomes what fails returned.
	try := func(prefix []T) bool {
		calls++
		cand := append(append([]T(nil), prefix...), seq[len(seq)-1])
		got, ok := fails(cand)
		if ok {
			seq = got
		}
		return ok
	}
	// A failure that needs no history is the common case: try the last
	// element alone first.
	if budget > 0 && try(nil) {
		return seq, calls
	}
	for n := 2; len(seq) > 1 && calls < budget; {
		cur := seq[:len(seq)-1]
		n = min(n, len(cur))
		chunks := split(cur, n)
		reduced := false
		// A single chunk (plus the last element) may be enough.
		for i := 0; i < len(chunks) && calls < budget && n > 1; i++ {
			if try(chunks[i]) {
				n, reduced = 2, true
				break
			}
		}
		// Otherwise drop one chunk at a time. With n == 2 the
		// complements are the chunks just tried.
		for i := 0; !reduced && i < len(chunks) && calls < budget && n != 2; i++ {
			if try(complement(chunks, i)) {
				n, reduced = max(n-1, 2), true
			}
		}
		if !reduced {
			if n >= len(cur) {
				break // single elements, none removable: 1-minimal
			}
			n = min(2*n, len(cur))
		}
	}
	return seq, calls
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
// mutates[i] tells whether ops[i] changed the oracle's state (a new
// revision, a compaction, a lease); the first candidate leaves out every op
// that did not, since reads and refused requests rarely matter.
func investigate(t *testing.T, mk systems, seed uint64, ops []op, mutates []bool, d *difference, budget int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "difftest: seed %d: after %d ops, %s\n", seed, d.index, d)
	replays := 0
	var last *difference
	fails := func(sub []op) ([]op, bool) {
		replays++
		last = replay(t, mk, sub, fmt.Sprintf("shrink-%d", replays))
		if last == nil {
			return nil, false
		}
		return sub[:last.index+1], true
	}
	seq, ok := fails(ops[:d.index+1])
	if !ok {
		fmt.Fprintf(&b, "the %d ops up to it show no difference on a fresh pair: the difference depends on timing, not on the sequence\n", d.index+1)
		fmt.Fprintf(&b, "replay: go test ./internal/difftest -run 'TestDifferential$' -difftest.seed=%d -difftest.ops=%d\n", seed, d.index+1)
		return b.String()
	}
	found := last
	var writes []op
	for i, o := range seq[:len(seq)-1] {
		if mutates[i] {
			writes = append(writes, o)
		}
	}
	if len(writes) < len(seq)-1 {
		if got, ok := fails(append(writes, seq[len(seq)-1])); ok {
			seq, found = got, last
		}
	}
	small, _ := shrink(seq, max(budget-replays, 0), func(sub []op) ([]op, bool) {
		got, ok := fails(sub)
		if ok {
			found = last
		}
		return got, ok
	})
	fmt.Fprintf(&b, "smallest sequence found (%d of %d ops, %d replays on fresh pairs):\n", len(small), d.index+1, replays)
	for i, o := range small {
		fmt.Fprintf(&b, "  %d: %s\n      %s\n", i, o, curl(o))
	}
	fmt.Fprintf(&b, "on a fresh pair it shows: %s\n", found)
	fmt.Fprintf(&b, "replay: go test ./internal/difftest -run 'TestDifferential$' -difftest.seed=%d -difftest.ops=%d\n", seed, d.index+1)
	return b.String()
}
