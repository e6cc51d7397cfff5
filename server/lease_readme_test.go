package server

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/mvcc"
)

// readmeBlock returns the curl lines of the first ```sh block after the
// heading in ../README.md.
func readmeBlock(t *testing.T, heading string) []string {
	t.Helper()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	found, in := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l == heading:
			found = true
		case found && !in && l == "```sh":
			in = true
		case in && l == "```":
			return lines
		case in && strings.HasPrefix(l, "curl "):
			lines = append(lines, l)
		}
	}
	t.Fatalf("README.md has no ```sh block after %q", heading)
	return nil
}

// TestReadmeLeaseExamples runs the README's lease curl examples, in
// order, against a member (the README's 127.0.0.1:2379 replaced by its
// client URL) and checks each answer, then that revoke deleted the key.
func TestReadmeLeaseExamples(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl is needed to run the README's examples: %v", err)
	}
	lines := readmeBlock(t, "### Leases")
	want := []string{
		`"ID":"7587","TTL":"60"}`,            // grant
		`"revision":"2"`,                     // put with the lease
		`{"result":{"header":{`,              // keepalive
		`"grantedTTL":"60","keys":["Zm9v"]}`, // timetolive with keys
		`"revision":"3"`,                     // revoke: the key's deletion is a revision
	}
	if len(lines) != len(want) {
		t.Fatalf("README's lease block has %d curl lines, the test knows %d: %q", len(lines), len(want), lines)
	}
	c := newTestCluster(t, 1, nil)
	s := c.start(0)
	c.waitLeader()
	url := c.cfgs[0].AdvertiseClientURLs[0]
	for i, l := range lines {
		cmd := strings.ReplaceAll(l, "http://127.0.0.1:2379", url)
		cmd = strings.Replace(cmd, "curl ", curl+" --max-time 20 ", 1)
		out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
		if err != nil || !strings.Contains(string(out), want[i]) {
			t.Fatalf("README line %q:\n%s(err %v); want it to contain %s", l, out, err, want[i])
		}
	}
	r, err := s.Range(context.Background(), &mvcc.RangeRequest{Key: []byte("foo")}, false)
	if err != nil || len(r.Kvs) != 0 {
		t.Fatalf("foo after the README's revoke: %+v, %v", r, err)
	}
}
