package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/client"
	"github.com/shelf-kv/shelf/internal/freeport"
)

// The tests in this package build the shelf and shelfctl binaries, start
// one real 3-member cluster of `shelf member` processes on loopback, and
// run the shelfctl binary against it as a user would, checking stdout,
// stderr and the exit code exactly.

// testEnv is what TestMain set up; read-only for the tests.
type testEnv struct {
	ctlBin   string
	shelfBin string
	dir      string
	members  []*testMember
	cluster  uint64 // cluster ID
}

type testMember struct {
	name, client, peer string // client and peer URLs
	hostPort           string // client URL without scheme, as --endpoints takes it
	logPath            string
	id, cluster        uint64
	cmd                *exec.Cmd
	done               chan struct{}
}

var env testEnv

func TestMain(m *testing.M) {
	code, err := setupAndRun(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "shelfctl tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setupAndRun(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "shelfctl-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	env.dir = dir
	env.ctlBin = filepath.Join(dir, "shelfctl")
	shelfBin := filepath.Join(dir, "shelf")
	for bin, pkg := range map[string]string{env.ctlBin: ".", shelfBin: "../shelf"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("building %s: %v\n%s", pkg, err, out)
		}
	}
	env.shelfBin = shelfBin
	members, err := startMembers(filepath.Join(dir, "cluster"), 3, "shelfctl-test")
	defer stopMembers(members)
	if err != nil {
		return 0, err
	}
	env.members = members
	env.cluster = members[0].cluster
	return m.Run(), nil
}

// startMembers starts an n-member cluster of `shelf member` processes with
// data and logs under dir, extra flags for every member, and waits until it
// is ready (see waitReady). The caller stops it with stopMembers, even
// after an error.
func startMembers(dir string, n int, token string, extra ...string) ([]*testMember, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var members []*testMember
	var initial []string
	for i := 0; i < n; i++ {
		cp, err := freeport.Get()
		if err != nil {
			return nil, err
		}
		pp, err := freeport.Get()
		if err != nil {
			return nil, err
		}
		mb := &testMember{name: fmt.Sprintf("m%d", i), hostPort: fmt.Sprintf("127.0.0.1:%d", cp),
			client: fmt.Sprintf("http://127.0.0.1:%d", cp), peer: fmt.Sprintf("http://127.0.0.1:%d", pp),
			logPath: filepath.Join(dir, fmt.Sprintf("m%d.log", i))}
		members = append(members, mb)
		initial = append(initial, mb.name+"="+mb.peer)
	}
	for _, mb := range members {
		logf, err := os.Create(mb.logPath)
		if err != nil {
			return members, err
		}
		mb.cmd = exec.Command(env.shelfBin, append([]string{"member", "--name", mb.name, "--data-dir", filepath.Join(dir, mb.name),
			"--listen-client-urls", mb.client, "--advertise-client-urls", mb.client,
			"--listen-peer-urls", mb.peer, "--initial-advertise-peer-urls", mb.peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-token", token,
			"--heartbeat-interval", "20", "--election-timeout", "200"}, extra...)...)
		mb.cmd.Stdout, mb.cmd.Stderr = logf, logf
		if err := mb.cmd.Start(); err != nil {
			mb.cmd = nil
			logf.Close()
			return members, err
		}
		logf.Close()
		mb.done = make(chan struct{})
		go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(mb.cmd, mb.done)
	}
	if err := waitReady(members); err != nil {
		for _, mb := range members {
			b, _ := os.ReadFile(mb.logPath)
			fmt.Fprintf(os.Stderr, "--- %s log:\n%s\n", mb.name, b)
		}
		return members, err
	}
	return members, nil
}

// stopMembers kills every started member and waits for it.
func stopMembers(members []*testMember) {
	for _, mb := range members {
		if mb.cmd != nil {
			_ = mb.cmd.Process.Signal(syscall.SIGKILL)
			<-mb.done
			mb.cmd = nil
		}
	}
}

