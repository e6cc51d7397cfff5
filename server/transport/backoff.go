package transport

import (
	"math/rand/v2"
	"time"
)

// backoff computes redial delays: exponential from min, capped at max, with
// "equal jitter" (a delay d becomes a uniform value in [d/2, d]) so that
// members that lost a peer at the same moment do not redial in lockstep.
// Randomness comes from a seeded source, so a run is reproducible.
// Not safe for concurrent use: each stream writer owns one.
type backoff struct {
	min, max time.Duration
	rnd      *rand.Rand
	// attempt counts failures since the last reset. Invariant: >= 0.
	attempt int
}

func newBackoff(min, max time.Duration, seed uint64) *backoff {
	return &backoff{min: min, max: max, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// next returns the delay before the next attempt and counts one failure.
func (b *backoff) next() time.Duration {
	d := b.min
	for i := 0; i < b.attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	if b.attempt < 62 {
		b.attempt++
	}
	half := d / 2
	return half + time.Duration(b.rnd.Int64N(int64(d-half)+1))
}

// reset forgets past failures: the next delay starts from min again.
func (b *backoff) reset() { b.attempt = 0 }
