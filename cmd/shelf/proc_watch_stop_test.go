package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/client"
)

// putRev puts k=v on endpoint and returns the revision of the write.
func putRev(endpoint, k, v string) (int64, error) {
	var r struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	if _, err := call(endpoint, "/v3/kv/put", map[string]string{"key": b64(k), "value": b64(v)}, &r); err != nil {
		return 0, err
	}
	return strconv.ParseInt(r.Header.Revision, 10, 64)
}

// watchLog is what a watch delivered, in order, and what was written.
type watchLog struct {
	mu     sync.Mutex
	events []watchSeen      // every event delivered, in delivery order
	last   int64            // revision of the last event delivered
	acked  map[string]int64 // acknowledged write -> its revision
	max    int64            // highest acknowledged revision
	errs   []client.WatchResponse
}

type watchSeen struct {
	rev int64
	key string
}

func (l *watchLog) lastSeen() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

func (l *watchLog) maxAcked() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.max
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond) // poll interval
	}
}

// TestProcWatchMovesPastStoppedMember: three members, writers putting
// through members 1 and 2, and a client.Watch on their prefix from
// revision 1 served by member 0 (the first endpoint). Member 0 is
// stopped with SIGSTOP (it keeps its connections and answers nothing):
// the watch must notice through its keepalive, move to another member
// and deliver writes made while member 0 is stopped; then member 0 is
// resumed and writing goes on. In the end every acknowledged write was
// delivered exactly once, at its revision, and revisions only go up.
func TestProcWatchMovesPastStoppedMember(t *testing.T) {
	c := newProcCluster(t, 3)
	c.startAll()
	c.waitHealthy()
	p0, others := c.procs[0], c.procs[1:]
	t.Cleanup(func() {
		if p0.cmd != nil {
			_ = p0.cmd.Process.Signal(syscall.SIGCONT)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := &watchLog{acked: map[string]int64{}}

	cl, err := client.New(client.Config{
		Endpoints:      []string{p0.client, others[0].client, others[1].client},
		WatchKeepalive: 200 * time.Millisecond,
		AttemptTimeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	ch := cl.Watch(wctx, "ws/", client.WithPrefix(), client.WithRev(1))
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for r := range ch {
			log.mu.Lock()
			if r.Canceled || r.Err() != nil {
				log.errs = append(log.errs, r)
			}
			for _, ev := range r.Events {
				log.events = append(log.events, watchSeen{ev.Kv.ModRevision, string(ev.Kv.Key)})
				log.last = ev.Kv.ModRevision
			}
			log.mu.Unlock()
		}
	}()

	writeCtx, stopWriters := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; writeCtx.Err() == nil; i++ {
				k := fmt.Sprintf("ws/%d/%06d", g, i)
				rev, err := putRev(others[(g+i)%2].client, k, "v")
				if err != nil {
					time.Sleep(10 * time.Millisecond) // pace retries during an election
					continue
				}
				log.mu.Lock()
				log.acked[k] = rev
				log.max = max(log.max, rev)
				log.mu.Unlock()
			}
		}()
	}
	defer func() { stopWriters(); wg.Wait() }()

	// Member 0 serves the watch: wait until it delivered some writes.
	waitFor(t, "the watch on member 0 delivers the first writes", 15*time.Second, func() bool { return log.lastSeen() >= 20 })
	if err := p0.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stoppedAt := log.maxAcked()
	// A write acknowledged after the stop, by the other two members:
	// member 0 cannot deliver it.
	var target int64
	waitFor(t, "writes go on without member 0", 15*time.Second, func() bool {
		target = log.maxAcked()
		return target > stoppedAt+20
	})
	waitFor(t, "the watch moves past the stopped member 0", 15*time.Second, func() bool { return log.lastSeen() >= target })
	t.Logf("while member 0 was stopped the watch delivered up to revision %d (stopped at %d)", log.lastSeen(), stoppedAt)
	if err := p0.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed := log.maxAcked()
	waitFor(t, "writes go on after member 0 resumes", 15*time.Second, func() bool { return log.maxAcked() > resumed+20 })
	stopWriters()
	wg.Wait()
	final := log.maxAcked()
	waitFor(t, "the watch delivers every acknowledged write", 15*time.Second, func() bool { return log.lastSeen() >= final })
	stopWatch()
	<-watchDone

	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.errs) > 0 {
		t.Fatalf("the watch surfaced an error: %+v (err %v)", log.errs[0], log.errs[0].Err())
	}
	seen := map[string]int64{}
	var prev int64
	for i, ev := range log.events {
		if ev.rev <= prev {
			t.Fatalf("event %d (%s) at revision %d after revision %d: out of order or repeated", i, ev.key, ev.rev, prev)
		}
		prev = ev.rev
		if r, dup := seen[ev.key]; dup {
			t.Fatalf("%s delivered twice (revisions %d and %d)", ev.key, r, ev.rev)
		}
		seen[ev.key] = ev.rev
	}
	for k, rev := range log.acked {
		got, ok := seen[k]
		switch {
		case !ok:
			t.Fatalf("acknowledged write %s at revision %d never delivered", k, rev)
		case got != rev:
			t.Fatalf("acknowledged write %s at revision %d delivered at revision %d", k, rev, got)
		}
	}
	t.Logf("%d events delivered in order, all %d acknowledged writes exactly once", len(log.events), len(log.acked))
}
