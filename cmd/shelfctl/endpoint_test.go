package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/client"
)

// TestRenderTable checks the table renderer against tables etcdctl 3.4.23
// printed for a real etcd (copied byte for byte).
func TestRenderTable(t *testing.T) {
	var b strings.Builder
	renderTable(&b, []string{"endpoint", "ID", "version", "db size", "is leader", "is learner", "raft term",
		"raft index", "raft applied index", "errors"},
		[][]string{{"127.0.0.1:23790", "2e1259d415f2a040", "3.4.23", "20 kB", "true", "false", "2", "28", "28", ""}})
	want := `+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
|    ENDPOINT     |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
| 127.0.0.1:23790 | 2e1259d415f2a040 |  3.4.23 |   20 kB |      true |      false |         2 |         28 |                 28 |        |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
`
	if b.String() != want {
		t.Errorf("endpoint status table:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	renderTable(&b, []string{"endpoint", "health", "took", "error"}, [][]string{
		{"127.0.0.1:23790", "true", "3.348019ms", ""},
		{"127.0.0.1:1", "false", "5.000722069s", "context deadline exceeded"}})
	want = `+-----------------+--------+--------------+---------------------------+
|    ENDPOINT     | HEALTH |     TOOK     |           ERROR           |
+-----------------+--------+--------------+---------------------------+
| 127.0.0.1:23790 |   true |   3.348019ms |                           |
|     127.0.0.1:1 |  false | 5.000722069s | context deadline exceeded |
+-----------------+--------+--------------+---------------------------+
`
	if b.String() != want {
		t.Errorf("endpoint health table:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestHumanBytes checks go-humanize's Bytes, which etcdctl's DB SIZE uses.
func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 9: "9 B", 10: "10 B", 999: "999 B", 1000: "1.0 kB",
		1500: "1.5 kB", 20480: "20 kB", 99999: "100 kB", 1_000_000: "1.0 MB", 2_147_483_648: "2.1 GB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestMemberList checks member list in the three formats.
func TestMemberList(t *testing.T) {
	var rows [][]string
	var simple, members []string
	// Members are listed by ID, as etcd lists them.
	byID := append([]*testMember(nil), env.members...)
	sort.Slice(byID, func(i, j int) bool { return byID[i].id < byID[j].id })
	for _, mb := range byID {
		row := []string{fmt.Sprintf("%x", mb.id), "started", mb.name, mb.peer, mb.client, "false"}
		rows = append(rows, row)
		members = append(members, fmt.Sprintf(`{"ID":%d,"name":"%s","peerURLs":["%s"],"clientURLs":["%s"]}`, mb.id, mb.name, mb.peer, mb.client))
	}
	for _, r := range rows {
		simple = append(simple, strings.Join(r, ", "))
	}
	expect(t, "member list", ctl(t, "member", "list"), strings.Join(simple, "\n")+"\n")
	var tb strings.Builder
	renderTable(&tb, []string{"ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"}, rows)
	expect(t, "member list -w table", ctl(t, "member", "list", "-w", "table"), tb.String())
	if !strings.HasPrefix(tb.String(), "+------------------+---------+------+") {
		t.Errorf("member table head: %q", tb.String()[:40])
	}
	got := ok(t, ctl(t, "member", "list", "-w", "json"))
	var resp struct {
		Members []json.RawMessage `json:"members"`
	}
	if err := json.Unmarshal([]byte(got), &resp); err != nil {
		t.Fatal(err)
	}
	var gotMembers []string
	for _, m := range resp.Members {
		gotMembers = append(gotMembers, string(m))
	}
	sort.Strings(gotMembers)
	sort.Strings(members)
	if strings.Join(gotMembers, ",") != strings.Join(members, ",") {
		t.Errorf("member list -w json members\n got %s\nwant %s", gotMembers, members)
	}
	if !strings.HasPrefix(got, fmt.Sprintf(`{"header":{"cluster_id":%d,"member_id":%d,`, env.cluster, env.members[0].id)) {
		t.Errorf("member list -w json header: %s", got)
	}
}

// allEndpoints is --endpoints naming every member.
func allEndpoints() string {
	var eps []string
	for _, mb := range env.members {
		eps = append(eps, mb.hostPort)
	}
	return strings.Join(eps, ",")
}

var sizeRe = regexp.MustCompile(`^\d+(\.\d)? [kMG]?B$`)

// TestEndpointStatusTable runs endpoint status -w table on the three
// members and checks every line: the box and header exactly, and each
// row's cells against the members' own status.
func TestEndpointStatusTable(t *testing.T) {
	ctx := context.Background()
	lead, err := leaderID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Endpoints: []string{env.members[0].client}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := map[string]*client.StatusResponse{}
	for _, mb := range env.members {
		if before[mb.hostPort], err = c.Status(ctx, mb.client); err != nil {
			t.Fatal(err)
		}
	}
	out := ok(t, ctlEnv(t, "", nil, "--endpoints", allEndpoints(), "endpoint", "status", "-w", "table"))
	t.Logf("endpoint status -w table:\n%s", out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("want 7 lines (3 rules, header, 3 rows), got %d:\n%s", len(lines), out)
	}
	for _, i := range []int{0, 2, 6} {
		if lines[i] != lines[0] || !strings.HasPrefix(lines[i], "+-----------------+------------------+") {
			t.Errorf("line %d is not the rule: %q", i, lines[i])
		}
	}
	cells := func(line string) []string {
		parts := strings.Split(line, "|")
		var out []string
		for _, p := range parts[1 : len(parts)-1] {
			out = append(out, strings.TrimSpace(p))
		}
		return out
	}
	if got := strings.Join(cells(lines[1]), ","); got != "ENDPOINT,ID,VERSION,DB SIZE,IS LEADER,IS LEARNER,RAFT TERM,RAFT INDEX,RAFT APPLIED INDEX,ERRORS" {
		t.Errorf("header cells %s", got)
	}
	leaders := 0
	for i, mb := range env.members {
		line := lines[3+i]
		if len(line) != len(lines[0]) {
			t.Errorf("row %d is %d wide, the rule %d", i, len(line), len(lines[0]))
		}
		row := cells(line)
		st := before[mb.hostPort]
		want := []string{mb.hostPort, fmt.Sprintf("%x", mb.id), st.Version, "", fmt.Sprint(mb.id == lead), "false",
			fmt.Sprint(st.RaftTerm), "", "", ""}
		for j, w := range want {
			if w != "" && row[j] != w {
				t.Errorf("row %d (%s) column %d: got %q, want %q", i, mb.name, j, row[j], w)
			}
		}
		if !sizeRe.MatchString(row[3]) {
			t.Errorf("row %d DB SIZE %q is not a human size", i, row[3])
		}
		var idx, applied uint64
		fmt.Sscan(row[7], &idx)
		fmt.Sscan(row[8], &applied)
		if idx < st.RaftIndex || applied < st.RaftAppliedIndex || applied == 0 {
			t.Errorf("row %d raft index %s / applied %s below the status before (%d / %d)", i, row[7], row[8], st.RaftIndex, st.RaftAppliedIndex)
		}
		if row[4] == "true" {
			leaders++
		}
	}
	if leaders != 1 {
		t.Errorf("%d rows say IS LEADER true, want 1", leaders)
	}
	// Simple output: the same cells joined by ", ", as etcdctl.
	simple := ok(t, ctlEnv(t, "", nil, "--endpoints", env.members[1].hostPort, "endpoint", "status"))
	if !strings.HasPrefix(simple, fmt.Sprintf("%s, %x, %s, ", env.members[1].hostPort, env.members[1].id, before[env.members[1].hostPort].Version)) ||
		!strings.HasSuffix(simple, ", \n") || strings.Count(simple, ", ") != 9 {
		t.Errorf("endpoint status simple: %q", simple)
	}
	// --cluster: every member's client URL, from the member list.
	out = ok(t, ctl(t, "endpoint", "status", "--cluster", "-w", "json"))
	var js []struct {
		Endpoint string
		Status   struct {
			Header struct {
				MemberID uint64 `json:"member_id"`
			} `json:"header"`
			Leader    uint64 `json:"leader"`
			RaftIndex uint64 `json:"raftIndex"`
			DBSize    int64  `json:"dbSize"`
		}
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil || len(js) != 3 {
		t.Fatalf("endpoint status --cluster -w json: %v %s", err, out)
	}
	for _, s := range js {
		found := false
		for _, mb := range env.members {
			found = found || (s.Endpoint == mb.client && s.Status.Header.MemberID == mb.id)
		}
		if !found || s.Status.Leader != lead || s.Status.RaftIndex == 0 || s.Status.DBSize < 0 {
			t.Errorf("endpoint status --cluster entry %+v", s)
		}
	}
	// One unreachable endpoint: its failure on stderr, the others printed, exit 1.
	r := ctlEnv(t, "", nil, "--endpoints", "127.0.0.1:1,"+env.members[0].hostPort, "--command-timeout", "500ms", "endpoint", "status")
	if r.code != 1 || r.stderr != "Failed to get the status of endpoint 127.0.0.1:1 (dial tcp 127.0.0.1:1: connect: connection refused)\n" ||
		!strings.HasPrefix(r.stdout, env.members[0].hostPort+", ") {
		t.Errorf("endpoint status with a dead endpoint: %+v", r)
	}
}

// refused is what a call to the closed port 127.0.0.1:1 fails with, and
// timedOut what it fails with when the deadline cut the last attempt
// itself (the client then knows nothing more).
const (
	refused  = "context deadline exceeded (last error: dial tcp 127.0.0.1:1: connect: connection refused)"
	timedOut = "context deadline exceeded"
)

// refusedOr replaces "refused" in want by what got says, when got says
// timedOut there instead: both are right for a dead endpoint.
func refusedOr(got, want string) string {
	if strings.Replace(want, refused, timedOut, 1) == got {
		return got
	}
	if strings.Replace(want, refused+" |", timedOut+" |", 1) == got {
		return got
	}
	return want
}

var tookRe = regexp.MustCompile(`took = [0-9.]+(µs|ms|s)\n`)

// TestEndpointHealth checks endpoint health on every member, in the three
// formats, and an unhealthy endpoint.
func TestEndpointHealth(t *testing.T) {
	out := ok(t, ctlEnv(t, "", nil, "--endpoints", allEndpoints(), "endpoint", "health"))
	lines := strings.SplitAfter(out, "\n")
	if len(lines) != 4 || lines[3] != "" {
		t.Fatalf("endpoint health: %q", out)
	}
	for i, mb := range env.members {
		want := mb.hostPort + " is healthy: successfully committed proposal: "
		if !strings.HasPrefix(lines[i], want) || !tookRe.MatchString(lines[i]) {
			t.Errorf("line %d: %q, want %q + took", i, lines[i], want)
		}
	}
	out = ok(t, ctl(t, "endpoint", "health", "--cluster", "-w", "json"))
	var hs []map[string]any
	if err := json.Unmarshal([]byte(out), &hs); err != nil || len(hs) != 3 {
		t.Fatalf("endpoint health -w json: %v %s", err, out)
	}
	for i, h := range hs {
		if h["health"] != true || h["endpoint"] == "" || h["took"] == "" || h["error"] != nil || len(h) != 3 {
			t.Errorf("entry %d: %v", i, h)
		}
	}
	r := ctlEnv(t, "", nil, "--endpoints", env.members[0].hostPort+",127.0.0.1:1", "--command-timeout", "300ms", "endpoint", "health", "-w", "table")
	if r.code != 1 || r.stderr != "Error: unhealthy cluster\n" {
		t.Fatalf("unhealthy: %+v", r)
	}
	lines = strings.Split(r.stdout, "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[1], "|    ENDPOINT     | HEALTH |") ||
		!strings.HasPrefix(lines[3], "| "+env.members[0].hostPort+" |   true |") ||
		!strings.HasPrefix(lines[4], "|     127.0.0.1:1 |  false |") ||
		!(strings.HasSuffix(lines[4], "| "+refused+" |") || strings.HasSuffix(lines[4], "| "+timedOut+" |")) {
		t.Errorf("unhealthy table:\n%s", r.stdout)
	}
	r = ctlEnv(t, "", nil, "--endpoints", "127.0.0.1:1", "--command-timeout", "300ms", "endpoint", "health")
	want := "127.0.0.1:1 is unhealthy: failed to commit proposal: " + refused + "\n"
	if r.code != 1 || r.stdout != refusedOr(r.stdout, want) || r.stderr != "Error: unhealthy cluster\n" {
		t.Errorf("unhealthy simple: %+v", r)
	}
}

// TestCompaction compacts, then shows the old revision is gone.
func TestCompaction(t *testing.T) {
	old := revOf(t, "compact/k", "1")
	rev := revOf(t, "compact/k", "2")
	expect(t, "compaction", ctl(t, "compaction", fmt.Sprint(rev)), fmt.Sprintf("compacted revision %d\n", rev))
	fails(t, "read below", ctl(t, "get", "compact/k", "--rev", fmt.Sprint(old)), 1,
		"Error: etcdserver: mvcc: required revision has been compacted\n")
	fails(t, "compact again", ctl(t, "compaction", fmt.Sprint(rev)), 1,
		"Error: etcdserver: mvcc: required revision has been compacted\n")
	rev = revOf(t, "compact/k", "3")
	expect(t, "compaction --physical", ctl(t, "compaction", "--physical", fmt.Sprint(rev)), fmt.Sprintf("compacted revision %d\n", rev))
	expect(t, "get after", ctl(t, "get", "compact/k"), "compact/k\n3\n")
}
