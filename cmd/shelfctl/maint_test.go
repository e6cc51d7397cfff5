package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/internal/freeport"
)

// TestDefrag defragments one member, then every member with --cluster.
func TestDefrag(t *testing.T) {
	expect(t, "defrag", ctl(t, "defrag"), "Finished defragmenting etcd member["+env.members[0].hostPort+"]\n")
	out := ok(t, ctl(t, "defrag", "--cluster"))
	for _, mb := range env.members {
		if !strings.Contains(out, "Finished defragmenting etcd member["+mb.client+"]\n") {
			t.Errorf("defrag --cluster: %q lacks %s", out, mb.client)
		}
	}
	if strings.Count(out, "\n") != 3 {
		t.Errorf("defrag --cluster: %q", out)
	}
	r := ctlEnv(t, "", nil, "--endpoints", "127.0.0.1:1,"+env.members[1].hostPort, "--command-timeout", "300ms", "defrag")
	if r.code != 1 || r.stdout != "Finished defragmenting etcd member["+env.members[1].hostPort+"]\n" ||
		r.stderr != "Failed to defragment etcd member[127.0.0.1:1] (dial tcp 127.0.0.1:1: connect: connection refused)\n" {
		t.Errorf("defrag with a dead endpoint: %+v", r)
	}
}

// TestAlarmListEmpty: a healthy cluster has no alarm; list and disarm
// print nothing, as etcdctl.
func TestAlarmListEmpty(t *testing.T) {
	expect(t, "alarm list", ctl(t, "alarm", "list"), "")
	expect(t, "alarm disarm", ctl(t, "alarm", "disarm"), "")
	expect(t, "alarm disarm -w json", ctl(t, "alarm", "disarm", "-w", "json"), "{}\n")
	out := ok(t, ctl(t, "alarm", "list", "-w", "json"))
	if strings.Contains(out, "alarms") || !strings.HasPrefix(out, "{") {
		t.Errorf("alarm list -w json: %q", out)
	}
	fails(t, "alarm list -w table", ctl(t, "alarm", "list", "-w", "table"), 4, "Error: table not supported as output format\n")
}

// TestAlarmNoSpace runs a one-member cluster with a tiny quota: a write
// past it raises NOSPACE, which alarm list shows, endpoint health reports
// and alarm disarm clears.
func TestAlarmNoSpace(t *testing.T) {
	members, err := startMembers(filepath.Join(t.TempDir(), "nospace"), 1, "shelfctl-nospace", "--quota-backend-bytes", "4096")
	t.Cleanup(func() { stopMembers(members) })
	if err != nil {
		t.Fatal(err)
	}
	mb := members[0]
	run := func(args ...string) result {
		return ctlEnv(t, "", nil, append([]string{"--endpoints", mb.hostPort}, args...)...)
	}
	// The first write crosses the quota; the next one is refused and
	// raises the alarm (in the background, through raft).
	big := strings.Repeat("x", 8192)
	expect(t, "put up to the quota", run("put", "big", big), "OK\n")
	r := run("put", "big2", big)
	if r.code != 1 || r.stderr != "Error: etcdserver: mvcc: database space exceeded\n" {
		t.Fatalf("put past the quota: %+v", r)
	}
	alarm := fmt.Sprintf("memberID:%d alarm:NOSPACE \n", mb.id)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := ok(t, run("alarm", "list"))
		if out == alarm {
			break
		}
		if out != "" || time.Now().After(deadline) {
			t.Fatalf("alarm list: %q, want %q", out, alarm)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, want := noTerm(ok(t, run("alarm", "list", "-w", "json"))),
		// etcd 3.4 answers alarm calls without a header; so does shelf.
		fmt.Sprintf(`{"alarms":[{"memberID":%d,"alarm":1}]}`+"\n", mb.id); got != want {
		t.Errorf("alarm list -w json\n got %s\nwant %s", got, want)
	}
	r = run("endpoint", "health")
	if r.code != 1 || r.stderr != "Error: unhealthy cluster\n" ||
		r.stdout != mb.hostPort+" is unhealthy: failed to commit proposal: Active Alarm(s): NOSPACE \n" {
		t.Errorf("endpoint health with an alarm: %+v", r)
	}
	expect(t, "alarm disarm", run("alarm", "disarm"), alarm)
	expect(t, "alarm list after disarm", run("alarm", "list"), "")
	ok(t, run("endpoint", "health"))
}

// TestMemberUpdate changes the peer URL of a learner that never starts.
func TestMemberUpdate(t *testing.T) {
	p1, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	p2, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	out := ok(t, ctl(t, "member", "add", "upd", "--peer-urls", fmt.Sprintf("http://127.0.0.1:%d", p1), "--learner"))
	var id uint64
	if _, err := fmt.Sscanf(out, "Member %x added", &id); err != nil {
		t.Fatalf("member add: %q", out)
	}
	defer ctl(t, "member", "remove", fmt.Sprintf("%x", id))
	newURL := fmt.Sprintf("http://127.0.0.1:%d", p2)
	expect(t, "member update", ctl(t, "member", "update", fmt.Sprintf("%x", id), "--peer-urls", newURL),
		fmt.Sprintf("Member %16x updated in cluster %16x\n", id, env.cluster))
	if list := ok(t, ctl(t, "member", "list")); !strings.Contains(list, fmt.Sprintf("%x, unstarted, , %s, , true\n", id, newURL)) {
		t.Errorf("member list after update: %q", list)
	}
	fails(t, "update without URLs", ctl(t, "member", "update", fmt.Sprintf("%x", id)), 128, "Error: member peer urls not provided\n")
}

// TestMoveLeader hands leadership to a follower and back, checking
// etcdctl's line and that the members follow the new leader.
func TestMoveLeader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lead, err := leaderID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var to uint64
	for _, mb := range env.members {
		if mb.id != lead {
			to = mb.id
			break
		}
	}
	r := ctlEnv(t, "", nil, "--endpoints", allEndpoints(), "move-leader", fmt.Sprintf("%x", to))
	expect(t, "move-leader", r, fmt.Sprintf("Leadership transferred from %x to %x\n", lead, to))
	for {
		now, err := leaderID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if now == to {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("leader is still %x, want %x", now, to)
		case <-time.After(20 * time.Millisecond):
		}
	}
	// The cluster takes writes under its new leader.
	expect(t, "put after move", ctl(t, "put", "moved", "yes"), "OK\n")
	r = ctlEnv(t, "", nil, "--endpoints", allEndpoints(), "move-leader", fmt.Sprintf("%x", lead), "-w", "json")
	if out := ok(t, r); !strings.HasPrefix(out, "{") || !strings.HasSuffix(out, "}\n") {
		t.Errorf("move-leader -w json: %q", out)
	}
	if _, err := leaderID(ctx); err != nil {
		t.Fatal(err)
	}
	fails(t, "move-leader bad ID", ctl(t, "move-leader", "zz"), 128, "Error: strconv.ParseUint: parsing \"zz\": invalid syntax\n")
	fails(t, "move-leader no ID", ctl(t, "move-leader"), 128, "Error: move-leader command needs 1 argument\n")
	r = ctl(t, "move-leader", "1234")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: ") || r.stdout != "" {
		t.Errorf("move-leader to a non-member: %+v", r)
	}
}
