package wal

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

func TestParseDiskProfile(t *testing.T) {
	for _, name := range []string{"real", "nvme", "SSD", "hdd", "network"} {
		p, err := ParseDiskProfile(name)
		if err != nil || !strings.EqualFold(p.String(), name) {
			t.Errorf("ParseDiskProfile(%q) = %v, %v", name, p, err)
		}
	}
	_, err := ParseDiskProfile("floppy")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "real, nvme, ssd, hdd, network") || !strings.Contains(err.Error(), "floppy") {
		t.Errorf("ParseDiskProfile(floppy): %v", err)
	}
}

func TestProfileDelayWithinJitter(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for p := ProfileReal; p <= ProfileNetwork; p++ {
		s := profileSpecs[p]
		for range 1000 {
			d := p.delay(rng)
			if d < s.mean-s.jitter || d > s.mean+s.jitter {
				t.Fatalf("%s: delay %v outside %v ± %v", p, d, s.mean, s.jitter)
			}
		}
	}
	// Same seed, same draws.
	a, b := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
	for range 100 {
		if ProfileHDD.delay(a) != ProfileHDD.delay(b) {
			t.Fatal("same seed gave different delays")
		}
	}
}

// fakeClock advances only when slept on.
type fakeClock struct {
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(d time.Duration) {
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
}

func TestProfileLatencyIsCountedInHistogram(t *testing.T) {
	reg := prometheus.NewRegistry()
	clk := &fakeClock{now: time.Unix(0, 0)}
	w := mustOpen(t, t.TempDir(), Options{DiskProfile: ProfileHDD, Clock: clk, Metrics: reg})
	for i := raftpb.Index(1); i <= 20; i++ {
		mustSave(t, w, raftpb.HardState{}, ents(i, i, 1, "a"))
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var h *dto.Histogram
	var bytesWritten float64
	for _, mf := range mfs {
		switch mf.GetName() {
		case "etcd_disk_wal_fsync_duration_seconds":
			h = mf.GetMetric()[0].GetHistogram()
		case "etcd_disk_wal_write_bytes_total":
			bytesWritten = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if h == nil || h.GetSampleCount() != 20 || len(clk.slept) != 20 {
		t.Fatalf("histogram %v, %d sleeps; want 20 samples and 20 sleeps", h, len(clk.slept))
	}
	var total time.Duration
	for _, d := range clk.slept {
		total += d
	}
	if got := time.Duration(h.GetSampleSum() * float64(time.Second)); got < total-time.Microsecond || got > total+time.Microsecond {
		t.Fatalf("histogram sum %v, injected latency %v: the fake clock only moves on sleep, so they must match", got, total)
	}
	if bytesWritten == 0 || uint64(bytesWritten) != w.Stats().BytesWritten {
		t.Fatalf("bytes counter %v, Stats %d", bytesWritten, w.Stats().BytesWritten)
	}
	// A second WAL on the same registry is refused while the first is open,
	// and accepted once it is closed (Close unregisters).
	if _, err := Open(t.TempDir(), Options{Metrics: reg}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("second WAL on one registry: %v", err)
	}
	w.Close()
	w2 := mustOpen(t, t.TempDir(), Options{Metrics: reg})
	w2.Close()
}

func TestNoSyncWithProfileEmulatesOnly(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	hooked := 0
	w := mustOpen(t, t.TempDir(), Options{NoSync: true, DiskProfile: ProfileSSD, Clock: clk,
		FsyncHook: func(string) error { hooked++; return nil }})
	defer w.Close()
	for i := raftpb.Index(1); i <= 5; i++ {
		mustSave(t, w, raftpb.HardState{}, ents(i, i, 1, "a"))
	}
	if hooked != 0 || len(clk.slept) != 5 || w.Stats().Fsyncs != 5 {
		t.Fatalf("hook calls %d (want 0: no real fsync), sleeps %d and fsyncs %d (want 5 emulated)", hooked, len(clk.slept), w.Stats().Fsyncs)
	}
	for _, d := range clk.slept {
		if d < 750*time.Microsecond || d > 1250*time.Microsecond {
			t.Fatalf("ssd delay %v outside 1ms ± 250µs", d)
		}
	}
}
