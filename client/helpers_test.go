package client

import (
	"fmt"
	"github.com/shelf-kv/shelf/internal/freeport"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/server"
)

// testCluster is n in-process members on random loopback ports (the
// same construction as server/cluster_test.go).
type testCluster struct {
	t         testing.TB
	cfgs      []server.Config
	servers   []*server.Server
	endpoints []string // client URLs, member i at index i
	ids       []uint64 // member IDs, filled in as members start
}

// id is member i's ID (known once it started).
func (c *testCluster) id(i int) uint64 { return c.ids[i] }

func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Get() // below the ephemeral range: see internal/freeport
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startCluster starts n members and waits until they agree on a leader.
func startCluster(t testing.TB, n int) *testCluster {
	t.Helper()
	return startClusterWith(t, n, nil)
}

// startClusterWith is startCluster with tweak applied to every member's config.
func startClusterWith(t testing.TB, n int, tweak func(*server.Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	dir := t.TempDir()
	var initial []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("m%d", i)
		peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		cl := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		initial = append(initial, name+"="+peer)
		c.endpoints = append(c.endpoints, cl)
		cfg := server.Config{
			Name: name, DataDir: fmt.Sprintf("%s/%s", dir, name),
			ListenPeerURLs: []string{peer}, AdvertisePeerURLs: []string{peer},
			ListenClientURLs: []string{cl}, AdvertiseClientURLs: []string{cl},
			HeartbeatInterval: 10 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
		}
		if os.Getenv("SHELF_TEST_LOG") != "" {
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		if tweak != nil {
			tweak(&cfg)
		}
		c.cfgs = append(c.cfgs, cfg)
	}
	c.servers = make([]*server.Server, n)
	c.ids = make([]uint64, n)
	t.Cleanup(c.stopAll)
	for i := range c.cfgs {
		c.cfgs[i].InitialCluster = strings.Join(initial, ",")
		s, err := server.New(c.cfgs[i])
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		if err := s.Start(); err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		c.servers[i] = s
		c.ids[i] = uint64(s.ID())
	}
	c.waitLeader()
	return c
}

// follower returns the index of a running member that is not the leader.
func (c *testCluster) follower() int {
	c.t.Helper()
	for i, s := range c.servers {
		if s != nil && s.Leader() != s.ID() {
			return i
		}
	}
	c.t.Fatal("no follower")
	return -1
}

func (c *testCluster) stop(i int) {
	if s := c.servers[i]; s != nil {
		c.ids[i] = uint64(s.ID())
		s.Stop()
		c.servers[i] = nil
	}
}

func (c *testCluster) stopAll() {
	for i := range c.servers {
		c.stop(i)
	}
}

// waitLeader polls until every running member knows the same leader.
func (c *testCluster) waitLeader() {
	c.t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var lead uint64
		agree := true
		for _, s := range c.servers {
			if s == nil {
				continue
			}
			l := uint64(s.Leader())
			if l == 0 || (lead != 0 && l != lead) {
				agree = false
				break
			}
			lead = l
		}
		if agree && lead != 0 {
			return
		}
		<-tick.C
	}
	c.t.Fatal("no agreed leader within 10s")
}

// newClient is a client of eps with a fixed jitter seed.
func newClient(t testing.TB, eps []string, tweak func(*Config)) *Client {
	t.Helper()
	cfg := Config{Endpoints: eps, JitterSeed: 1}
	if os.Getenv("SHELF_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
