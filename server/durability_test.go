package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
)

func put(t *testing.T, s *Server, k, v string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Put(ctx, &mvcc.PutRequest{Key: []byte(k), Value: []byte(v)}); err != nil {
		t.Fatalf("put %s: %v", k, err)
	}
}

func mustGet(t *testing.T, s *Server, k string, serializable bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := s.Range(ctx, &mvcc.RangeRequest{Key: []byte(k)}, serializable)
	if err != nil {
		t.Fatalf("get %s: %v", k, err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %d kvs", k, len(resp.Kvs))
	}
	return string(resp.Kvs[0].Value)
}

func TestRestartAllKeepsEveryWrite(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.SnapshotCount = 150; cfg.SnapshotCatchUpEntries = 50 })
	c.startAll()
	lead := c.waitLeader()
	for i := 0; i < 400; i++ {
		put(t, c.servers[(lead+i)%3], fmt.Sprintf("key%04d", i), fmt.Sprint(i))
	}
	c.stopAll()
	c.startAll()
	c.waitLeader()
	for _, s := range c.servers {
		for i := 0; i < 400; i++ {
			if got := mustGet(t, s, fmt.Sprintf("key%04d", i), false); got != fmt.Sprint(i) {
				t.Fatalf("key%04d = %q after restart", i, got)
			}
		}
	}
}

func TestLaggingFollowerCatchesUpFromSnapshot(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.SnapshotCount = 100; cfg.SnapshotCatchUpEntries = 20 })
	c.startAll()
	lead := c.waitLeader()
	follower := (lead + 1) % 3
	c.stop(follower)
	for i := 0; i < 1000; i++ {
		put(t, c.servers[lead], fmt.Sprintf("key%04d", i), fmt.Sprint(i))
	}
	// The leader's WAL no longer holds what the follower lacks.
	first, err := c.servers[lead].w.FirstIndex()
	if err != nil || first < 100 {
		t.Fatalf("leader's WAL was not compacted: first index %d, %v", first, err)
	}
	s := c.start(follower)
	deadline := time.Now().Add(20 * time.Second)
	for s.Store().Rev() < c.servers[lead].Store().Rev() {
		if time.Now().After(deadline) {
			t.Fatalf("follower at revision %d, leader at %d", s.Store().Rev(), c.servers[lead].Store().Rev())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s.snapIndexSeen() == 0 {
		t.Fatal("follower caught up without installing a snapshot")
	}
	for i := 0; i < 1000; i += 97 {
		if got := mustGet(t, s, fmt.Sprintf("key%04d", i), true); got != fmt.Sprint(i) {
			t.Fatalf("key%04d = %q on the caught-up follower", i, got)
		}
	}
}
