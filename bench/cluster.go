package bench

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shelf-kv/shelf/internal/freeport"
)

// Cluster is a set of member processes on loopback started for a run.
type Cluster struct {
	Name      string
	Endpoints []string
	procs     []*exec.Cmd
}

// ClusterSpec says what to start. Binary is either a shelf binary (run as
// `shelf member ...`) or etcd; both take etcd's flags.
type ClusterSpec struct {
	Name   string   // a label for reports, e.g. "shelf" or "etcd"
	Binary string   // path to shelf or etcd
	Member []string // leading arguments, e.g. {"member"} for shelf
	Size   int
	Dir    string   // data and logs go under Dir/Name
	Extra  []string // more flags for every member
}

// StartCluster starts the members on free loopback ports and waits up to
// 60s until every member answers /health with 200.
func StartCluster(spec ClusterSpec) (*Cluster, error) {
	c := &Cluster{Name: spec.Name}
	root := filepath.Join(spec.Dir, spec.Name)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	type member struct{ name, client, peer string }
	var ms []member
	var initial []string
	for i := 0; i < spec.Size; i++ {
		cp, err := freePort()
		if err != nil {
			return nil, err
		}
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		m := member{fmt.Sprintf("%s%d", spec.Name, i), fmt.Sprintf("http://127.0.0.1:%d", cp), fmt.Sprintf("http://127.0.0.1:%d", pp)}
		ms = append(ms, m)
		initial = append(initial, m.name+"="+m.peer)
	}
	for _, m := range ms {
		args := append(append([]string{}, spec.Member...),
			"--name", m.name, "--data-dir", filepath.Join(root, m.name),
			"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
			"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "bench-"+spec.Name)
		args = append(args, spec.Extra...)
		logf, err := os.Create(filepath.Join(root, m.name+".log"))
		if err != nil {
			c.Stop()
			return nil, err
		}
		cmd := exec.Command(spec.Binary, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			logf.Close()
			c.Stop()
			return nil, fmt.Errorf("bench: starting %s: %w", spec.Binary, err)
		}
		logf.Close()
		c.procs = append(c.procs, cmd)
		c.Endpoints = append(c.Endpoints, m.client)
	}
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for _, ep := range c.Endpoints {
		for {
			resp, err := client.Get(ep + "/health")
			if err == nil {
				ok := resp.StatusCode == http.StatusOK
				resp.Body.Close()
				if ok {
					break
				}
			}
			if time.Now().After(deadline) {
				c.Stop()
				return nil, fmt.Errorf("bench: %s member %s not healthy within 60s (logs in %s)", spec.Name, ep, root)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c, nil
}

// Stop stops every member (SIGTERM, then SIGKILL after 10s).
func (c *Cluster) Stop() {
	for _, p := range c.procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range c.procs {
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
	c.procs = nil
}

func freePort() (int, error) { return freeport.Get() }
