package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/internal/freeport"
)

// The tests in this package run real `shelf member` processes on loopback
// (random free ports, data in t.TempDir) and talk to them over HTTP, as a
// user would.

var shelfBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shelf-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shelfBin = filepath.Join(dir, "shelf")
	out, err := exec.Command("go", "build", "-o", shelfBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building shelf: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a free loopback port outside the ephemeral range (see
// internal/freeport).
func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// proc is one member process.
type proc struct {
	name, client, peer, dataDir, logPath string
	args                                 []string
	cmd                                  *exec.Cmd
	done                                 chan struct{}
}

type procCluster struct {
	t       testing.TB
	procs   []*proc
	extra   []string // flags for every member
	initial string   // the --initial-cluster of the founding members
}

// newProcCluster prepares n members (not started).
func newProcCluster(t testing.TB, n int, extra ...string) *procCluster {
	c := &procCluster{t: t, extra: extra}
	dir := t.TempDir()
	var initial []string
	for i := 0; i < n; i++ {
		p := &proc{
			name:   fmt.Sprintf("p%d", i),
			client: fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
			peer:   fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
		}
		p.dataDir = filepath.Join(dir, p.name)
		p.logPath = filepath.Join(dir, p.name+".log")
		initial = append(initial, p.name+"="+p.peer)
		c.procs = append(c.procs, p)
	}
	c.initial = strings.Join(initial, ",")
	for _, p := range c.procs {
		p.args = append([]string{"member", "--name", p.name, "--data-dir", p.dataDir,
			"--listen-client-urls", p.client, "--advertise-client-urls", p.client,
			"--listen-peer-urls", p.peer, "--initial-advertise-peer-urls", p.peer,
			"--initial-cluster", strings.Join(initial, ","),
			"--heartbeat-interval", "20", "--election-timeout", "200"}, extra...)
	}
	t.Cleanup(func() {
		for _, p := range c.procs {
			c.kill(p)
		}
		if t.Failed() {
			for _, p := range c.procs {
				b, _ := os.ReadFile(p.logPath)
				lines := strings.Split(string(b), "\n")
				if len(lines) > 40 {
					lines = lines[len(lines)-40:]
				}
				t.Logf("--- last log lines of %s:\n%s", p.name, strings.Join(lines, "\n"))
			}
		}
	})
	return c
}

func (c *procCluster) start(p *proc) {
	c.t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	p.cmd = exec.Command(shelfBin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	logf.Close()
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(p.cmd, p.done)
}

func (c *procCluster) startAll() {
	for _, p := range c.procs {
		c.start(p)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *procCluster) kill(p *proc) {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

// stop sends SIGTERM and waits.
func (c *procCluster) stop(p *proc) {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		c.t.Errorf("%s did not stop on SIGTERM within 15s", p.name)
		c.kill(p)
	}
	p.cmd = nil
}

var httpc = &http.Client{Timeout: 5 * time.Second}

// call POSTs body to endpoint+path and decodes the JSON answer into out.
// It returns the HTTP status (0 when the request failed).
func call(endpoint, path string, body any, out any) (int, error) {
	var buf []byte
	switch b := body.(type) {
	case []byte:
		buf = b
	case string:
		buf = []byte(b)
	default:
		buf, _ = json.Marshal(body)
	}
	resp, err := httpc.Post(endpoint+path, "application/json", bytes.NewReader(buf))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decoding %s: %v", data, err)
		}
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("%s: HTTP %d: %s", path, resp.StatusCode, data)
	}
	return resp.StatusCode, nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func putKV(endpoint, k, v string) error {
	_, err := call(endpoint, "/v3/kv/put", map[string]string{"key": b64(k), "value": b64(v)}, nil)
	return err
}

type rangeResp struct {
	Header struct {
		Revision string `json:"revision"`
		MemberID string `json:"member_id"`
	} `json:"header"`
	Kvs []struct {
		Key, Value string
	} `json:"kvs"`
	Count string `json:"count"`
}

// getKV reads k (linearizable unless serializable); "" and false if absent.
func getKV(endpoint, k string, serializable bool) (string, bool, error) {
	var r rangeResp
	if _, err := call(endpoint, "/v3/kv/range", map[string]any{"key": b64(k), "serializable": serializable}, &r); err != nil {
		return "", false, err
	}
	if len(r.Kvs) == 0 {
		return "", false, nil
	}
	v, _ := base64.StdEncoding.DecodeString(r.Kvs[0].Value)
	return string(v), true, nil
}

// waitHealthy waits until every running member answers /health with 200.
func (c *procCluster) waitHealthy() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range c.procs {
		if p.cmd == nil {
			continue
		}
		for {
			resp, err := httpc.Get(p.client + "/health")
			if err == nil {
				ok := resp.StatusCode == http.StatusOK
				resp.Body.Close()
				if ok {
					break
				}
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("%s not healthy within 30s", p.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// leader returns the member that is leader according to the first
// running member's status.
func (c *procCluster) leader() *proc {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range c.procs {
			if p.cmd == nil {
				continue
			}
			var st struct {
				Header struct {
					MemberID string `json:"member_id"`
				} `json:"header"`
				Leader string `json:"leader"`
			}
			if _, err := call(p.client, "/v3/maintenance/status", "{}", &st); err != nil || st.Leader == "" {
				continue
			}
			for _, q := range c.procs {
				if q.cmd == nil {
					continue
				}
				var st2 struct {
					Header struct {
						MemberID string `json:"member_id"`
					} `json:"header"`
				}
				if _, err := call(q.client, "/v3/maintenance/status", "{}", &st2); err == nil && st2.Header.MemberID == st.Leader {
					return q
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("no leader within 30s")
	return nil
}

func (c *procCluster) running() []*proc {
	var out []*proc
	for _, p := range c.procs {
		if p.cmd != nil {
			out = append(out, p)
		}
	}
	return out
}

// writer puts keys from several goroutines, each retrying on any running
// member until the put is acknowledged; acked records what was.
type writer struct {
	c     *procCluster
	mu    sync.Mutex
	acked map[string]string
	n     int
}

func newWriter(c *procCluster) *writer { return &writer{c: c, acked: map[string]string{}} }

// run writes until ctx ends, with `clients` concurrent clients.
func (w *writer) run(ctx context.Context, clients int, prefix string) {
	var wg sync.WaitGroup
	for g := 0; g < clients; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				k, v := fmt.Sprintf("%s/%d/%06d", prefix, g, i), fmt.Sprintf("v%d-%d", g, i)
				eps := w.endpoints()
				if len(eps) == 0 {
					return
				}
				if err := putKV(eps[(g+i)%len(eps)], k, v); err == nil {
					w.mu.Lock()
					w.acked[k] = v
					w.n++
					w.mu.Unlock()
				}
			}
		}(g)
	}
	wg.Wait()
}

// start runs the writer in the background; the returned func stops it and
// waits until every client has returned.
func (w *writer) start(clients int, prefix string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.run(ctx, clients, prefix); close(done) }()
	return func() { cancel(); <-done }
}

func (w *writer) endpoints() []string {
	var eps []string
	for _, p := range w.c.procs {
		if p.cmd != nil {
			eps = append(eps, p.client)
		}
	}
	return eps
}

// verify checks every acknowledged write on every running member with one
// prefix range per member.
func (w *writer) verify(t testing.TB, prefix string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.c.running() {
		var r rangeResp
		end := prefix + "0" // '/' + 1
		if _, err := call(p.client, "/v3/kv/range", map[string]any{"key": b64(prefix + "/"), "range_end": b64(end)}, &r); err != nil {
			t.Fatalf("range on %s: %v", p.name, err)
		}
		got := map[string]string{}
		for _, kv := range r.Kvs {
			k, _ := base64.StdEncoding.DecodeString(kv.Key)
			v, _ := base64.StdEncoding.DecodeString(kv.Value)
			got[string(k)] = string(v)
		}
		for k, v := range w.acked {
			if got[k] != v {
				t.Fatalf("%s: acknowledged write %s=%s reads %q", p.name, k, v, got[k])
			}
		}
		t.Logf("%s holds all %d acknowledged writes", p.name, len(w.acked))
	}
}
