package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watcher is a running `shelfctl watch` whose stdout is read line by line.
type watcher struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *strings.Builder
	done   chan struct{}
}

func startWatch(t *testing.T, args ...string) *watcher {
	t.Helper()
	cmd := exec.Command(env.ctlBin, append([]string{"--endpoints", env.members[0].hostPort, "watch"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{cmd: cmd, lines: make(chan string, 100), stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stderr = w.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(w.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return w
}

// next returns the next n lines, failing the test after 10 s.
func (w *watcher) next(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	deadline := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case l, ok := <-w.lines:
			if !ok {
				t.Fatalf("watch ended after %q; stderr %q", got, w.stderr.String())
			}
			got = append(got, l)
		case <-deadline:
			t.Fatalf("watch printed only %q within 10s; stderr %q", got, w.stderr.String())
		}
	}
	return got
}

// stop sends SIGINT (Ctrl-C) and returns the exit code.
func (w *watcher) stop(t *testing.T) int {
	t.Helper()
	w.cmd.Process.Signal(syscall.SIGINT)
	err := w.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// TestWatch starts watches (simple with --prev-kv, json, a range), writes,
// reads each event as etcdctl prints it, and stops them with Ctrl-C.
func TestWatch(t *testing.T) {
	ok(t, ctl(t, "del", "w/", "--prefix")) // fresh keys in every -count round
	// Start at the next revision, so no event is missed however long the
	// watch takes to be established.
	start := revOf(t, "watch-start", "x") + 1
	simple := startWatch(t, "w/", "--prefix", "--prev-kv", "--rev", fmt.Sprint(start))
	js := startWatch(t, "w/a", "-w", "json", "--rev", fmt.Sprint(start))
	rng := startWatch(t, "w/b", "w/c", "--rev", fmt.Sprint(start))
	ctl(t, "put", "w/a", "1")
	ctl(t, "put", "w/a", "2")
	ctl(t, "put", "w/b", "3")
	ctl(t, "put", "w/x", "4")
	ctl(t, "del", "w/a")
	want := []string{"PUT", "w/a", "1", "PUT", "w/a", "1", "w/a", "2", "PUT", "w/b", "3", "PUT", "w/x", "4",
		"DELETE", "w/a", "2", "w/a", ""}
	if got := simple.next(t, len(want)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("watch --prefix --prev-kv:\n got %q\nwant %q", got, want)
	}
	if got := rng.next(t, 3); strings.Join(got, "\n") != "PUT\nw/b\n3" {
		t.Errorf("watch range: %q", got)
	}
	wantEvents := []string{
		fmt.Sprintf(`[{"kv":{"key":"%s","create_revision":%d,"mod_revision":%d,"version":1,"value":"%s"}}]`, b64("w/a"), start, start, b64("1")),
		fmt.Sprintf(`[{"kv":{"key":"%s","create_revision":%d,"mod_revision":%d,"version":2,"value":"%s"}}]`, b64("w/a"), start, start+1, b64("2")),
		fmt.Sprintf(`[{"type":1,"kv":{"key":"%s","mod_revision":%d}}]`, b64("w/a"), start+4),
	}
	for i, line := range js.next(t, 3) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("watch -w json line %q: %v", line, err)
		}
		if string(m["Events"]) != wantEvents[i] || string(m["CompactRevision"]) != "0" || string(m["Canceled"]) != "false" ||
			string(m["Created"]) != "false" || len(m) != 5 ||
			!strings.HasPrefix(string(m["Header"]), fmt.Sprintf(`{"cluster_id":%d,"member_id":%d,"revision":`, env.cluster, env.members[0].id)) {
			t.Errorf("watch -w json line %d: %s\nwant events %s", i, line, wantEvents[i])
		}
	}
	for name, w := range map[string]*watcher{"simple": simple, "json": js, "range": rng} {
		if code := w.stop(t); code != 0 || w.stderr.String() != "" {
			t.Errorf("%s watch after Ctrl-C: exit %d, stderr %q", name, code, w.stderr.String())
		}
	}
}

// TestWatchCompacted starts a watch below the compacted revision: etcdctl
// prints why the watch was canceled and exits 5 (its ExitInterrupted).
func TestWatchCompacted(t *testing.T) {
	old := revOf(t, "wc/k", "1")
	rev := revOf(t, "wc/k", "2")
	ok(t, ctl(t, "compaction", fmt.Sprint(rev)))
	r := ctl(t, "watch", "wc/k", "--rev", fmt.Sprint(old))
	fails(t, "watch below compaction", r, 5,
		"watch was canceled (etcdserver: mvcc: required revision has been compacted)\nError: watch is canceled by the server\n")
}

func TestWatchBadUsage(t *testing.T) {
	fails(t, "no key", ctl(t, "watch"), 128, "Error: watch command needs one argument as key or prefix and an optional argument as range_end\n")
	fails(t, "prefix and range", ctl(t, "watch", "a", "b", "--prefix"), 128, "Error: too many arguments, only accept one argument when `--prefix` is set\n")
	fails(t, "table", ctl(t, "watch", "a", "-w", "table"), 4, "Error: table not supported as output format\n")
}
