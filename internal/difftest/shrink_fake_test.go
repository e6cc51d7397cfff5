package difftest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// fakeOracle answers every op the same way.
type fakeOracle struct{}

func (fakeOracle) do(o op) answer { return answer{200, `{"ok":true}`} }

// fakeSubject has one planted bug: once it has seen an op with body "A"
// and after it one with body "B", it answers "C" wrongly.
type fakeSubject struct{ sawA, sawAB bool }

func (f *fakeSubject) do(o op) answer {
	switch o.Body {
	case "A":
		f.sawA = true
	case "B":
		f.sawAB = f.sawAB || f.sawA
	case "C":
		if f.sawAB {
			return answer{200, `{"ok":false}`}
		}
	}
	return answer{200, `{"ok":true}`}
}

// TestShrinkFindsMinimalSequence feeds the shrinker (through the same
// investigate path a real difference takes, with fresh fake systems per
// replay) long random sequences in which the planted bug shows, and
// requires the report to name exactly the three ops A, B, C.
func TestShrinkFindsMinimalSequence(t *testing.T) {
	pairs := 0
	mk := func(testing.TB) (system, system) {
		pairs++
		return fakeOracle{}, &fakeSubject{}
	}
	for seed := uint64(1); seed <= 20; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 0))
		// A, B and C are rare among noise, so the bug shows after
		// dozens of ops, with many As, Bs and Cs that do not matter.
		var ops []op
		for i := 0; i < 5000; i++ {
			body := fmt.Sprint("n", rnd.IntN(50))
			if x := rnd.IntN(300); x < 3 {
				body = string(rune('A' + x))
			}
			ops = append(ops, op{Path: "/fake", Body: body, Member: i % 3})
		}
		d := runOps(fakeOracle{}, &fakeSubject{}, ops)
		if d == nil || d.index < 50 {
			t.Fatalf("seed %d: the planted bug shows at %v, want after 50+ ops", seed, d)
		}
		// On odd seeds every op is said to change state; on even ones
		// only A and B do, so investigate's first cut (dropping the ops
		// that changed nothing) is exercised both ways.
		mutates := make([]bool, len(ops))
		for i, o := range ops {
			mutates[i] = seed%2 == 1 || o.Body == "A" || o.Body == "B"
		}
		pairs = 0
		report := investigate(t, mk, seed, ops, mutates, d, 200)
		if !strings.Contains(report, fmt.Sprintf("seed %d", seed)) ||
			!strings.Contains(report, "smallest sequence found (3 of") {
			t.Fatalf("seed %d: report does not give the seed and a 3-op sequence:\n%s", seed, report)
		}
		_, listing, _ := strings.Cut(report, "smallest sequence found")
		listing, _, _ = strings.Cut(listing, "on a fresh pair")
		var got []string
		for _, line := range strings.Split(listing, "\n") {
			if _, body, ok := strings.Cut(line, ": POST /fake "); ok {
				got = append(got, body)
			}
		}
		if want := []string{"A", "B", "C"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: shrunk to %q, want %q\n%s", seed, got, want, report)
		}
		// The budget bounds the shrinking replays; the report's own
		// confirmation and final replay come on top.
		if pairs > 200 {
			t.Fatalf("seed %d: %d replays, over the budget of 200", seed, pairs)
		}
		t.Logf("seed %d: the difference at op %d shrunk to A, B, C in %d replays", seed, d.index, pairs)
	}
}

// TestShrinkUnit checks the delta debugging core on plain ints: the result
// ends with the failing element, is 1-minimal, respects the budget, and a
// candidate failing before its end cuts the rest.
func TestShrinkUnit(t *testing.T) {
	// fails when the sequence holds 3, 17 and 40 (in any order) and ends
	// with 99; like a replay it reports the prefix up to the failure.
	failsAt := func(xs []int) ([]int, bool) {
		seen := map[int]bool{}
		for _, x := range xs {
			seen[x] = true
		}
		return xs, seen[3] && seen[17] && seen[40] && xs[len(xs)-1] == 99
	}
	var xs []int
	for i := 0; i < 500; i++ {
		xs = append(xs, i%50)
	}
	xs = append(xs, 99)
	got, calls := shrink(xs, 1000, failsAt)
	if _, ok := failsAt(got); !ok || len(got) != 4 || got[3] != 99 {
		t.Fatalf("shrink: %v after %d calls, want 3, 17, 40 (some order) then 99", got, calls)
	}
	for i := range got[:3] {
		without := append(append([]int(nil), got[:i]...), got[i+1:]...)
		if _, ok := failsAt(without); ok {
			t.Fatalf("shrink: %v is not 1-minimal: %v fails too", got, without)
		}
	}
	// A tiny budget stops early with a still-failing sequence.
	got, calls = shrink(xs, 3, failsAt)
	if _, ok := failsAt(got); calls > 3 || !ok {
		t.Fatalf("budget 3: %d calls, result %v", calls, got)
	}
	// Nothing needed but the last element.
	got, _ = shrink(xs, 10, func(xs []int) ([]int, bool) { return xs, xs[len(xs)-1] == 99 })
	if !reflect.DeepEqual(got, []int{99}) {
		t.Fatalf("stateless failure shrunk to %v, want [99]", got)
	}
	// A failure showing at the first 7 (after a 5) cuts the candidate
	// there: the result is [5 7], though the input ended with 99.
	early := func(xs []int) ([]int, bool) {
		five := false
		for i, x := range xs {
			five = five || x == 5
			if five && x == 7 {
				return xs[:i+1], true
			}
		}
		return nil, false
	}
	got, _ = shrink(xs, 100, early)
	if !reflect.DeepEqual(got, []int{5, 7}) {
		t.Fatalf("early failure shrunk to %v, want [5 7]", got)
	}
}