// waitReady waits until every member answers /health with 200, has
// published its name and client URL, and all name the same leader; it
// fills in the member and cluster IDs.
func waitReady(members []*testMember) error {
	deadline := time.Now().Add(60 * time.Second)
	httpc := &http.Client{Timeout: 2 * time.Second}
	for _, mb := range members {
		for {
			resp, err := httpc.Get(mb.client + "/health")
			if err == nil {
				ok := resp.StatusCode == http.StatusOK
				resp.Body.Close()
				if ok {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not healthy within 60s", mb.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	c, err := client.New(client.Config{Endpoints: []string{members[0].client}})
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for _, mb := range members {
		st, err := c.Status(ctx, mb.client)
		if err != nil {
			return err
		}
		mb.id, mb.cluster = st.Header.MemberID, st.Header.ClusterID
	}
	// Each member publishes its name and client URLs once it has
	// started; the member list tests want all of them.
	for {
		resp, err := c.MemberList(ctx)
		if err != nil {
			return err
		}
		published := len(resp.Members) == len(members)
		for _, m := range resp.Members {
			published = published && m.Name != "" && len(m.ClientURLs) > 0
		}
		if published {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("members did not all publish their client URLs: %v", resp.Members)
		case <-time.After(20 * time.Millisecond):
		}
	}
	_, err = leaderOf(ctx, members)
	return err
}

// leaderID waits until every member of the test cluster names the same
// leader and returns it.
func leaderID(ctx context.Context) (uint64, error) { return leaderOf(ctx, env.members) }

// leaderOf waits until every member names the same leader and returns it.
func leaderOf(ctx context.Context, members []*testMember) (uint64, error) {
	c, err := client.New(client.Config{Endpoints: []string{members[0].client}})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	for {
		var lead uint64
		agree := true
		for _, mb := range members {
			st, err := c.Status(ctx, mb.client)
			if err != nil || st.Leader == 0 || (lead != 0 && st.Leader != lead) {
				agree = false
				break
			}
			lead = st.Leader
		}
		if agree {
			return lead, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("members do not agree on a leader: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// result is one run of the shelfctl binary.
type result struct {
	stdout, stderr string
	code           int
}

// ctlEnv runs shelfctl with args, stdin and extra environment variables
// (no SHELFCTL_ variable of the test's own environment leaks in).
func ctlEnv(t *testing.T, stdin string, extraEnv []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(env.ctlBin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHELFCTL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running shelfctl %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// ctl runs shelfctl against the first member with args.
func ctl(t *testing.T, args ...string) result {
	t.Helper()
	return ctlEnv(t, "", nil, append([]string{"--endpoints", env.members[0].hostPort}, args...)...)
}

// ctlIn is ctl with stdin.
func ctlIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return ctlEnv(t, stdin, nil, append([]string{"--endpoints", env.members[0].hostPort}, args...)...)
}

// ok fails the test unless r exited 0 with nothing on stderr, and returns stdout.
func ok(t *testing.T, r result) string {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q, stdout %q", r.code, r.stderr, r.stdout)
	}
	return r.stdout
}

// expect checks stdout exactly.
func expect(t *testing.T, what string, r result, want string) {
	t.Helper()
	got := ok(t, r)
	if got != want {
		t.Errorf("%s: stdout\n got: %q\nwant: %q", what, got, want)
	}
}

// fails checks an error run: exit code and stderr exactly, stdout empty.
func fails(t *testing.T, what string, r result, code int, stderr string) {
	t.Helper()
	if r.code != code || r.stderr != stderr || r.stdout != "" {
		t.Errorf("%s: got exit %d stderr %q stdout %q; want exit %d stderr %q", what, r.code, r.stderr, r.stdout, code, stderr)
	}
}

var termRe = regexp.MustCompile(`"raft_term":\d+`)

// hdrJSON is the JSON header shelfctl prints for an answer of member 0 at
// revision rev; the raft term is written T (normalize with noTerm).
func hdrJSON(rev int64) string {
	return fmt.Sprintf(`"header":{"cluster_id":%d,"member_id":%d,"revision":%d,"raft_term":T}`, env.cluster, env.members[0].id, rev)
}

// noTerm replaces the raft term, which elections may move, by T.
func noTerm(s string) string { return termRe.ReplaceAllString(s, `"raft_term":T`) }

// revOf puts key=val through the client and returns the revision it made.
func revOf(t *testing.T, key, val string) int64 {
	t.Helper()
	c, err := client.New(client.Config{Endpoints: []string{env.members[0].client}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Put(context.Background(), key, val)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}
