package client

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLease exercises every lease call through a follower: grant with and
// without an ID, a duplicate, a too large TTL, timetolive with and without
// keys and of an unknown lease, the list, keepalive once of a live and an
// unknown lease, revoke (keys go) and revoke of an unknown lease.
func TestLease(t *testing.T) {
	cl := startCluster(t, 3)
	f := cl.follower()
	c := newClient(t, []string{cl.endpoints[f]}, nil)
	ctx := context.Background()

	g, err := c.Grant(ctx, 60, WithLeaseID(77))
	if err != nil || g.ID != 77 || g.TTL != 60 || g.Header.Revision == 0 || g.Header.MemberID != cl.id(f) {
		t.Fatalf("grant 77: %+v, %v", g, err)
	}
	g0, err := c.Grant(ctx, 0)
	if err != nil || g0.ID == 0 || g0.TTL < 1 {
		t.Fatalf("grant with ID 0 and TTL 0: %+v, %v (want an ID and the minimum TTL)", g0, err)
	}
	var e *Error
	if _, err := c.Grant(ctx, 60, WithLeaseID(77)); !errors.As(err, &e) || e.Code != CodeFailedPrecondition || e.Message != "etcdserver: lease already exists" {
		t.Fatalf("duplicate grant: %v", err)
	}
	if _, err := c.Grant(ctx, 9_000_000_001); !errors.As(err, &e) || e.Code != CodeOutOfRange {
		t.Fatalf("grant with a too large TTL: %v", err)
	}
	if _, err := c.Put(ctx, "leased", "v", WithLease(77)); err != nil {
		t.Fatal(err)
	}
	tl, err := c.TimeToLive(ctx, 77, true)
	if err != nil || tl.ID != 77 || tl.TTL < 58 || tl.TTL > 60 || tl.GrantedTTL != 60 || len(tl.Keys) != 1 || string(tl.Keys[0]) != "leased" {
		t.Fatalf("timetolive with keys: %+v, %v", tl, err)
	}
	tl, err = c.TimeToLive(ctx, 77, false)
	if err != nil || len(tl.Keys) != 0 || tl.GrantedTTL != 60 {
		t.Fatalf("timetolive without keys: %+v, %v", tl, err)
	}
	tl, err = c.TimeToLive(ctx, 999, true)
	if err != nil || tl.ID != 999 || tl.TTL != -1 || tl.GrantedTTL != 0 {
		t.Fatalf("timetolive of an unknown lease: %+v, %v (want TTL -1, as etcd)", tl, err)
	}
	ls, err := c.Leases(ctx)
	if err != nil || len(ls.Leases) != 2 {
		t.Fatalf("leases: %+v, %v", ls, err)
	}
	seen := map[int64]bool{}
	for _, l := range ls.Leases {
		seen[l.ID] = true
	}
	if !seen[77] || !seen[g0.ID] {
		t.Fatalf("leases %+v, want 77 and %d", ls.Leases, g0.ID)
	}
	ka, err := c.KeepAliveOnce(ctx, 77)
	if err != nil || ka.ID != 77 || ka.TTL != 60 || ka.Header.MemberID != cl.id(f) {
		t.Fatalf("keepalive once: %+v, %v", ka, err)
	}
	if _, err := c.KeepAliveOnce(ctx, 999); !errors.Is(err, ErrLeaseNotFound) {
		t.Fatalf("keepalive once of an unknown lease: %v", err)
	}
	r, err := c.Revoke(ctx, 77)
	if err != nil || r.Header.Revision <= g.Header.Revision {
		t.Fatalf("revoke: %+v, %v", r, err)
	}
	if got, err := c.Get(ctx, "leased"); err != nil || len(got.Kvs) != 0 {
		t.Fatalf("the leased key after revoke: %+v, %v", got, err)
	}
	if _, err := c.Revoke(ctx, 77); !errors.Is(err, ErrLeaseNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := c.KeepAlive(ctx, 77); !errors.Is(err, ErrLeaseNotFound) {
		t.Fatalf("keepalive of a revoked lease: %v", err)
	}
}

// TestKeepAliveFailsOver keeps a 2 s lease alive for several TTLs while
// the member serving the keepalive stream is stopped: the renewals go on
// from another member and the lease and its key survive; once the context
// ends the channel closes and the lease expires.
func TestKeepAliveFailsOver(t *testing.T) {
	cl := startCluster(t, 3)
	c := newClient(t, cl.endpoints, func(cfg *Config) { cfg.AttemptTimeout = 500 * time.Millisecond })
	ctx := context.Background()
	g, err := c.Grant(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "kept", "v", WithLease(g.ID)); err != nil {
		t.Fatal(err)
	}
	kctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := c.KeepAlive(kctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	first := <-ch
	if first.ID != g.ID || first.TTL != g.TTL {
		t.Fatalf("first renewal: %+v", first)
	}
	served := -1
	for i := range cl.servers {
		if cl.id(i) == first.Header.MemberID {
			served = i
		}
	}
	if served < 0 {
		t.Fatalf("renewal from unknown member %d", first.Header.MemberID)
	}
	start := time.Now()
	stopped := false
	var after []uint64 // members that renewed after the stop
	deadline := time.After(20 * time.Second)
	for time.Since(start) < 8*time.Second {
		select {
		case r, ok := <-ch:
			if !ok {
				t.Fatalf("keepalive channel closed after %v", time.Since(start))
			}
			if r.TTL != g.TTL {
				t.Fatalf("renewal with TTL %d", r.TTL)
			}
			if stopped {
				after = append(after, r.Header.MemberID)
			}
		case <-deadline:
			t.Fatal("no renewal for 20s")
		}
		if !stopped && time.Since(start) > 2*time.Second {
			cl.stop(served)
			stopped = true
		}
	}
	// A renewal read just after the stop may have been answered before
	// it; the last ones must come from another member.
	if len(after) == 0 || after[len(after)-1] == cl.id(served) {
		t.Fatalf("renewals after member %d (serving the stream) stopped came from %v", cl.id(served), after)
	}
	if got, err := c.Get(ctx, "kept"); err != nil || len(got.Kvs) != 1 {
		t.Fatalf("the kept key after %v of renewals across a member stop: %+v, %v", time.Since(start), got, err)
	}
	cancel()
	for range ch {
	}
	waitDeadline := time.Now().Add(20 * time.Second)
	for {
		got, err := c.Get(ctx, "kept")
		if err == nil && len(got.Kvs) == 0 {
			break
		}
		if time.Now().After(waitDeadline) {
			t.Fatalf("the key of the lease still there 20s after keepalive stopped: %+v, %v", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tl, err := c.TimeToLive(ctx, g.ID, false); err != nil || tl.TTL != -1 {
		t.Fatalf("timetolive of the expired lease: %+v, %v", tl, err)
	}
}

// TestKeepAliveEndsWithLease: revoking a lease closes its KeepAlive
// channel (the next renewal answers TTL 0).
func TestKeepAliveEndsWithLease(t *testing.T) {
	cl := startCluster(t, 3)
	c := newClient(t, cl.endpoints, nil)
	ctx := context.Background()
	g, err := c.Grant(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.KeepAlive(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	<-ch
	if _, err := c.Revoke(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("keepalive channel still open 20s after the revoke")
		}
	}
}
