package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/server"
)

// waitCreated returns the first response of ch, which must be Created.
func waitCreated(t *testing.T, ch WatchChan) WatchResponse {
	t.Helper()
	select {
	case r, ok := <-ch:
		if !ok || !r.Created {
			t.Fatalf("first watch response: %+v (open %v, err %v), want Created", r, ok, r.Err())
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no Created within 10s")
	}
	return WatchResponse{}
}

// TestWatchLiveOrderedNoGapsNoDuplicates: a watch from "now" on a
// follower while four writers put, delete and commit 3-put txns through
// every member sees exactly the acknowledged history: in revision order,
// nothing missing, nothing twice, and the three puts of each txn in one
// response.
func TestWatchLiveOrderedNoGapsNoDuplicates(t *testing.T) {
	c := startCluster(t, 3)
	f := c.follower()
	wc := newClient(t, []string{c.endpoints[f]}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := wc.Watch(ctx, "live/", WithPrefix())
	created := waitCreated(t, ch)
	h := newHistory()
	writers(t, newClient(t, c.endpoints, nil), h, "live/", 4, 150, 0)
	resps := append([]WatchResponse{created}, collect(t, ch, h, "live/", created.Header.Revision+1)...)
	checkHistory(t, resps, h, "live/", created.Header.Revision+1)
}

// TestWatchCatchUpThenLive: a watch from revision 2 started after 400
// changes catches up from history and continues live while writers go
// on, without a gap or a repeat at the switch.
func TestWatchCatchUpThenLive(t *testing.T) {
	c := startCluster(t, 3)
	kv := newClient(t, c.endpoints, nil)
	h := newHistory()
	writers(t, kv, h, "cu/", 4, 100, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := newClient(t, []string{c.endpoints[c.follower()]}, nil).Watch(ctx, "cu/", WithPrefix(), WithRev(2))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); writers(t, kv, h, "cu/", 4, 100, 0) }()
	created := waitCreated(t, ch)
	wg.Wait()
	resps := append([]WatchResponse{created}, collect(t, ch, h, "cu/", 2)...)
	checkHistory(t, resps, h, "cu/", 2)
}

// TestWatchFutureRevision: a watch from a revision 100 ahead of the store
// is created at once, then delivers exactly the changes from that
// revision on, none before it.
func TestWatchFutureRevision(t *testing.T) {
	c := startCluster(t, 3)
	kv := newClient(t, c.endpoints, nil)
	st, err := kv.Status(context.Background(), c.endpoints[0])
	if err != nil {
		t.Fatal(err)
	}
	start := st.Header.Revision + 100
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := newClient(t, c.endpoints, nil).Watch(ctx, "fut/", WithPrefix(), WithRev(start))
	created := waitCreated(t, ch)
	if created.Header.Revision >= start {
		t.Fatalf("created at revision %d, not before the start %d", created.Header.Revision, start)
	}
	h := newHistory()
	writers(t, kv, h, "fut/", 4, 100, 0)
	if h.last() < start {
		t.Fatalf("the writers stopped at revision %d, before %d", h.last(), start)
	}
	resps := append([]WatchResponse{created}, collect(t, ch, h, "fut/", start)...)
	checkHistory(t, resps, h, "fut/", start)
}

// TestWatchProgressNeverOvertakesEvent: with progress notifications every
// 2 ms and three writers that change the watched prefix once in ten
// writes (the rest elsewhere, so the watcher is often quiet), every
// progress notification at revision R comes after every watched event at
// or below R.
func TestWatchProgressNeverOvertakesEvent(t *testing.T) {
	c := startClusterWith(t, 3, func(cfg *server.Config) { cfg.WatchProgressNotifyInterval = 2 * time.Millisecond })
	kv := newClient(t, c.endpoints, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := newClient(t, []string{c.endpoints[c.follower()]}, nil).Watch(ctx, "p/", WithPrefix(), WithProgressNotify())
	created := waitCreated(t, ch)
	h := newHistory()
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				key := fmt.Sprintf("q/%d/%d", w, i)
				if i%10 == 9 {
					key = fmt.Sprintf("p/%d/%d", w, i)
				}
				resp, err := kv.Put(context.Background(), key, "v")
				if err != nil {
					t.Errorf("put %s: %v", key, err)
					return
				}
				h.add(resp.Header.Revision, histOp{EventPut, key, "v"})
			}
		}()
	}
	wg.Wait()
	resps := collect(t, ch, h, "p/", created.Header.Revision+1)
	progress := 0
	var seen []int64 // watched revisions delivered so far
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range resps {
		if r.IsProgressNotify() {
			progress++
			for rev, ops := range h.revs {
				if rev <= r.Header.Revision && strings.HasPrefix(ops[0].key, "p/") && !slices.Contains(seen, rev) {
					t.Fatalf("progress notification at revision %d arrived before the event at revision %d", r.Header.Revision, rev)
				}
			}
		}
		for _, e := range r.Events {
			seen = append(seen, e.Kv.ModRevision)
		}
	}
	if progress < 3 {
		t.Fatalf("only %d progress notifications: the test proved nothing", progress)
	}
	t.Logf("%d progress notifications, each after every event it covers", progress)
}

