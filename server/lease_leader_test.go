package server

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
)

// leaseKeyGone reports whether key is absent from s's local store.
func leaseKeyGone(t *testing.T, s *Server, key string) bool {
	t.Helper()
	r, err := s.Store().Range(&mvcc.RangeRequest{Key: []byte(key)})
	if err != nil {
		t.Fatal(err)
	}
	return len(r.Kvs) == 0
}

// TestLeaseSurvivesLeaderChange: a lease granted with a 5 s TTL, whose
// leader is stopped 2 s later (3 s left), is still alive on the new leader
// a full TTL after the stop (the new leader restarts every deadline at the
// full TTL plus an election timeout), then expires through a replicated
// revoke: its key disappears on both survivors in one revision.
func TestLeaseSurvivesLeaderChange(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	lead := c.waitLeader()
	ctx := context.Background()
	const ttl = 5
	follower := c.servers[(lead+1)%3]
	g, err := follower.LeaseGrant(ctx, 0, ttl)
	if err != nil {
		t.Fatal(err)
	}
	granted := time.Now()
	if _, err := follower.Put(ctx, &mvcc.PutRequest{Key: []byte("leased"), Value: []byte("v"), Lease: g.ID}); err != nil {
		t.Fatal(err)
	}
	// A follower's TimeToLive is the leader's (forwarded).
	tl, err := follower.LeaseTimeToLive(ctx, g.ID, true)
	if err != nil || tl.TTL < ttl-1 || tl.TTL > ttl || tl.GrantedTTL != ttl || len(tl.Keys) != 1 {
		t.Fatalf("timetolive through a follower: %+v, %v", tl, err)
	}
	waitFor(t, "2 s of the lease's TTL to pass", func() bool { return time.Since(granted) >= 2*time.Second })
	c.stop(lead)
	stopped := time.Now()
	newLead := c.waitLeader()
	var survivors []*Server
	for _, s := range c.servers {
		if s != nil {
			survivors = append(survivors, s)
		}
	}
	tl, err = c.servers[newLead].LeaseTimeToLive(ctx, g.ID, false)
	if err != nil || tl.TTL < ttl-1 {
		t.Fatalf("on the new leader right after the election: %+v, %v; want the full TTL again", tl, err)
	}
	revBefore := c.servers[newLead].Store().Rev()
	var gone time.Time
	waitFor(t, "the lease to expire on the new leader", func() bool {
		for _, s := range survivors {
			if !leaseKeyGone(t, s, "leased") {
				return false
			}
		}
		gone = time.Now()
		return true
	})
	if alive := gone.Sub(stopped); alive < ttl*time.Second {
		t.Fatalf("the lease expired %v after the leader stopped, before its full TTL of %ds (it had %v left)",
			alive, ttl, ttl*time.Second-stopped.Sub(granted))
	}
	for i, s := range survivors {
		waitFor(t, "the revoke to be applied", func() bool { return s.Store().Rev() > revBefore })
		if got := s.Store().Rev(); got != revBefore+1 {
			t.Fatalf("survivor %d: revision %d after the revoke, want %d", i, got, revBefore+1)
		}
		if ls := s.Store().Leases(); len(ls) != 0 {
			t.Fatalf("survivor %d still lists %+v", i, ls)
		}
		if _, err := s.LeaseTimeToLive(ctx, g.ID, false); !errors.Is(err, mvcc.ErrLeaseNotFound) {
			t.Fatalf("survivor %d: timetolive of the expired lease: %v, want not found", i, err)
		}
	}
	t.Logf("lease alive %v after the leader stopped (TTL %ds, %v left at the stop)",
		gone.Sub(stopped).Round(time.Millisecond), ttl, (ttl*time.Second - stopped.Sub(granted)).Round(time.Millisecond))
}

