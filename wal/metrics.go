package wal

import (
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Stats are plain counters for tests and benchmarks. All counts are since
// Open.
type Stats struct {
	// Fsyncs counts segment data fsyncs issued by the WAL (Save, cuts).
	Fsyncs uint64
	// SkippedFsyncs counts Saves that needed no fsync (commit-only moves).
	SkippedFsyncs uint64
	// DirFsyncs counts directory fsyncs.
	DirFsyncs uint64
	// Batches counts successful Save calls that wrote something.
	Batches uint64
	// Entries counts entries written by Save.
	Entries uint64
	// BytesWritten counts frame bytes handed to the library.
	BytesWritten uint64
	// Repairs counts tail repairs done by Open (0 or 1).
	Repairs uint64
}

// metrics holds the Prometheus collectors and the Stats counters. Counters
// are atomics because Stats may be read while the writer runs.
type metrics struct {
	fsyncDur   prometheus.Histogram
	fsyncs     prometheus.Counter
	bytes      prometheus.Counter
	stFsyncs   atomic.Uint64
	stSkipped  atomic.Uint64
	stDir      atomic.Uint64
	stBatches  atomic.Uint64
	stEntries  atomic.Uint64
	stBytes    atomic.Uint64
	stRepairs  atomic.Uint64
	registerer prometheus.Registerer
}

// newMetrics builds the collectors and registers them on reg if reg is not
// nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		fsyncDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "etcd_disk_wal_fsync_duration_seconds",
			Help: "The latency distributions of fsync called by WAL, including any emulated disk-profile latency.",
			// etcd's buckets: 1ms doubling 14 times, up to 8.192s.
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		fsyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelf_wal_fsyncs_total",
			Help: "Number of segment data fsyncs issued by the WAL.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "etcd_disk_wal_write_bytes_total",
			Help: "Total number of bytes written to the WAL.",
		}),
		registerer: reg,
	}
	if reg == nil {
		return m, nil
	}
	for i, c := range m.Collectors() {
		if err := reg.Register(c); err != nil {
			for _, done := range m.Collectors()[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("%w: registering metrics: %v", ErrInvalid, err)
		}
	}
	return m, nil
}

// Collectors returns the collectors in a fixed order.
func (m *metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.fsyncDur, m.fsyncs, m.bytes}
}

// unregister removes the collectors from the registerer given at Open.
func (m *metrics) unregister() {
	if m.registerer == nil {
		return
	}
	for _, c := range m.Collectors() {
		m.registerer.Unregister(c)
	}
}

func (m *metrics) stats() Stats {
	return Stats{
		Fsyncs:        m.stFsyncs.Load(),
		SkippedFsyncs: m.stSkipped.Load(),
		DirFsyncs:     m.stDir.Load(),
		Batches:       m.stBatches.Load(),
		Entries:       m.stEntries.Load(),
		BytesWritten:  m.stBytes.Load(),
		Repairs:       m.stRepairs.Load(),
	}
}
