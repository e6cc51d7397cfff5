package transport

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestConfigValidation(t *testing.T) {
	checkNoLeaks(t)
	ok := Config{ID: 1, ClusterID: 1, Handler: newRecorder()}
	for name, mutate := range map[string]func(*Config){
		"no id":             func(c *Config) { c.ID = 0 },
		"no cluster":        func(c *Config) { c.ClusterID = 0 },
		"no handler":        func(c *Config) { c.Handler = nil },
		"tiny frames":       func(c *Config) { c.MaxFrameSize = 100 },
		"chunk over frame":  func(c *Config) { c.MaxFrameSize, c.SnapshotChunkSize = 8<<10, 16<<10 },
		"negative queue":    func(c *Config) { c.AppQueueSize = -1 },
		"backoff inverted":  func(c *Config) { c.BackoffMin, c.BackoffMax = time.Second, time.Millisecond },
		"negative timeout":  func(c *Config) { c.WriteTimeout = -time.Second },
		"negative interval": func(c *Config) { c.PingInterval = -time.Second },
	} {
		c := ok
		mutate(&c)
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
	tr, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	if tr.cfg.MaxFrameSize != DefaultMaxFrameSize || tr.cfg.AppQueueSize != DefaultQueueSize || tr.cfg.Seed != 1 {
		t.Errorf("defaults not applied: %+v", tr.cfg)
	}
	if err := tr.AddPeer(1, "x:1"); !errors.Is(err, ErrConfig) {
		t.Errorf("AddPeer(self): %v", err)
	}
	if err := tr.AddPeer(2, "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if err := tr.AddPeer(2, "127.0.0.1:1"); !errors.Is(err, ErrPeerExists) {
		t.Errorf("AddPeer twice: %v", err)
	}
	if err := tr.UpdatePeer(9, "127.0.0.1:1"); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("UpdatePeer(unknown): %v", err)
	}
	if err := tr.Serve(nil); !errors.Is(err, ErrConfig) {
		t.Errorf("Serve(nil): %v", err)
	}
	tr.Stop()
	tr.Stop() // idempotent
	if err := tr.AddPeer(3, "127.0.0.1:1"); !errors.Is(err, ErrStopped) {
		t.Errorf("AddPeer after Stop: %v", err)
	}
}

// TestMetricsRegistration: two live Transports cannot share a registry,
// and Stop frees the names for a successor (a restarted member).
func TestMetricsRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := Config{ID: 1, ClusterID: 1, Handler: newRecorder(), Registerer: reg}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); !errors.Is(err, ErrConfig) {
		t.Fatalf("second Transport on one registry: %v", err)
	}
	a.Stop()
	b, err := New(cfg)
	if err != nil {
		t.Fatalf("Transport after Stop of the previous one: %v", err)
	}
	b.Stop()
}

// TestBackoff: delays stay in [d/2, d] for d doubling from min to max,
// reset starts over, and a seed replays the same sequence.
func TestBackoff(t *testing.T) {
	const lo, hi = 10 * time.Millisecond, 300 * time.Millisecond
	a, b := newBackoff(lo, hi, 42), newBackoff(lo, hi, 42)
	d := lo
	for i := range 100 {
		got := a.next()
		if got < d/2 || got > d {
			t.Fatalf("attempt %d: delay %v outside [%v, %v]", i, got, d/2, d)
		}
		if other := b.next(); other != got {
			t.Fatalf("attempt %d: same seed gave %v and %v", i, got, other)
		}
		d = min(2*d, hi)
	}
	a.reset()
	if got := a.next(); got > lo {
		t.Fatalf("after reset: %v, want <= %v", got, lo)
	}
	a, c := newBackoff(lo, hi, 42), newBackoff(lo, hi, 43)
	same := true
	for range 10 {
		if a.next() != c.next() {
			same = false
		}
	}
	if same {
		t.Error("different seeds gave identical jitter")
	}
}
