package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/internal/freeport"
	"github.com/shelf-kv/shelf/mvcc"
)

// freePort returns a free loopback port outside the ephemeral range (see
// internal/freeport: port 0 tricks collide with outgoing connections).
func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type testCluster struct {
	t       testing.TB
	cfgs    []Config
	servers []*Server
}

// newTestCluster builds (but does not start) n members in t.TempDir().
func newTestCluster(t testing.TB, n int, tweak func(*Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	var initial []string
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("m%d", i)
		peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		client := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		initial = append(initial, name+"="+peer)
		c.cfgs = append(c.cfgs, Config{
			Name: name, DataDir: fmt.Sprintf("%s/%s", dir, name),
			ListenPeerURLs: []string{peer}, AdvertisePeerURLs: []string{peer},
			ListenClientURLs: []string{client}, AdvertiseClientURLs: []string{client},
			HeartbeatInterval: 10 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
		})
	}
	for i := range c.cfgs {
		c.cfgs[i].InitialCluster = strings.Join(initial, ",")
		if os.Getenv("SHELF_TEST_LOG") != "" {
			c.cfgs[i].Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		if tweak != nil {
			tweak(&c.cfgs[i])
		}
	}
	c.servers = make([]*Server, n)
	t.Cleanup(c.stopAll)
	return c
}

func (c *testCluster) start(i int) *Server {
	c.t.Helper()
	s, err := New(c.cfgs[i])
	if err != nil {
		c.t.Fatalf("member %d: %v", i, err)
	}
	if err := s.Start(); err != nil {
		c.t.Fatalf("member %d: %v", i, err)
	}
	c.servers[i] = s
	return s
}

func (c *testCluster) startAll() {
	for i := range c.cfgs {
		c.start(i)
	}
}

func (c *testCluster) stop(i int) {
	if s := c.servers[i]; s != nil {
		s.Stop()
		c.servers[i] = nil
	}
}

func (c *testCluster) stopAll() {
	for i := range c.servers {
		c.stop(i)
	}
}

// waitLeader waits until every running member agrees on one leader.
func (c *testCluster) waitLeader() int {
	c.t.Helper()
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
			for i, s := range c.servers {
				if s != nil && uint64(s.ID()) == lead {
					return i
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatal("no agreed leader within 10s")
	return -1
}

func TestClusterPutThroughEveryMember(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	c.waitLeader()
	ctx := context.Background()
	for i, s := range c.servers {
		key := []byte(fmt.Sprintf("k%d", i))
		if _, err := s.Put(ctx, &mvcc.PutRequest{Key: key, Value: []byte("v")}); err != nil {
			t.Fatalf("put through member %d: %v", i, err)
		}
		// A linearizable read on any member sees it at once.
		for j, r := range c.servers {
			resp, err := r.Range(ctx, &mvcc.RangeRequest{Key: key}, false)
			if err != nil || len(resp.Kvs) != 1 {
				t.Fatalf("read of %s on member %d after put on %d: %+v, %v", key, j, i, resp, err)
			}
		}
	}
}
