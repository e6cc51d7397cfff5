package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// deadEndpoint is a loopback URL nothing listens on (connections refused).
func deadEndpoint(t *testing.T) string {
	return fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
}

// TestFailoverFirstEndpointDown: with the first endpoint's member stopped,
// reads and writes go through the other two.
func TestFailoverFirstEndpointDown(t *testing.T) {
	cl := startCluster(t, 3)
	// The first endpoint is a follower: stopping the leader makes the
	// cluster itself lose in-flight proposals (they time out inside the
	// member, an ambiguous failure no client may retry), which is not
	// what this test is about.
	first := cl.follower()
	eps := []string{cl.endpoints[first]}
	for i, ep := range cl.endpoints {
		if i != first {
			eps = append(eps, ep)
		}
	}
	c := newClient(t, eps, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "before", "1"); err != nil {
		t.Fatal(err)
	}
	cl.stop(first)
	cl.waitLeader()
	// The client still holds a kept-alive connection to the stopped
	// member, which may not have noticed the close yet. A read sent on it
	// is retried elsewhere; a write would fail with an ambiguous error
	// (see doc.go), so the first call after the stop is a read.
	if g, err := c.Get(ctx, "before"); err != nil || len(g.Kvs) != 1 {
		t.Fatalf("get of a key written before the stop: %+v, %v", g, err)
	}
	for i := 0; i < 20; i++ {
		key := fmt.Sprintf("k%d", i)
		if _, err := c.Put(ctx, key, "v"); err != nil {
			t.Fatalf("put %s with member 0 down: %v", key, err)
		}
		g, err := c.Get(ctx, key)
		if err != nil || len(g.Kvs) != 1 {
			t.Fatalf("get %s with member 0 down: %+v, %v", key, g, err)
		}
		if g.Header.MemberID == uint64(cl.id(first)) {
			t.Fatalf("answered by the stopped member: %+v", g.Header)
		}
	}
	// A fresh client whose first endpoint refuses connections: its first
	// write is retried on the next endpoint (nothing was sent).
	c2 := newClient(t, append([]string{deadEndpoint(t)}, eps[1:]...), nil)
	if _, err := c2.Put(ctx, "via-c2", "v"); err != nil {
		t.Fatalf("put past a refusing endpoint: %v", err)
	}
}

