package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

// upMember is one child process of `shelf up`.
type upMember struct {
	name, client, peer, logPath string
	cmd                         *exec.Cmd
	exited                      chan error
}

// runUp starts a local cluster of --size member processes on loopback,
// waits for it to be healthy, prints how to use it, and stops every member
// cleanly on SIGINT/SIGTERM. Data persists under --data-dir, so a second
// run finds everything written before.
func runUp(args []string) error {
	fs := pflag.NewFlagSet("shelf up", pflag.ContinueOnError)
	dataDir := fs.String("data-dir", "data", "directory holding each member's data and log")
	size := fs.Int("size", 3, "number of members (3 or 5)")
	base := fs.Int("port-base", 2379, "member i serves clients on port-base+10000*i and peers on the next port")
	profile := fs.String("disk-profile", "real", "emulated fsync latency for every member: real, nvme, ssd, hdd or network")
	token := fs.String("initial-cluster-token", "shelf-up", "cluster token")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the cluster to become healthy")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := applyEnv(fs, "SHELF_UP_"); err != nil {
		return err
	}
	if *size != 1 && *size != 3 && *size != 5 {
		return fmt.Errorf("--size %d: want 1, 3 or 5", *size)
	}
	if *base < 1024 || *base+10000*(*size-1)+1 > 65535 {
		return fmt.Errorf("--port-base %d: member ports would fall outside 1024..65535", *base)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	members := make([]*upMember, *size)
	var initial []string
	for i := range members {
		m := &upMember{
			name:   fmt.Sprintf("s%d", i+1),
			client: fmt.Sprintf("http://127.0.0.1:%d", *base+10000*i),
			peer:   fmt.Sprintf("http://127.0.0.1:%d", *base+10000*i+1),
		}
		m.logPath = filepath.Join(*dataDir, m.name+".log")
		members[i] = m
		initial = append(initial, m.name+"="+m.peer)
	}
	for _, m := range members {
		logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			stopMembers(members)
			return err
		}
		m.cmd = exec.Command(self, "member",
			"--name", m.name,
			"--data-dir", filepath.Join(*dataDir, m.name),
			"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
			"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-token", *token,
			"--disk-profile", *profile)
		m.cmd.Stdout, m.cmd.Stderr = logf, logf
		// Own process group: a terminal's Ctrl-C reaches only `shelf up`,
		// which then stops the members in order.
		m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := m.cmd.Start(); err != nil {
			logf.Close()
			stopMembers(members)
			return fmt.Errorf("starting %s: %w", m.name, err)
		}
		logf.Close()
		m.exited = make(chan error, 1)
		go func() { m.exited <- m.cmd.Wait() }()
		fmt.Printf("started %s (pid %d): client %s, peer %s, log %s\n", m.name, m.cmd.Process.Pid, m.client, m.peer, m.logPath)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), *wait)
	defer cancel()
	if err := waitHealthy(ctx, members, sigs); err != nil {
		stopMembers(members)
		return err
	}
	var eps []string
	for _, m := range members {
		eps = append(eps, m.client)
	}
	ep := members[0].client
	fmt.Printf(`
shelf: %d-member cluster is healthy.
  endpoints: %s
  data:      %s (kept across runs; logs in %s/*.log)

Try:
  curl -s -X POST %s/v3/kv/put -d '{"key":"Zm9v","value":"YmFy"}'
  curl -s -X POST %s/v3/kv/range -d '{"key":"Zm9v"}'
  curl -sN -X POST %s/v3/watch -d '{"create_request":{"key":"Zm9v","start_revision":"1"}}'
  curl -s %s/metrics | grep etcd_server_has_leader
  shelfctl --endpoints=%s endpoint status -w table   (make build puts shelfctl in bin/)

Ctrl-C stops the cluster.
`, len(members), strings.Join(eps, ","), *dataDir, *dataDir, ep, ep, ep, ep, strings.Join(eps, ","))

	for {
		select {
		case sig := <-sigs:
			fmt.Printf("\nshelf: %s: stopping the members\n", sig)
			stopMembers(members)
			fmt.Println("shelf: stopped")
			return nil
		case err := <-anyExit(members):
			fmt.Fprintf(os.Stderr, "shelf: a member exited (%v); see its log. Stopping the others.\n", err)
			stopMembers(members)
			return errors.New("a member exited unexpectedly")
		}
	}
}

// anyExit returns a channel that yields the exit of the first member to die.
func anyExit(members []*upMember) <-chan error {
	out := make(chan error, 1)
	for _, m := range members {
		go func() {
			err := <-m.exited
			m.exited <- err // keep it for stopMembers
			select {
			case out <- fmt.Errorf("%s: %v", m.name, err):
			default:
			}
		}()
	}
	return out
}

// waitHealthy polls every member's /health until all answer 200.
func waitHealthy(ctx context.Context, members []*upMember, sigs <-chan os.Signal) error {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := -1
	for {
		healthy := 0
		for _, m := range members {
			resp, err := client.Get(m.client + "/health")
			if err == nil {
				if resp.StatusCode == http.StatusOK {
					healthy++
				}
				resp.Body.Close()
			}
		}
		if healthy != last {
			fmt.Printf("waiting for the cluster: %d/%d members healthy\n", healthy, len(members))
			last = healthy
		}
		if healthy == len(members) {
			return nil
		}
		select {
		case <-tick.C:
		case sig := <-sigs:
			return fmt.Errorf("interrupted by %s while waiting for the cluster", sig)
		case <-ctx.Done():
			return fmt.Errorf("the cluster was not healthy within --wait; see the member logs")
		}
	}
}

// stopMembers sends SIGTERM to every running member and waits for each,
// killing one that takes longer than 10s.
func stopMembers(members []*upMember) {
	for _, m := range members {
		if m != nil && m.cmd != nil && m.cmd.Process != nil {
			_ = m.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, m := range members {
		if m == nil || m.exited == nil {
			continue
		}
		select {
		case <-m.exited:
		case <-time.After(10 * time.Second):
			_ = m.cmd.Process.Kill()
			<-m.exited
		}
	}
}
