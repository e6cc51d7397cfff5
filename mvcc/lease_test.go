package mvcc

import (
	"testing"
	"time"
)

func TestLeaseExpiryOnInjectedClock(t *testing.T) {
	s := newTestStore(t, Config{})
	s.Promote(0)
	if _, err := s.LeaseGrant(s.next(), 7, 10); err != nil {
		t.Fatal(err)
	}
	_, err := s.LeaseGrant(s.next(), 7, 10)
	wantErr(t, err, ErrLeaseExists)
	if _, err := s.Put(s.next(), &PutRequest{Key: []byte("x"), Lease: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(s.next(), &PutRequest{Key: []byte("y"), Lease: 7}); err != nil {
		t.Fatal(err)
	}
	if got := s.Expired(); len(got) != 0 {
		t.Fatalf("expired before the deadline: %v", got)
	}
	s.clock.Advance(4 * time.Second)
	ttl, err := s.LeaseTimeToLive(7, true)
	if err != nil || ttl.TTL != 6 || ttl.GrantedTTL != 10 || len(ttl.Keys) != 2 || string(ttl.Keys[0]) != "x" {
		t.Fatalf("ttl %+v %v", ttl, err)
	}
	if got, err := s.LeaseRenew(7); err != nil || got != 10 {
		t.Fatalf("renew %d %v", got, err)
	}
	s.clock.Advance(9 * time.Second)
	if got := s.Expired(); len(got) != 0 {
		t.Fatalf("renewed lease expired early: %v", got)
	}
	s.clock.Advance(time.Second)
	if got := s.Expired(); len(got) != 1 || got[0] != 7 {
		t.Fatalf("expired %v, want [7]", got)
	}
	_, err = s.LeaseRenew(7)
	wantErr(t, err, ErrLeaseNotFound)

	// A new leader refreshes deadlines; a follower never expires leases.
	s.Demote()
	if got := s.Expired(); got != nil {
		t.Fatalf("demoted lessor expired %v", got)
	}
	_, err = s.LeaseRenew(7)
	wantErr(t, err, ErrNotPrimary)
	s.Promote(2 * time.Second)
	s.clock.Advance(11 * time.Second)
	if got := s.Expired(); len(got) != 0 {
		t.Fatalf("promote did not extend: %v", got)
	}
	s.clock.Advance(time.Second)
	if got := s.Expired(); len(got) != 1 {
		t.Fatalf("expired %v after extend", got)
	}

	// Revoke deletes both keys in ONE revision.
	before := s.Rev()
	r, err := s.LeaseRevoke(s.next(), 7)
	if err != nil || r.Header.Revision != before+1 {
		t.Fatalf("revoke %+v %v (before %d)", r, err, before)
	}
	if s.get("x", 0) != nil || s.get("y", 0) != nil {
		t.Fatal("revoke left keys behind")
	}
	_, err = s.LeaseTimeToLive(7, false)
	wantErr(t, err, ErrLeaseNotFound)
	// Revoking a lease without keys does not bump the revision.
	if _, err := s.LeaseGrant(s.next(), 8, 5); err != nil {
		t.Fatal(err)
	}
	if r, err := s.LeaseRevoke(s.next(), 8); err != nil || r.Header.Revision != before+1 {
		t.Fatalf("empty revoke %+v %v", r, err)
	}
}

func TestLeaseReattach(t *testing.T) {
	s := newTestStore(t, Config{})
	for _, id := range []int64{1, 2} {
		if _, err := s.LeaseGrant(s.next(), id, 60); err != nil {
			t.Fatal(err)
		}
	}
	mustPut := func(r *PutRequest) {
		t.Helper()
		if _, err := s.Put(s.next(), r); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(&PutRequest{Key: []byte("k"), Lease: 1})
	mustPut(&PutRequest{Key: []byte("k"), Value: []byte("v"), IgnoreLease: true})
	mustPut(&PutRequest{Key: []byte("k"), Lease: 2})
	if kv := s.get("k", 0); kv.Lease != 2 {
		t.Fatalf("lease %d", kv.Lease)
	}
	if r, _ := s.LeaseTimeToLive(1, true); len(r.Keys) != 0 {
		t.Fatalf("old lease still has %q", r.Keys)
	}
	if _, err := s.LeaseRevoke(s.next(), 1); err != nil {
		t.Fatal(err)
	}
	if s.get("k", 0) == nil {
		t.Fatal("revoking the old lease deleted the key")
	}
}