// TestTwoOfThreeDown: without quorum, a write fails with an error once
// the deadline has passed, and never hangs past it; so does a read.
func TestTwoOfThreeDown(t *testing.T) {
	cl := startCluster(t, 3)
	c := newClient(t, cl.endpoints, func(cfg *Config) { cfg.AttemptTimeout = 300 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if _, err := c.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	cancel()
	cl.stop(0)
	cl.stop(1)
	// Forget kept-alive connections to the stopped members, as the
	// transport does once it reads their close: a write sent on one at
	// the very instant of the close fails at once with ErrOutcomeUnknown
	// (TestCutMidRequest), while this test is about the deadline path.
	c.http.CloseIdleConnections()

	const deadline = 1500 * time.Millisecond
	const slack = 1 * time.Second // scheduling on a loaded machine; not a speed assertion
	for _, tc := range []struct {
		name string
		call func(context.Context) error
	}{
		{"put", func(ctx context.Context) error { _, err := c.Put(ctx, "k", "v2"); return err }},
		{"get", func(ctx context.Context) error { _, err := c.Get(ctx, "k"); return err }},
		{"txn", func(ctx context.Context) error {
			_, err := c.Txn(ctx).Then(OpPut("k", "v3")).Commit()
			return err
		}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		start := time.Now()
		err := tc.call(ctx)
		took := time.Since(start)
		cancel()
		if err == nil {
			t.Fatalf("%s without quorum succeeded", tc.name)
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrNoLeader) &&
			!errors.Is(err, ErrTimeout) && !errors.Is(err, ErrOutcomeUnknown) {
			t.Fatalf("%s without quorum: unclear error %v", tc.name, err)
		}
		if took > deadline+slack {
			t.Fatalf("%s without quorum returned %v after a %v deadline", tc.name, took, deadline)
		}
		t.Logf("%s without quorum: %v after %v", tc.name, err, took.Round(time.Millisecond))
	}
}

// cuttingServer accepts connections, reads one HTTP request from each,
// counts it and closes the connection without answering: a member that
// died (or was partitioned) after receiving the request.
type cuttingServer struct {
	ln       net.Listener
	requests atomic.Int32
	wg       sync.WaitGroup
}

func newCuttingServer(t *testing.T) *cuttingServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &cuttingServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if _, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
				s.requests.Add(1)
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *cuttingServer) url() string { return "http://" + s.ln.Addr().String() }

// TestCutMidRequest: a write whose connection is cut after the request
// was sent is not retried (it may have been applied); the same for a
// read is retried on the next member.
func TestCutMidRequest(t *testing.T) {
	cl := startCluster(t, 3)
	cut := newCuttingServer(t)
	c := newClient(t, append([]string{cut.url()}, cl.endpoints...), nil)
	direct := newClient(t, cl.endpoints, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	_, err := c.Put(ctx, "w", "v")
	if err == nil {
		t.Fatal("put through a cutting endpoint succeeded: it was retried elsewhere")
	}
	if n := cut.requests.Load(); n != 1 {
		t.Fatalf("the cutting endpoint saw %d requests, want 1", n)
	}
	var se *Error
	if errors.As(err, &se) || !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("a cut write: want ErrOutcomeUnknown and no member answer, got %v", err)
	}
	if g, err := direct.Get(ctx, "w"); err != nil || len(g.Kvs) != 0 {
		t.Fatalf("the cut write reached the cluster: %+v, %v", g, err)
	}
	// The same for a write txn.
	c.pin(0)
	if _, err := c.Txn(ctx).Then(OpPut("w", "v")).Commit(); err == nil || cut.requests.Load() != 2 {
		t.Fatalf("write txn through a cutting endpoint: %v (requests %d)", err, cut.requests.Load())
	}

	if _, err := direct.Put(ctx, "r", "v"); err != nil {
		t.Fatal(err)
	}
	c.pin(0)
	g, err := c.Get(ctx, "r")
	if err != nil || len(g.Kvs) != 1 {
		t.Fatalf("read through a cutting endpoint was not retried: %+v, %v", g, err)
	}
	if n := cut.requests.Load(); n != 3 {
		t.Fatalf("the cutting endpoint saw %d requests, want 3", n)
	}
	// A read-only txn is a read.
	c.pin(0)
	if r, err := c.Txn(ctx).Then(OpGet("r")).Commit(); err != nil || len(r.Responses) != 1 {
		t.Fatalf("read-only txn through a cutting endpoint: %+v, %v", r, err)
	}
}

// TestBlackHoleEndpoint: a member that accepts connections and never
// answers (partitioned, stuck) costs a read one AttemptTimeout, then the
// read is answered by the next member. A write sent to it is not retried:
// it fails at its deadline with ErrOutcomeUnknown.
func TestBlackHoleEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	done := make(chan struct{})
	held.Add(1)
	go func() {
		defer held.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			conn, err := ln.Accept()
			if err != nil {
				<-done
				return
			}
			conns = append(conns, conn) // held open, never read or answered
		}
	}()
	t.Cleanup(func() { ln.Close(); close(done); held.Wait() })

	good, hits := okMember(t)
	c := newClient(t, []string{"http://" + ln.Addr().String(), good.URL},
		func(cfg *Config) { cfg.AttemptTimeout = 200 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Get(ctx, "k"); err != nil || hits.Load() != 1 {
		t.Fatalf("read past a black hole: %v (hits %d)", err, hits.Load())
	}
	c.pin(0)
	wctx, wcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer wcancel()
	_, err = c.Put(wctx, "k", "v")
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) || hits.Load() != 1 {
		t.Fatalf("write into a black hole: %v (hits %d)", err, hits.Load())
	}
}
