package rafttest

import (
	"testing"
	"time"
)

// BenchmarkSimulation measures whole simulated runs (one seed per
// iteration, default steps, alternating 3 and 5 members) on one goroutine.
func BenchmarkSimulation(b *testing.B) {
	start := time.Now()
	seed := uint64(0)
	for b.Loop() {
		seed++
		if _, err := Run(Options{Seed: seed, Nodes: nodesFor(seed)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(seed)/time.Since(start).Seconds(), "seeds/s")
}