// TestLeaseKeepAliveAcrossTTLs renews a 1 s lease through a follower for
// four TTLs: it stays alive with its key; once renewals stop, it expires
// and its key goes from every member.
func TestLeaseKeepAliveAcrossTTLs(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	lead := c.waitLeader()
	ctx := context.Background()
	follower := c.servers[(lead+2)%3]
	g, err := follower.LeaseGrant(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := follower.Put(ctx, &mvcc.PutRequest{Key: []byte("kept"), Value: []byte("v"), Lease: g.ID}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	renewals := 0
	for time.Since(start) < 4*time.Second {
		<-tick.C
		got, err := follower.LeaseRenew(ctx, g.ID)
		if err != nil || got != g.TTL {
			t.Fatalf("renewal %d after %v: ttl %d, %v", renewals, time.Since(start), got, err)
		}
		renewals++
	}
	for i, s := range c.servers {
		if leaseKeyGone(t, s, "kept") {
			t.Fatalf("member %d lost the key of a lease renewed every 300ms", i)
		}
	}
	for i, s := range c.servers {
		waitFor(t, fmt.Sprintf("the key to go on member %d once renewals stop", i), func() bool { return leaseKeyGone(t, s, "kept") })
	}
	if _, err := follower.LeaseRenew(ctx, g.ID); !errors.Is(err, mvcc.ErrLeaseNotFound) {
		t.Fatalf("renewing the expired lease: %v, want not found", err)
	}
}

// TestLeaseRevokeEverywhere: a revoke through a follower deletes every
// attached key on every member in one revision, and the lease is gone
// everywhere (list, timetolive, renew).
func TestLeaseRevokeEverywhere(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	lead := c.waitLeader()
	ctx := context.Background()
	follower := c.servers[(lead+1)%3]
	g, err := c.servers[lead].LeaseGrant(ctx, 42, 600)
	if err != nil || g.ID != 42 {
		t.Fatalf("grant: %+v, %v", g, err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, err := follower.Put(ctx, &mvcc.PutRequest{Key: []byte(k), Value: []byte("v"), Lease: 42}); err != nil {
			t.Fatal(err)
		}
	}
	put(t, follower, "unleased", "v")
	ls, _, err := follower.LeaseLeases(ctx)
	if err != nil || len(ls) != 1 || ls[0].ID != 42 {
		t.Fatalf("leases through a follower: %+v, %v", ls, err)
	}
	r, err := follower.LeaseRevoke(ctx, 42)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range c.servers {
		waitFor(t, "the revoke to be applied", func() bool { return s.Store().Rev() >= r.Header.Revision })
		if got := s.Store().Rev(); got != r.Header.Revision {
			t.Fatalf("member %d at revision %d, want the revoke's %d", i, got, r.Header.Revision)
		}
		for _, k := range []string{"a", "b", "c"} {
			if !leaseKeyGone(t, s, k) {
				t.Fatalf("member %d kept %q after the revoke", i, k)
			}
		}
		if leaseKeyGone(t, s, "unleased") {
			t.Fatalf("member %d lost a key without lease", i)
		}
		if _, err := s.LeaseTimeToLive(ctx, 42, false); !errors.Is(err, mvcc.ErrLeaseNotFound) {
			t.Fatalf("member %d: timetolive after revoke: %v", i, err)
		}
		if _, err := s.LeaseRenew(ctx, 42); !errors.Is(err, mvcc.ErrLeaseNotFound) {
			t.Fatalf("member %d: renew after revoke: %v", i, err)
		}
	}
	if _, err := follower.LeaseRevoke(ctx, 42); !errors.Is(err, mvcc.ErrLeaseNotFound) {
		t.Fatalf("second revoke: %v, want not found", err)
	}
}

// TestLeaseRenewWithoutLeader: a member left alone (its two peers
// stopped) cannot reach a leader; keepalive and timetolive through it
// fail with etcd's "no leader" once the request's deadline passes,
// instead of hanging or answering from its own non-primary lessor.
func TestLeaseRenewWithoutLeader(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	lead := c.waitLeader()
	g, err := c.servers[lead].LeaseGrant(context.Background(), 0, 60)
	if err != nil {
		t.Fatal(err)
	}
	alone := (lead + 1) % 3
	s := c.servers[alone]
	waitFor(t, "the grant to be applied on the member left alone", func() bool { return len(s.Store().Leases()) == 1 })
	for i := range c.servers {
		if i != alone {
			c.stop(i)
		}
	}
	waitFor(t, "the member to lose its leader", func() bool { return s.Leader() == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := s.LeaseRenew(ctx, g.ID); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("renew without a leader: %v, want ErrNoLeader", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if _, err := s.LeaseTimeToLive(ctx2, g.ID, false); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("timetolive without a leader: %v, want ErrNoLeader", err)
	}
}
