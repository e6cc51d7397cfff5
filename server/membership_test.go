package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAddLearnerPromoteRemove(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.SnapshotCount = 100; cfg.SnapshotCatchUpEntries = 20 })
	c.startAll()
	lead := c.waitLeader()
	for i := 0; i < 300; i++ {
		put(t, c.servers[lead], fmt.Sprintf("key%04d", i), "v")
	}
	ctx := context.Background()

	// A fourth member joins as a learner.
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	client := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	info, err := c.servers[(lead+1)%3].AddMember(ctx, []string{peer}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !info.IsLearner {
		t.Fatal("added member is not a learner")
	}
	// It has not even started: promoting it is refused by the leader, also
	// when asked of a follower (which forwards to the leader).
	// (Asked right away: a member that has not yet applied the add catches
	// up before it answers.)
	waitFor(t, "the leader to publish its client URLs", func() bool {
		m, ok := c.servers[(lead+1)%3].members.get(c.servers[lead].ID())
		return ok && len(m.ClientURLs) > 0
	})
	for _, i := range []int{lead, (lead + 1) % 3} {
		if err := c.servers[i].PromoteMember(ctx, info.ID); !errors.Is(err, ErrLearnerNotReady) && (err == nil || err.Error() != ErrLearnerNotReady.Error()) {
			t.Fatalf("promoting a learner that never started, asked of member %d: %v", i, err)
		}
	}
	cfg := c.cfgs[0]
	cfg.Name, cfg.DataDir = "m3", t.TempDir()
	cfg.ListenPeerURLs, cfg.AdvertisePeerURLs = []string{peer}, []string{peer}
	cfg.ListenClientURLs, cfg.AdvertiseClientURLs = []string{client}, []string{client}
	cfg.InitialCluster += ",m3=" + peer
	cfg.InitialClusterState = "existing"
	c.cfgs = append(c.cfgs, cfg)
	c.servers = append(c.servers, nil)
	s := c.start(3)
	if s.ID() != info.ID {
		t.Fatalf("joining member computed ID %s, the cluster added %s", s.ID(), info.ID)
	}

	// It catches up and the leader promotes it by itself.
	waitFor(t, "the learner to be promoted", func() bool {
		m, ok := c.servers[lead].members.get(info.ID)
		return ok && !m.IsLearner
	})
	waitFor(t, "the new member to catch up", func() bool { return s.Store().Rev() >= c.servers[lead].Store().Rev() })
	waitFor(t, "the new member to publish its name", func() bool {
		m, ok := c.servers[lead].members.get(info.ID)
		return ok && m.Name == "m3" && len(m.ClientURLs) == 1
	})
	if got := mustGet(t, s, "key0123", false); got != "v" {
		t.Fatalf("new member reads %q", got)
	}

	// Remove a follower: it stops, and the rest keep taking writes.
	victim := (lead + 1) % 3
	if err := c.servers[lead].RemoveMember(ctx, c.servers[victim].ID()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.servers[victim].Done():
	case <-time.After(20 * time.Second):
		t.Fatal("removed member did not stop")
	}
	c.stop(victim)
	put(t, c.servers[lead], "after-remove", "ok")
	if got := mustGet(t, s, "after-remove", false); got != "ok" {
		t.Fatalf("after remove: %q", got)
	}
	if n := len(c.servers[lead].MemberList()); n != 3 {
		t.Fatalf("member list has %d members after the removal, want 3", n)
	}
	if _, err := c.servers[lead].AddMember(ctx, []string{peer}, true); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("re-adding a member's URL: %v", err)
	}
}
