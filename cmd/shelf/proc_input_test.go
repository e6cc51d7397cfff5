package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProcBadInputGetsEtcdErrors sends malformed requests and checks each
// gets etcd's error shape and status while the member keeps serving.
func TestProcBadInputGetsEtcdErrors(t *testing.T) {
	c := newProcCluster(t, 1, "--max-request-bytes", "1024")
	c.startAll()
	c.waitHealthy()
	ep := c.procs[0].client
	for _, tc := range []struct {
		name, path, body string
		status           int
		code             int
		msg              string
	}{
		{"malformed JSON", "/v3/kv/put", `{"key":`, 400, 3, ""},
		{"missing key", "/v3/kv/put", `{"value":"YmFy"}`, 400, 3, "etcdserver: key is not provided"},
		{"bad base64", "/v3/kv/put", `{"key":"%%%"}`, 400, 3, "illegal base64"},
		{"too large", "/v3/kv/put", `{"key":"Zm9v","value":"` + strings.Repeat("QUFB", 1000) + `"}`, 0, 0, "too large"},
		{"unknown sort target", "/v3/kv/range", `{"key":"Zm9v","sort_target":"COLOUR"}`, 400, 3, ""},
	} {
		var body struct {
			Error   string `json:"error"`
			Message string `json:"message"`
			Code    int    `json:"code"`
		}
		status, err := call(ep, tc.path, tc.body, &body)
		if err == nil {
			t.Fatalf("%s: accepted", tc.name)
		}
		if tc.status != 0 && status != tc.status || tc.code != 0 && body.Code != tc.code || body.Error == "" ||
			!strings.Contains(body.Error, tc.msg) {
			t.Fatalf("%s: HTTP %d %+v; want HTTP %d code %d containing %q", tc.name, status, body, tc.status, tc.code, tc.msg)
		}
		if err := putKV(ep, "still", "serving"); err != nil {
			t.Fatalf("after %s the member no longer serves: %v", tc.name, err)
		}
	}
}

// TestMemberBadFlags checks a bad flag stops the member at start with a
// message that names it.
func TestMemberBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--initial-cluster-state", "maybe"}, `--initial-cluster-state "maybe"`},
		{[]string{"--election-timeout", "100", "--heartbeat-interval", "100"}, "--election-timeout 100ms must be at least"},
		{[]string{"--disk-profile", "floppy"}, `--disk-profile: wal: invalid argument: unknown disk profile "floppy"`},
		{[]string{"--listen-client-urls", "localhost:2379"}, `--listen-client-urls: URL "localhost:2379"`},
		{[]string{"--initial-advertise-peer-urls", "http://h/path"}, "--initial-advertise-peer-urls"},
		{[]string{"--heartbeat-interval", "soon"}, `invalid argument "soon" for "--heartbeat-interval"`},
		{[]string{"--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"--experimental-corrupt-check-time", "-1s"}, "--experimental-corrupt-check-time -1s is negative"},
		{[]string{"--max-txn-ops", "0"}, "--max-txn-ops must be positive"},
		{[]string{"--max-txn-ops", "-3"}, `invalid argument "-3" for "--max-txn-ops"`},
	} {
		out, err := exec.Command(shelfBin, append([]string{"member", "--data-dir", t.TempDir()}, tc.args...)...).CombinedOutput()
		// The error line itself must name the fault (the usage text that
		// follows a parse error lists every flag, so search only it).
		if line := errorLine(string(out)); err == nil || !strings.Contains(line, tc.want) {
			t.Fatalf("shelf member %v: err %v, error line %q; want it to contain %q", tc.args, err, line, tc.want)
		}
	}
	cmd := exec.Command(shelfBin, "member", "--data-dir", t.TempDir())
	cmd.Env = append(cmd.Environ(), "SHELF_SNAPSHOT_COUNT=lots")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(errorLine(string(out)), `SHELF_SNAPSHOT_COUNT="lots"`) {
		t.Fatalf("a bad SHELF_ variable: err %v, output %q", err, out)
	}
}

