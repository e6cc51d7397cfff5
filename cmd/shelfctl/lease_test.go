package main

import (
	"bufio"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

var grantRe = regexp.MustCompile(`^lease ([0-9a-f]{16}) granted with TTL\((\d+)s\)\n$`)

// grant runs lease grant ttl and returns the lease ID in hex.
func grant(t *testing.T, ttl int) string {
	t.Helper()
	out := ok(t, ctl(t, "lease", "grant", fmt.Sprint(ttl)))
	m := grantRe.FindStringSubmatch(out)
	if m == nil || m[2] != fmt.Sprint(ttl) {
		t.Fatalf("lease grant %d: %q", ttl, out)
	}
	return m[1]
}

// TestLease runs grant, put --lease, timetolive --keys, keep-alive --once,
// list and revoke, in simple and json output.
func TestLease(t *testing.T) {
	id := grant(t, 100)
	expect(t, "put --lease", ctl(t, "put", "lease/k", "v", "--lease", id), "OK\n")
	out := ok(t, ctl(t, "lease", "timetolive", id, "--keys"))
	if !regexp.MustCompile(`^lease ` + id + ` granted with TTL\(100s\), remaining\((9[0-9]|100)s\), attached keys\(\[lease/k\]\)\n$`).MatchString(out) {
		t.Errorf("timetolive --keys: %q", out)
	}
	out = ok(t, ctl(t, "lease", "timetolive", id))
	if !regexp.MustCompile(`^lease ` + id + ` granted with TTL\(100s\), remaining\((9[0-9]|100)s\)\n$`).MatchString(out) {
		t.Errorf("timetolive: %q", out)
	}
	expect(t, "keep-alive --once", ctl(t, "lease", "keep-alive", "--once", id), "lease "+id+" keepalived with TTL(100)\n")
	// --ignore-lease keeps the key on its lease; --ignore-value keeps its
	// value (without --ignore-lease it would also detach it, as in etcd).
	expect(t, "put --ignore-lease", ctl(t, "put", "lease/k", "v2", "--ignore-lease"), "OK\n")
	expect(t, "put --ignore-value --prev-kv", ctl(t, "put", "lease/k", "--ignore-value", "--ignore-lease", "--prev-kv"), "OK\nlease/k\nv2\n")
	expect(t, "value kept", ctl(t, "get", "lease/k", "--print-value-only"), "v2\n")
	if out := ok(t, ctl(t, "lease", "timetolive", id, "--keys")); !strings.HasSuffix(out, "attached keys([lease/k])\n") {
		t.Errorf("the key left its lease: %q", out)
	}
	out = ok(t, ctl(t, "lease", "list"))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != fmt.Sprintf("found %d leases", len(lines)-1) || !strings.Contains(out, "\n"+id+"\n") {
		t.Errorf("lease list: %q", out)
	}

	var dec int64
	fmt.Sscanf(id, "%x", &dec)
	hdrRe := fmt.Sprintf(`\{"cluster_id":%d,"member_id":%d,"revision":\d+,"raft_term":\d+,`, env.cluster, env.members[0].id)
	for _, c := range []struct {
		args []string
		re   string
	}{
		{[]string{"lease", "timetolive", id, "--keys"}, fmt.Sprintf(`^%s"id":%d,"ttl":(9[0-9]|100),"granted-ttl":100,"keys":\["%s"\]\}\n$`, hdrRe, dec, b64("lease/k"))},
		{[]string{"lease", "keep-alive", "--once", id}, fmt.Sprintf(`^%s"ID":%d,"TTL":100\}\n$`, hdrRe, dec)},
		{[]string{"lease", "list"}, fmt.Sprintf(`^%s"leases":\[(\{"id":\d+\},)*\{"id":%d\}(,\{"id":\d+\})*\]\}\n$`, hdrRe, dec)},
		{[]string{"lease", "grant", "50"}, fmt.Sprintf(`^%s"ID":\d+,"TTL":50,"Error":""\}\n$`, hdrRe)},
	} {
		out := ok(t, ctl(t, append(c.args, "-w", "json")...))
		if !regexp.MustCompile(c.re).MatchString(out) {
			t.Errorf("%v -w json: %s\nwant /%s/", c.args, out, c.re)
		}
	}

	expect(t, "revoke", ctl(t, "lease", "revoke", id), "lease "+id+" revoked\n")
	expect(t, "leased key gone", ctl(t, "get", "lease/k"), "")
	expect(t, "timetolive after revoke", ctl(t, "lease", "timetolive", id), "lease "+id+" already expired\n")
	fails(t, "revoke again", ctl(t, "lease", "revoke", id), 1, "Error: failed to revoke lease (etcdserver: requested lease not found)\n")
	id2 := grant(t, 60)
	out = ok(t, ctl(t, "lease", "revoke", id2, "-w", "json"))
	if !regexp.MustCompile(fmt.Sprintf(`^\{"header":\{"cluster_id":%d,"member_id":%d,"revision":\d+,"raft_term":\d+\}\}\n$`, env.cluster, env.members[0].id)).MatchString(out) {
		t.Errorf("revoke -w json: %s", out)
	}

	// A lease that does not exist, as etcdctl reports it.
	fails(t, "keep-alive --once of no lease", ctl(t, "lease", "keep-alive", "--once", "1234"), 2,
		"Error: etcdserver: requested lease not found\n")
	expect(t, "keep-alive of no lease", ctl(t, "lease", "keep-alive", "1234"), "lease 0000000000001234 expired or revoked.\n")
	expect(t, "timetolive of no lease", ctl(t, "lease", "timetolive", "1234"), "lease 0000000000001234 already expired\n")

	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"lease", "grant"}, 128, "lease grant command needs TTL argument"},
		{[]string{"lease", "grant", "x"}, 128, `bad TTL (strconv.ParseInt: parsing "x": invalid syntax)`},
		{[]string{"lease", "revoke", "zz"}, 128, `bad lease ID arg (strconv.ParseInt: parsing "zz": invalid syntax), expecting ID in Hex`},
		{[]string{"lease", "timetolive"}, 128, "lease timetolive command needs lease ID as argument"},
		{[]string{"lease", "keep-alive"}, 128, "lease keep-alive command needs lease ID as argument"},
		{[]string{"lease", "list", "-w", "table"}, 4, "table not supported as output format"},
	} {
		fails(t, strings.Join(c.args, " "), ctl(t, c.args...), c.code, "Error: "+c.stderr+"\n")
	}
}

