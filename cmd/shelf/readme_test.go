package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's ```console blocks are run by TestREADMEExamples against a
// fresh 3-member cluster, in README order, so the examples cannot rot. In a
// block, a line starting with "$ " is a command (a trailing backslash
// or an indented next line continues it); the lines after it, up to the next command, are its
// expected output. A last output line "^C" marks a stream (a watch, a
// keepalive): the command is stopped once the lines above it have arrived.
//
// The README shows the cluster `make run` starts; the test maps its three
// client addresses to the test cluster's. Output lines that are JSON are
// compared as JSON with the member-specific header fields (cluster_id,
// member_id, raft_term) and the fields named in varyingFields ignored;
// other lines must match exactly.

// readmeExample is one command of a console block and what it prints.
type readmeExample struct {
	line   int // 1-based line of the command in README.md
	cmd    string
	want   []string
	stream bool
}

// readmeAddrs are the client addresses `shelf up` uses, in member order.
var readmeAddrs = []string{"127.0.0.1:2379", "127.0.0.1:12379", "127.0.0.1:22379"}

// varyingFields differ from run to run for reasons the README cannot fix:
// the answering member and term, and a lease's remaining TTL (which counts
// down while the example runs).
var varyingFields = map[string]bool{"cluster_id": true, "member_id": true, "raft_term": true, "TTL": true}

func parseREADMEExamples(text string) ([]readmeExample, error) {
	var out []readmeExample
	lines := strings.Split(text, "\n")
	inBlock := false
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case !inBlock && strings.HasPrefix(l, "```console"):
			inBlock = true
		case inBlock && strings.HasPrefix(l, "```"):
			inBlock = false
		case inBlock && strings.HasPrefix(l, "$ "):
			ex := readmeExample{line: i + 1, cmd: strings.TrimPrefix(l, "$ ")}
			for i+1 < len(lines) && (strings.HasSuffix(ex.cmd, "\\") || strings.HasPrefix(lines[i+1], "  ")) {
				i++
				ex.cmd = strings.TrimSuffix(ex.cmd, "\\") + "\n" + lines[i]
			}
			out = append(out, ex)
		case inBlock:
			if len(out) == 0 {
				return nil, fmt.Errorf("README.md:%d: output before any command in a console block", i+1)
			}
			ex := &out[len(out)-1]
			if ex.stream {
				return nil, fmt.Errorf("README.md:%d: output after ^C", i+1)
			}
			if l == "^C" {
				ex.stream = true
				continue
			}
			ex.want = append(ex.want, l)
		}
	}
	if inBlock {
		return nil, fmt.Errorf("README.md: unterminated console block")
	}
	for i := range out {
		for len(out[i].want) > 0 && out[i].want[len(out[i].want)-1] == "" {
			out[i].want = out[i].want[:len(out[i].want)-1]
		}
		if out[i].stream && len(out[i].want) == 0 {
			return nil, fmt.Errorf("README.md:%d: a stream (^C) must show at least one line", out[i].line)
		}
	}
	return out, nil
}

// normalizeLine returns a comparable form of one output line: decoded
// JSON with the varying fields blanked, or the line itself.
func normalizeLine(l string) any {
	var v any
	if err := json.Unmarshal([]byte(l), &v); err != nil {
		return l
	}
	return blankVarying(v)
}

func blankVarying(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if varyingFields[k] {
				x[k] = "*"
			} else {
				x[k] = blankVarying(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = blankVarying(e)
		}
	}
	return v
}

func sameOutput(want, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if !reflect.DeepEqual(normalizeLine(want[i]), normalizeLine(got[i])) {
			return false
		}
	}
	return true
}

// run runs ex with the README's addresses mapped to addrs and returns its
// output lines. A stream is stopped once it has printed len(ex.want) lines.
func (ex readmeExample) run(t *testing.T, addrs []string) []string {
	t.Helper()
	cmd := ex.cmd
	for i, a := range readmeAddrs {
		cmd = strings.ReplaceAll(cmd, a, addrs[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", cmd)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.Stderr = os.Stderr
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var got []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		got = append(got, sc.Text())
		if ex.stream && len(got) == len(ex.want) {
			break
		}
	}
	if ex.stream {
		cancel() // the stream would run forever: stop it like Ctrl-C
		_ = c.Wait()
		return got
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("README.md:%d: %s\nfailed: %v\noutput so far:\n%s", ex.line, ex.cmd, err, strings.Join(got, "\n"))
	}
	return got
}

func TestREADMEExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("the README examples need curl: %v (apt-get install -y curl)", err)
	}
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := parseREADMEExamples(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(examples) < 5 {
		t.Fatalf("README.md has %d console examples; the KV API section should have more", len(examples))
	}
	c := newProcCluster(t, len(readmeAddrs))
	c.startAll()
	c.waitHealthy()
	var addrs []string
	for _, p := range c.procs {
		addrs = append(addrs, strings.TrimPrefix(p.client, "http://"))
	}
	for _, ex := range examples {
		got := ex.run(t, addrs)
		if !sameOutput(ex.want, got) {
			t.Errorf("README.md:%d: %s\nwant (as in README, member-specific fields ignored):\n%s\ngot:\n%s",
				ex.line, ex.cmd, strings.Join(ex.want, "\n"), strings.Join(got, "\n"))
		}
	}
}

func TestParseREADMEExamples(t *testing.T) {
	text := "intro\n```console\n$ echo a \\\n  b\na b\n$ yes\ny\n^C\n```\n```sh\n$ not run\n```\n"
	got, err := parseREADMEExamples(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []readmeExample{
		{line: 3, cmd: "echo a \n  b", want: []string{"a b"}},
		{line: 6, cmd: "yes", want: []string{"y"}, stream: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"```console\nout\n```\n", "```console\n$ x\n^C\n```\n", "```console\n$ x\n"} {
		if _, err := parseREADMEExamples(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if !sameOutput([]string{`{"header":{"member_id":"1","revision":"2"}}`}, []string{`{"header":{"revision":"2","member_id":"9"}}`}) {
		t.Error("member_id should be ignored")
	}
	if sameOutput([]string{`{"header":{"revision":"2"}}`}, []string{`{"header":{"revision":"3"}}`}) {
		t.Error("revision must be compared")
	}
}