// errorLine returns the "shelf: ..." line of a failed command's output.
func errorLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "shelf: ") {
			return l
		}
	}
	return ""
}

// TestUpKeepsDataAcrossRuns runs `shelf up` twice on the same data
// directory, as `make run` does, and reads back after the second start
// what was written during the first.
func TestUpKeepsDataAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	base := freeBase(t)
	ep := fmt.Sprintf("http://127.0.0.1:%d", base)
	for run := 0; run < 2; run++ {
		cmd := exec.Command(shelfBin, "up", "--data-dir", dir, "--port-base", fmt.Sprint(base))
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan string, 1)
		var out bytes.Buffer
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				out.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "Ctrl-C stops the cluster") {
					ready <- out.String()
				}
			}
			close(ready)
		}()
		select {
		case banner, ok := <-ready:
			if !ok {
				cmd.Wait()
				t.Fatalf("shelf up exited before the cluster was ready:\n%s", out.String())
			}
			if !strings.Contains(banner, "curl -s -X POST "+ep+"/v3/kv/put") {
				t.Fatalf("the banner has no curl example for %s:\n%s", ep, banner)
			}
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatal("shelf up not ready within 60s")
		}
		if run == 0 {
			if err := putKV(ep, "up/kept", "yes"); err != nil {
				t.Fatal(err)
			}
		} else if v, ok, err := getKV(ep, "up/kept", false); err != nil || !ok || v != "yes" {
			t.Fatalf("after a restart of shelf up: %q %v %v", v, ok, err)
		}
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { io.Copy(io.Discard, stdout); done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("shelf up did not exit cleanly on SIGINT: %v", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatal("shelf up did not stop within 30s of SIGINT")
		}
		if resp, err := http.Get(ep + "/health"); err == nil {
			resp.Body.Close()
			t.Fatal("a member still answers after shelf up stopped")
		}
	}
}

// freeBase finds a port base whose six ports (base+10000*i, +1) are free,
// all below the kernel's ephemeral range (which starts at 32768 or above),
// so no outgoing connection can take one of them meanwhile.
func freeBase(t *testing.T) int {
	t.Helper()
	for base := 3000 + int(time.Now().UnixNano()%4000); base < 12000; base += 7 {
		free := true
		for i := 0; i < 3 && free; i++ {
			for _, port := range []int{base + 10000*i, base + 10000*i + 1} {
				l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
				if err != nil {
					free = false
					break
				}
				l.Close()
			}
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port base")
	return 0
}

// TestProcHealthAndMetrics checks the health endpoints and that /metrics
// carries the series etcd dashboards read, under etcd's names.
func TestProcHealthAndMetrics(t *testing.T) {
	c := newProcCluster(t, 3)
	c.startAll()
	c.waitHealthy()
	ep := c.leader().client
	for i := 0; i < 20; i++ {
		if err := putKV(ep, fmt.Sprintf("m/%d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{"/health", "/livez", "/readyz"} {
		resp, err := http.Get(ep + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", path, resp.StatusCode, body)
		}
		if path == "/health" && !strings.Contains(string(body), `"health":"true"`) {
			t.Fatalf("/health says %s", body)
		}
	}
	resp, err := http.Get(ep + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{
		"etcd_server_has_leader 1", "etcd_server_leader_changes_seen_total", "etcd_server_proposals_committed_total",
		"etcd_server_proposals_applied_total", "etcd_server_proposals_pending", "etcd_server_proposals_failed_total",
		"etcd_disk_wal_fsync_duration_seconds_bucket", "etcd_disk_backend_commit_duration_seconds_bucket",
		"etcd_network_peer_round_trip_time_seconds_bucket", "etcd_mvcc_db_total_size_in_bytes",
		"etcd_mvcc_db_total_size_in_use_in_bytes",
	} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}
