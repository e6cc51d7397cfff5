package server

import (
	"context"
	"testing"

	"github.com/shelf-kv/shelf/mvcc"
)

// TestLeaseExpiresThroughRaft grants a lease, attaches a key, and waits for
// the leader to notice the expiry and revoke it through raft: the key
// disappears on every member, in one revision.
func TestLeaseExpiresThroughRaft(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	lead := c.waitLeader()
	ctx := context.Background()
	follower := c.servers[(lead+1)%3]
	g, err := follower.LeaseGrant(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if g.ID == 0 || g.TTL < 1 {
		t.Fatalf("grant: %+v", g)
	}
	if _, err := follower.Put(ctx, &mvcc.PutRequest{Key: []byte("leased"), Value: []byte("v"), Lease: g.ID}); err != nil {
		t.Fatal(err)
	}
	before := follower.Store().Rev()
	for _, s := range c.servers {
		s := s
		// Wait for the revoke's revision to be applied on this member (a
		// member that has not yet applied the put also lacks the key).
		waitFor(t, "the lease revoke to be applied", func() bool { return s.Store().Rev() > before })
		if got := s.Store().Rev(); got != before+1 {
			t.Fatalf("revision %d after the revoke, want %d (the revoke is one revision)", got, before+1)
		}
		r, err := s.Range(ctx, &mvcc.RangeRequest{Key: []byte("leased")}, true)
		if err != nil || len(r.Kvs) != 0 {
			t.Fatalf("the leased key survived its lease: %+v, %v", r, err)
		}
		if len(s.Store().Leases()) != 0 {
			t.Fatalf("lease still listed: %+v", s.Store().Leases())
		}
	}
}
