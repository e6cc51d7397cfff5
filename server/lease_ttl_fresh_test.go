package server

import (
	"bytes"
	"context"
	"testing"

	"github.com/shelf-kv/shelf/mvcc"
)

// TestLeaseTimeToLiveReadsYourWrites: a timetolive asked of any member
// right after a write acknowledged by another one reflects that write,
// as etcd's single member always does: its header revision is not older
// and the keys list holds the key just attached. (The differential test
// against etcd found member answers one revision behind, seed 21.)
func TestLeaseTimeToLiveReadsYourWrites(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	c.waitLeader()
	ctx := context.Background()
	const id = 42
	if _, err := c.servers[0].LeaseGrant(ctx, id, 3600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		w, r := c.servers[i%3], c.servers[(i+1)%3]
		key := []byte{'k', byte('a' + i%26)}
		put, err := w.Put(ctx, &mvcc.PutRequest{Key: key, Value: []byte("v"), Lease: id})
		if err != nil {
			t.Fatal(err)
		}
		ttl, err := r.LeaseTimeToLive(ctx, id, true)
		if err != nil {
			t.Fatal(err)
		}
		if ttl.Header.Revision < put.Header.Revision {
			t.Fatalf("round %d: timetolive on member %d answered at revision %d, after a put acknowledged at %d",
				i, (i+1)%3, ttl.Header.Revision, put.Header.Revision)
		}
		found := false
		for _, k := range ttl.Keys {
			found = found || bytes.Equal(k, key)
		}
		if !found {
			t.Fatalf("round %d: timetolive keys %q lack %q, attached by a put acknowledged at %d", i, ttl.Keys, key, put.Header.Revision)
		}
	}
}
