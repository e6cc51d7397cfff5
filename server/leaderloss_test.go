package server

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
)

// TestWritesRightAfterLeaderStops writes through the survivors once their
// connections to the stopped leader are down but before raft has noticed
// (no election yet). Each write either succeeds or is refused with
// ErrNoLeader (safe to retry: nothing was proposed); none is silently lost
// to the dead leader and left to time out, which is what happened when
// followers forwarded proposals to a leader they could no longer reach.
// (A write forwarded in the instant before the connection is seen to drop
// can still be lost with its outcome unknown, as in etcd.)
func TestWritesRightAfterLeaderStops(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) {
		cfg.HeartbeatInterval, cfg.ElectionTimeout = 100*time.Millisecond, time.Second
	})
	c.startAll()
	lead := c.waitLeader()
	put(t, c.servers[lead], "before", "v")
	dead := c.servers[lead].ID()
	c.stop(lead)
	for _, s := range c.servers {
		if s != nil {
			waitFor(t, "the survivors to see the leader's connections drop", func() bool { return !s.tr.Reachable(dead) })
		}
	}
	for i, s := range c.servers {
		if s == nil {
			continue
		}
		deadline := time.Now().Add(20 * time.Second)
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			_, err := s.Put(ctx, &mvcc.PutRequest{Key: []byte(fmt.Sprintf("after/%d", i)), Value: []byte("v")})
			cancel()
			if err == nil {
				break
			}
			if !errors.Is(err, ErrNoLeader) {
				t.Fatalf("write %d through member %d right after the leader stopped: %v; want success or ErrNoLeader", attempt, i, err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("member %d refused writes for 20s", i)
			}
			time.Sleep(20 * time.Millisecond) // a client's retry pause
		}
	}
}
