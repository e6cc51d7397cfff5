package wal

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Clock is the WAL's only source of time: it times fsyncs for the histogram
// and waits out the latency a DiskProfile adds. Tests may inject a fake.
type Clock interface {
	Now() time.Time
	Sleep(d time.Duration)
}

// systemClock is the default Clock: the real wall clock.
type systemClock struct{}

func (systemClock) Now() time.Time        { return time.Now() }
func (systemClock) Sleep(d time.Duration) { time.Sleep(d) }

// Options configures Open. The zero value is valid: every field documents
// its default.
type Options struct {
	// SegmentSize is the target size of one segment file in bytes, handed
	// to tidwall/wal. Default 16 MiB: the library keeps the whole last
	// segment (and up to two more for reads) in memory and rewrites the
	// segment holding the new head on every CompactTo/ResetTo, so smaller
	// segments bound both; larger ones mean fewer files.
	SegmentSize int

	// TailCacheBytes bounds the in-memory cache of recently appended
	// entries, counted as encoded frame bytes. Reads served from it never
	// touch the library (and so never wait on an fsync in progress).
	// Default 16 MiB. The most recent batch is always cached in full.
	TailCacheBytes int

	// Logger receives repairs and failures. Default: a logger that discards
	// everything.
	Logger *slog.Logger

	// DiskProfile adds emulated fsync latency (see doc.go). Default
	// ProfileReal (nothing added).
	DiskProfile DiskProfile

	// Rand is the source of the DiskProfile jitter. Default: a PCG seeded
	// with (1, 2), so two runs with the same workload draw the same delays.
	// Used only by the writer goroutine.
	Rand rand.Source

	// Clock times fsyncs and sleeps the profile's latency. Default: the
	// system clock.
	Clock Clock

	// Metrics, if not nil, is where the WAL's Prometheus collectors are
	// registered (Open fails if registration fails, e.g. a second WAL on
	// the same registry). Default nil: the collectors exist, count, and are
	// reachable through Collectors(), but are registered nowhere.
	Metrics prometheus.Registerer

	// NoSync skips every fsync (file and directory). Only for benchmarks
	// and tests that do not care about durability. With a DiskProfile
	// other than real, each skipped data fsync still waits the profile's
	// latency and is counted: a pure emulation of that disk class,
	// independent of the host's disk. Default false.
	NoSync bool

	// FsyncHook is a TEST-ONLY error-injection seam. If set, it is called
	// immediately before every fsync the WAL itself issues (segment data
	// and directory) with the path being synced; a non-nil return is
	// treated exactly as if that fsync had failed, which is fatal for the
	// WAL. Default nil. fsyncs the library performs internally (on segment
	// roll-over and inside truncations) do not pass through it.
	FsyncHook func(path string) error
}

// Default values for Options; see the field comments.
const (
	DefaultSegmentSize    = 16 << 20
	DefaultTailCacheBytes = 16 << 20
)

// withDefaults validates o and returns a copy with every default filled in.
func (o Options) withDefaults() (Options, error) {
	if o.SegmentSize < 0 {
		return o, fmt.Errorf("%w: Options.SegmentSize %d is negative", ErrInvalid, o.SegmentSize)
	}
	if o.TailCacheBytes < 0 {
		return o, fmt.Errorf("%w: Options.TailCacheBytes %d is negative", ErrInvalid, o.TailCacheBytes)
	}
	if !o.DiskProfile.valid() {
		return o, fmt.Errorf("%w: Options.DiskProfile %s is not a defined profile", ErrInvalid, o.DiskProfile)
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.TailCacheBytes == 0 {
		o.TailCacheBytes = DefaultTailCacheBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Rand == nil {
		o.Rand = rand.NewPCG(1, 2)
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	return o, nil
}
