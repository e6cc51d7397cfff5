package transport

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// waitTimeout bounds every wait for a condition; it only matters when a
// test is failing (a passing wait returns as soon as the condition holds).
const waitTimeout = 30 * time.Second

// recorder is a Handler that remembers everything and wakes waiters on
// every event.
type recorder struct {
	mu          sync.Mutex
	msgs        []raftpb.Message
	unreachable map[raftpb.NodeID]int
	snaps       map[raftpb.NodeID][]bool
	// changed is closed (and replaced) on every event.
	changed chan struct{}
}

func newRecorder() *recorder {
	return &recorder{
		unreachable: map[raftpb.NodeID]int{},
		snaps:       map[raftpb.NodeID][]bool{},
		changed:     make(chan struct{}),
	}
}

func (r *recorder) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) Process(m raftpb.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	r.notifyLocked()
}

func (r *recorder) ReportUnreachable(id raftpb.NodeID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unreachable[id]++
	r.notifyLocked()
}

func (r *recorder) ReportSnapshot(id raftpb.NodeID, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snaps[id] = append(r.snaps[id], ok)
	r.notifyLocked()
}

var _ Handler = (*recorder)(nil)

// wait blocks until cond (evaluated under r.mu) holds, failing the test
// after waitTimeout. poke, if not nil, is called on every tick of 10ms
// while waiting (to keep sending, for example).
func (r *recorder) wait(t *testing.T, what string, cond func(r *recorder) bool, poke func()) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		r.mu.Lock()
		ok := cond(r)
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-tick.C:
			if poke != nil {
				poke()
			}
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
	}
}

// from returns the messages received from id, in arrival order.
func (r *recorder) from(id raftpb.NodeID) []raftpb.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []raftpb.Message
	for _, m := range r.msgs {
		if m.From == id {
			out = append(out, m)
		}
	}
	return out
}

// logBuffer collects log output so tests can check refusal reasons.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(b.buf.String(), s)
}

// node is one Transport with its listener, recorder, logs and registry.
type node struct {
	id   raftpb.NodeID
	tr   *Transport
	rec  *recorder
	logs *logBuffer
	reg  *prometheus.Registry
	addr string
	// served receives Serve's result.
	served chan error
}

const testCluster = 0x5e1f

// startNode listens on addr ("127.0.0.1:0" for a fresh port), creates a
// Transport whose config is adjusted by mutate, and serves. The node is
// stopped at cleanup (Stop is idempotent).
func startNode(t *testing.T, id raftpb.NodeID, addr string, mutate func(*Config)) *node {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	n := &node{id: id, rec: newRecorder(), logs: &logBuffer{}, reg: prometheus.NewRegistry(),
		addr: l.Addr().String(), served: make(chan error, 1)}
	cfg := Config{
		ID:         id,
		ClusterID:  testCluster,
		Handler:    n.rec,
		Logger:     slog.New(slog.NewTextHandler(n.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		BackoffMin: 5 * time.Millisecond,
		BackoffMax: 50 * time.Millisecond,
		Registerer: n.reg,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	n.tr, err = New(cfg)
	if err != nil {
		l.Close()
		t.Fatalf("New: %v", err)
	}
	go func() { n.served <- n.tr.Serve(l) }()
	t.Cleanup(n.stop)
	return n
}

// stop stops the transport and checks Serve returned nil.
func (n *node) stop() {
	n.tr.Stop()
	if n.served != nil {
		if err := <-n.served; err != nil {
			panic(fmt.Sprintf("Serve of node %s returned %v after Stop", n.id, err))
		}
		n.served = nil
	}
}

// mesh makes every node a peer of every other.
func mesh(t *testing.T, nodes ...*node) {
	t.Helper()
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				if err := a.tr.AddPeer(b.id, b.addr); err != nil {
					t.Fatalf("AddPeer(%s -> %s): %v", a.id, b.id, err)
				}
			}
		}
	}
}

// waitReachable waits until every node's streams to every other are up.
func waitReachable(t *testing.T, nodes ...*node) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		all := true
		for _, a := range nodes {
			for _, b := range nodes {
				if a != b && !a.tr.Reachable(b.id) {
					all = false
				}
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers not reachable after %v", waitTimeout)
		}
		<-tick.C
	}
}

// metricValue returns the value (counter) or sample count (histogram) of
// the series name{label=value} in reg, or -1 if absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabel(m, label, value) {
				continue
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name && lp.GetValue() == value {
			return true
		}
	}
	return false
}

// leakedGoroutines lists goroutines that are running code of this
// package's non-test files.
func leakedGoroutines() []string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	// The first goroutine of the dump is the caller's own.
	for _, g := range strings.Split(string(buf), "\n\n")[1:] {
		for _, line := range strings.Split(g, "\n") {
			if strings.Contains(line, "/server/transport/") && strings.Contains(line, ".go:") && !strings.Contains(line, "_test.go:") {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// checkNoLeaks registers, as the test's last cleanup, a check that no
// goroutine of the package survives the test (every node is stopped by
// earlier cleanups). Call it first in a test.
func checkNoLeaks(t *testing.T) {
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			leaked := leakedGoroutines()
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines of the transport outlived Stop:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			<-tick.C
		}
	})
}
