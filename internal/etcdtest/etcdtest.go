// Package etcdtest starts a real etcd (Debian's etcd-server, the oracle of
// shelf's differential tests) as a child process on loopback, for tests.
//
// Start never skips: when the etcd binary is missing the test fails with a
// message saying how to install it (`make test` runs scripts/deps.sh, which
// does). Each Server has its own data directory under t.TempDir() and is
// killed when the test ends.
package etcdtest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/internal/freeport"
)

// Server is one running single-member etcd.
type Server struct {
	// ClientURL is the base URL of the client API, e.g.
	// "http://127.0.0.1:40123" (POST ClientURL+"/v3/kv/range").
	ClientURL string
	// Version is the first line of `etcd --version`.
	Version string
	// LogPath is the file receiving etcd's stdout and stderr.
	LogPath string
}

// startTimeout bounds how long Start waits for etcd to report healthy.
const startTimeout = 60 * time.Second

// Start launches etcd on free loopback ports with a fresh data directory
// and waits until /health answers. extraArgs are appended to the command
// line (e.g. "--max-request-bytes=4096"). The process is killed by
// t.Cleanup. Start fails the test (never skips) when etcd is missing or
// does not come up; a port taken between choosing and binding is retried.
func Start(t testing.TB, extraArgs ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatalf("etcdtest: the etcd binary is not installed (%v): run `make test` (its deps step, scripts/deps.sh, installs Debian's etcd-server) or `apt-get install -y etcd-server`", err)
	}
	version := "unknown"
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		version = strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0]
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(t, bin, attempt, extraArgs)
		if err == nil {
			s.Version = version
			return s
		}
		lastErr = err
	}
	t.Fatalf("etcdtest: etcd did not start: %v", lastErr)
	return nil
}

// start makes one attempt: pick ports, spawn, wait for health. On failure
// the process is already killed.
func start(t testing.TB, bin string, attempt int, extraArgs []string) (*Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	logPath := filepath.Join(dir, fmt.Sprintf("etcd-%d.log", attempt))
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--name", "etcdtest",
		"--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "etcdtest=" + peer,
		"--initial-cluster-state", "new",
	}, extraArgs...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	stop := func() {
		// Kill exactly the process we started, then reap it.
		_ = cmd.Process.Kill()
		<-exited
	}
	if err := waitHealthy(client, exited); err != nil {
		stop()
		return nil, fmt.Errorf("%w (log: %s)", err, tail(logPath))
	}
	t.Cleanup(stop)
	return &Server{ClientURL: client, LogPath: logPath}, nil
}

// waitHealthy polls GET /health until it reports true, the process exits
// or startTimeout passes.
func waitHealthy(client string, exited <-chan error) error {
	deadline := time.Now().Add(startTimeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := hc.Get(client + "/health")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"true"`) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd not healthy after %v (last error: %v)", startTimeout, err)
		}
		select {
		case err := <-exited:
			if err == nil {
				err = errors.New("exit status 0")
			}
			return fmt.Errorf("etcd exited during startup: %w", err)
		case <-tick.C:
		}
	}
}

// freePorts returns n distinct free loopback ports from below the
// ephemeral range (internal/freeport). Another process may still take one
// before etcd binds it; Start retries then.
func freePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		p, err := freeport.Get()
		if err != nil {
			return nil, err
		}
		ports = append(ports, p)
	}
	return ports, nil
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}