// TestLeaseKeepAlive keeps a lease alive until it is revoked: the renewals
// are printed as they happen, then the end, as etcdctl does.
func TestLeaseKeepAlive(t *testing.T) {
	id := grant(t, 3)
	cmd := exec.Command(env.ctlBin, "--endpoints", env.members[0].hostPort, "lease", "keep-alive", id)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func() (string, bool) {
		select {
		case l, ok := <-lines:
			return l, ok
		case <-time.After(15 * time.Second):
			t.Fatal("keep-alive printed nothing within 15s")
			return "", false
		}
	}
	// Two renewals: the first at once, the next about TTL/3 later.
	for i := 0; i < 2; i++ {
		if l, _ := next(); l != "lease "+id+" keepalived with TTL(3)" {
			t.Fatalf("renewal %d: %q", i, l)
		}
	}
	expect(t, "revoke", ctl(t, "lease", "revoke", id), "lease "+id+" revoked\n")
	for {
		l, ok := next()
		if !ok {
			t.Fatal("keep-alive ended without its last line")
		}
		if l == "lease "+id+" expired or revoked." {
			break
		}
		if l != "lease "+id+" keepalived with TTL(3)" {
			t.Fatalf("unexpected line %q", l)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("keep-alive exit: %v", err)
	}
}