// TestWatchResumesAfterMemberDies: the member serving a watch is stopped
// while four writers keep writing through the two others; the watch goes
// on through another member and the caller sees exactly the acknowledged
// history (no loss, no repeat) and a single Created.
func TestWatchResumesAfterMemberDies(t *testing.T) {
	c := startCluster(t, 3)
	f := c.follower()
	var others []string
	for i, ep := range c.endpoints {
		if i != f {
			others = append(others, ep)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var logs []string
	wc := newClient(t, append([]string{c.endpoints[f]}, others...), func(cfg *Config) { cfg.Logger = slog.New(logRecorder{&mu, &logs}) })
	ch := wc.Watch(ctx, "die/", WithPrefix())
	created := waitCreated(t, ch)
	h := newHistory()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); writers(t, newClient(t, others, nil), h, "die/", 4, 200, 0) }()
	deadline := time.Now().Add(20 * time.Second)
	for h.last() < created.Header.Revision+200 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling the writers' progress, not waiting for an event
	}
	c.stop(f)
	wg.Wait()
	if h.last() < created.Header.Revision+400 {
		t.Fatalf("writers stopped at revision %d", h.last())
	}
	resps := append([]WatchResponse{created}, collect(t, ch, h, "die/", created.Header.Revision+1)...)
	checkHistory(t, resps, h, "die/", created.Header.Revision+1)
	mu.Lock()
	defer mu.Unlock()
	for _, l := range logs {
		if strings.Contains(l, "resuming on the next endpoint") && strings.Contains(l, "endpoint="+c.endpoints[f]) {
			return
		}
	}
	t.Fatalf("the watch never left the stopped member (the test proved nothing); client log:\n%s", strings.Join(logs, "\n"))
}

// logRecorder is a slog.Handler keeping every record's message and
// attributes as text.
type logRecorder struct {
	mu    *sync.Mutex
	lines *[]string
}

func (l logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	l.mu.Lock()
	*l.lines = append(*l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l logRecorder) WithGroup(string) slog.Handler      { return l }

// TestWatchSlowReaderResumes: a caller that does not read while 20 MB of
// changes stream past overflows the (single) member's 64 KiB watch buffer; the
// member cancels the watcher with a resume revision and the client
// resumes from it, so the caller still sees the exact history.
func TestWatchSlowReaderResumes(t *testing.T) {
	c := startClusterWith(t, 1, func(cfg *server.Config) { cfg.WatchBufferBytes = 64 << 10 })
	var mu sync.Mutex
	var logs []string
	wc := newClient(t, c.endpoints, func(cfg *Config) { cfg.Logger = slog.New(logRecorder{&mu, &logs}) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := wc.Watch(ctx, "slow/", WithPrefix())
	created := waitCreated(t, ch)
	h := newHistory()
	writers(t, newClient(t, c.endpoints, nil), h, "slow/", 4, 50, 100<<10)
	resps := append([]WatchResponse{created}, collect(t, ch, h, "slow/", created.Header.Revision+1)...)
	checkHistory(t, resps, h, "slow/", created.Header.Revision+1)
	mu.Lock()
	defer mu.Unlock()
	for _, l := range logs {
		if strings.Contains(l, "watch buffer full; resume from revision") {
			return
		}
	}
	t.Fatalf("the watch never overflowed the member's buffer (the test proved nothing); client log:\n%s", strings.Join(logs, "\n"))
}

// TestWatchCompacted: a watch from a compacted revision ends with
// CompactRevision set and Err() == ErrCompacted, and the channel closes.
func TestWatchCompacted(t *testing.T) {
	c := startCluster(t, 3)
	kv := newClient(t, c.endpoints, nil)
	var last int64
	for i := 0; i < 5; i++ {
		resp, err := kv.Put(context.Background(), "cmp", fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		last = resp.Header.Revision
	}
	if _, err := kv.Compact(context.Background(), last, WithPhysical()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := kv.Watch(ctx, "cmp", WithRev(2))
	waitCreated(t, ch)
	r := <-ch
	if !r.Canceled || r.CompactRevision != last || !errors.Is(r.Err(), ErrCompacted) {
		t.Fatalf("got %+v (err %v), want a compacted cancel at %d", r, r.Err(), last)
	}
	if _, ok := <-ch; ok {
		t.Fatal("the channel stayed open after the compacted cancel")
	}
	bad := kv.Watch(ctx, "x", WithLimit(3))
	if r := <-bad; !r.Canceled || !errors.Is(r.Err(), ErrInvalidOp) {
		t.Fatalf("watch with a Get option: %+v (err %v), want ErrInvalidOp", r, r.Err())
	}
}
