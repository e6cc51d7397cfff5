package mvcc

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// fakeClock is a Clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// tstore wraps a Store with an automatic raft index for tests.
type tstore struct {
	*Store
	t     testing.TB
	idx   raftpb.Index
	clock *fakeClock
}

func newTestStore(t testing.TB, cfg Config) *tstore {
	t.Helper()
	clk := newFakeClock()
	if cfg.Clock == nil {
		cfg.Clock = clk
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &tstore{Store: s, t: t, clock: clk}
}

func (s *tstore) next() raftpb.Index { s.idx++; return s.idx }

func (s *tstore) put(k, v string) *PutResponse {
	s.t.Helper()
	r, err := s.Put(s.next(), &PutRequest{Key: []byte(k), Value: []byte(v)})
	if err != nil {
		s.t.Fatalf("put %q: %v", k, err)
	}
	return r
}

func (s *tstore) get(k string, rev int64) *KeyValue {
	s.t.Helper()
	r, err := s.Range(&RangeRequest{Key: []byte(k), Revision: rev})
	if err != nil {
		s.t.Fatalf("get %q@%d: %v", k, rev, err)
	}
	if len(r.Kvs) == 0 {
		return nil
	}
	return r.Kvs[0]
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

// recvUntil reads responses until pred says stop, failing after 10 s.
func recvUntil(t testing.TB, ws *WatchStream, pred func(WatchResponse) bool) []WatchResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []WatchResponse
	for {
		r, err := ws.Recv(ctx)
		if err != nil {
			t.Fatalf("recv after %d responses: %v", len(out), err)
		}
		out = append(out, r)
		if pred(r) {
			return out
		}
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// runtimeYield lets other goroutines run (a slow consumer's "work").
func runtimeYield() { runtime.Gosched() }
