package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
)

// TestWatchSurvivesSnapshotInstall watches every key on a follower, from
// revision 1, while the follower catches up by installing a snapshot from
// the leader (which replaces its store) and four writers keep writing.
// The watch must deliver every revision exactly once, in order, with the
// key and value that was written at it: no gap and no duplicate across
// the store swap.
func TestWatchSurvivesSnapshotInstall(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.SnapshotCount = 100; cfg.SnapshotCatchUpEntries = 20 })
	c.startAll()
	lead := c.waitLeader()
	follower := (lead + 1) % 3

	var mu sync.Mutex
	written := map[int64]string{} // revision -> key
	write := func(w, i int) {
		key := fmt.Sprintf("w%d/%04d", w, i)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := c.servers[lead].Put(ctx, &mvcc.PutRequest{Key: []byte(key), Value: []byte(key)})
		if err != nil {
			t.Errorf("put %s: %v", key, err)
			return
		}
		mu.Lock()
		written[resp.Header.Revision] = key
		mu.Unlock()
	}
	writers := func(from, to int) {
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := from; i < to; i++ {
					write(w, i)
				}
			}()
		}
		wg.Wait()
	}
	writers(0, 20) // the follower's own WAL has these: its old store delivers them
	c.stop(follower)
	writers(20, 220) // the follower misses these, and the leader's WAL drops them

	// The leader redials the stopped follower with a backoff of up to
	// 5 s, and a member that long without a leader ends its watch
	// streams (watch_leader.go); this test is about the store swap, so
	// the follower waits longer than that before it gives up on one.
	cfg := c.cfgs[follower]
	cfg.ElectionTimeout = 2 * time.Second
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := s.newMemberWatch()
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	if _, err := mw.Watch(mvcc.WatchRequest{Key: []byte{0}, RangeEnd: []byte{0}, StartRevision: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	c.servers[follower] = s
	var more atomic.Bool
	more.Store(true)
	done := make(chan struct{})
	go func() { defer close(done); writers(220, 320); more.Store(false) }()
	defer func() { <-done }() // the writers use the cluster: stop them first

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	next := int64(2) // the first write of a new cluster is at revision 2
	seen := map[int64]string{}
	created := false
	for {
		if !more.Load() {
			<-done
			if next > c.servers[lead].Store().Rev() {
				break
			}
		}
		r, err := mw.Recv(ctx)
		if err != nil {
			t.Fatalf("watch ended at revision %d: %v", next, err)
		}
		switch {
		case r.Created:
			if created {
				t.Fatalf("a second Created reached the client: %+v", r)
			}
			created = true
			continue
		case r.Canceled:
			t.Fatalf("watch canceled at revision %d: %+v", next, r)
		}
		for _, ev := range r.Events {
			rev := ev.Kv.ModRevision
			if rev != next {
				t.Fatalf("event at revision %d, want %d (gap or duplicate)", rev, next)
			}
			seen[rev] = string(ev.Kv.Key) + "=" + string(ev.Kv.Value)
			next++
		}
	}
	// The writers are done: every revision was acknowledged by now (an
	// event may reach the follower before its writer hears back).
	mu.Lock()
	defer mu.Unlock()
	for rev, kv := range seen {
		if key := written[rev]; kv != key+"="+key {
			t.Fatalf("revision %d: event %s, written %s", rev, kv, key)
		}
	}
	if s.snapIndexSeen() == 0 {
		t.Fatal("the follower caught up without installing a snapshot: the test proved nothing")
	}
	t.Logf("%d revisions delivered in order across a snapshot install at index %d", next-2, s.snapIndexSeen())
}
