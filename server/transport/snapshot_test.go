package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// patternBody yields size bytes of a deterministic pattern and counts how
// many it has produced; the count lets the receiver measure how far ahead
// of it the sender ran.
type patternBody struct {
	size     int64
	produced atomic.Int64
	closed   atomic.Bool
}

// patternPeriod is prime, so the pattern never lines up with chunk sizes.
const patternPeriod = 65521

// patternTable holds the pattern twice, so any window of up to
// patternPeriod bytes starting anywhere in the period is contiguous.
var patternTable = func() []byte {
	b := make([]byte, 2*patternPeriod)
	for i := range b {
		j := i % patternPeriod
		b[i] = byte(j*131 + j>>8)
	}
	return b
}()

// fillPattern writes the pattern bytes for offsets off.. into p.
func fillPattern(p []byte, off int64) {
	for len(p) > 0 {
		start := int(off % patternPeriod)
		n := copy(p[:min(len(p), patternPeriod)], patternTable[start:])
		p, off = p[n:], off+int64(n)
	}
}

// matchesPattern reports whether p holds the pattern bytes for offsets off..
func matchesPattern(p []byte, off int64) bool {
	for len(p) > 0 {
		start := int(off % patternPeriod)
		n := min(len(p), patternPeriod)
		if !bytes.Equal(p[:n], patternTable[start:start+n]) {
			return false
		}
		p, off = p[n:], off+int64(n)
	}
	return true
}

func (b *patternBody) Read(p []byte) (int, error) {
	off := b.produced.Load()
	if off >= b.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), b.size-off))
	fillPattern(p[:n], off)
	b.produced.Add(int64(n))
	return n, nil
}

func (b *patternBody) Close() error {
	b.closed.Store(true)
	return nil
}

func snapMsg(from, to raftpb.NodeID) raftpb.Message {
	return raftpb.Message{Type: raftpb.MsgSnap, From: from, To: to, Term: 3, Snapshot: &raftpb.Snapshot{
		Metadata: raftpb.SnapshotMetadata{Index: 1000, Term: 3,
			ConfState: raftpb.ConfState{Voters: []raftpb.NodeID{1, 2, 3}}}}}
}

// TestSnapshot50MiBStreamed: a 50 MiB body goes through with its content
// intact; the receiver reads it as a stream while the sender is still
// producing, and the sender is never more than a bounded window (socket
// buffers plus a chunk) ahead of the receiver, so neither side ever holds
// the body in memory.
func TestSnapshot50MiBStreamed(t *testing.T) {
	checkNoLeaks(t)
	const size = 50 << 20
	const window = 16 << 20 // far above loopback socket buffers, far below size
	body := &patternBody{size: size}
	var consumed, maxAhead, firstReadProduced int64
	var peakHeap uint64
	handler := func(m raftpb.Message, r io.Reader) error {
		var ms runtime.MemStats
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if consumed == 0 && n > 0 {
				firstReadProduced = body.produced.Load()
			}
			if !matchesPattern(buf[:n], consumed) {
				return fmt.Errorf("body differs in the %d bytes at offset %d", n, consumed)
			}
			consumed += int64(n)
			maxAhead = max(maxAhead, body.produced.Load()-consumed)
			if consumed%(4<<20) < int64(n) {
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	a := startNode(t, 1, "127.0.0.1:0", nil)
	b := startNode(t, 2, "127.0.0.1:0", func(c *Config) { c.SnapshotHandler = handler })
	mesh(t, a, b)
	a.tr.SendSnapshot(snapMsg(1, 2), body, size)
	a.rec.wait(t, "the snapshot report", func(r *recorder) bool { return len(r.snaps[2]) == 1 }, nil)
	if ok := a.rec.snaps[2][0]; !ok {
		t.Fatalf("snapshot reported failed; receiver logs:\n%s", b.logs.buf.String())
	}
	// Process runs after the handler returned: waiting for it orders the
	// handler's writes before the reads below.
	b.rec.wait(t, "the MsgSnap processed", func(r *recorder) bool { return len(r.msgs) == 1 }, nil)
	if consumed != size || !body.closed.Load() {
		t.Fatalf("receiver consumed %d of %d bytes; body closed=%v", consumed, size, body.closed.Load())
	}
	if firstReadProduced >= size || maxAhead > window {
		t.Fatalf("not streamed: sender had produced %d bytes at the receiver's first read, ran up to %d bytes ahead (bound %d)",
			firstReadProduced, maxAhead, window)
	}
	got := b.rec.from(1)
	if len(got) != 1 || got[0].Type != raftpb.MsgSnap || got[0].Snapshot.Metadata.Index != 1000 ||
		len(got[0].Snapshot.Metadata.ConfState.Voters) != 3 {
		t.Fatalf("receiver's Process got %v, want the MsgSnap at index 1000", got)
	}
	t.Logf("50 MiB snapshot: sender at most %d KiB ahead of the receiver; %d KiB produced at first read; receiver heap in use peaked at %d MiB",
		maxAhead>>10, firstReadProduced>>10, peakHeap>>20)
}

// TestSnapshotFailuresReported: every way a transfer can fail ends with
// ReportSnapshot(false), the body closed, and no MsgSnap processed.
func TestSnapshotFailuresReported(t *testing.T) {
	checkNoLeaks(t)
	// bodyErrs gets the index of each transfer whose body the receiver's
	// handler saw fail. The sender may report its own failure before the
	// receiver notices the cut, so the test waits on this separately.
	bodyErrs := make(chan raftpb.Index, 10)
	handler := func(m raftpb.Message, r io.Reader) error {
		if m.Snapshot.Metadata.Index == 13 {
			return errors.New("disk full (test)")
		}
		_, err := io.Copy(io.Discard, r)
		if err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Errorf("body error %v does not wrap ErrSnapshot", err)
			}
			bodyErrs <- m.Snapshot.Metadata.Index
		}
		return err
	}
	a := startNode(t, 1, "127.0.0.1:0", nil)
	b := startNode(t, 2, "127.0.0.1:0", func(c *Config) { c.SnapshotHandler = handler })
	mesh(t, a, b)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead.Close()
	if err := a.tr.AddPeer(3, dead.Addr().String()); err != nil {
		t.Fatal(err)
	}

	withIndex := func(to raftpb.NodeID, idx raftpb.Index) raftpb.Message {
		m := snapMsg(1, to)
		m.Snapshot.Metadata.Index = idx
		return m
	}
	cases := []struct {
		name string
		to   raftpb.NodeID
		idx  raftpb.Index
		body *patternBody
		size int64
	}{
		{"receiver handler fails", 2, 13, &patternBody{size: 1 << 20}, 1 << 20},
		{"body shorter than announced", 2, 14, &patternBody{size: 1000}, 5000},
		{"body longer than announced", 2, 15, &patternBody{size: 5000}, 1000},
		{"peer down", 3, 16, &patternBody{size: 10}, 10},
		{"unknown peer", 9, 17, &patternBody{size: 10}, 10},
	}
	for _, tc := range cases {
		a.tr.SendSnapshot(withIndex(tc.to, tc.idx), tc.body, tc.size)
		a.rec.wait(t, tc.name, func(r *recorder) bool { return len(r.snaps[tc.to]) > 0 }, nil)
		a.rec.mu.Lock()
		ok := a.rec.snaps[tc.to][0]
		a.rec.snaps[tc.to] = nil
		a.rec.mu.Unlock()
		if ok || !tc.body.closed.Load() {
			t.Errorf("%s: reported ok=%v, body closed=%v; want a failure and a closed body", tc.name, ok, tc.body.closed.Load())
		}
	}
	// The short (14) and long (15) bodies are both cut by the sender, so
	// the receiver's handler sees a failed stream for each, never io.EOF.
	seen := map[raftpb.Index]bool{}
	b.rec.wait(t, "the receiver's handler to see both cut bodies", func(*recorder) bool {
		for {
			select {
			case idx := <-bodyErrs:
				seen[idx] = true
			default:
				return seen[14] && seen[15]
			}
		}
	}, func() {})
	if got := b.rec.from(1); len(got) != 0 {
		t.Errorf("receiver processed %v after failed transfers", got)
	}
	if got := metricValue(t, a.reg, "etcd_network_peer_sent_failures_total", "To", "2"); got < 3 {
		t.Errorf("sent failures to 2 = %v, want >= 3", got)
	}
	// Bad arguments fail cleanly, without a panic.
	for _, bad := range []func(){
		func() { a.tr.SendSnapshot(withIndex(2, 20), nil, 0) },
		func() { a.tr.SendSnapshot(raftpb.Message{Type: raftpb.MsgSnap, From: 1, To: 2}, &patternBody{}, 0) },
		func() { a.tr.SendSnapshot(raftpb.Message{Type: raftpb.MsgApp, From: 1, To: 2}, &patternBody{}, 0) },
		func() { a.tr.SendSnapshot(withIndex(2, 21), &patternBody{}, -1) },
	} {
		bad()
		a.rec.mu.Lock()
		got := a.rec.snaps[2]
		a.rec.snaps[2] = nil
		a.rec.mu.Unlock()
		if len(got) != 1 || got[0] {
			t.Errorf("bad SendSnapshot arguments: reports %v, want one failure", got)
		}
	}
	// A snapshot through Send (no body) still works end to end.
	a.tr.Send([]raftpb.Message{withIndex(2, 18)})
	a.rec.wait(t, "Send(MsgSnap)", func(r *recorder) bool { return len(r.snaps[2]) > 0 }, nil)
	if !a.rec.snaps[2][0] || len(b.rec.from(1)) != 1 {
		t.Errorf("MsgSnap via Send: report %v, receiver got %v", a.rec.snaps[2], b.rec.from(1))
	}
}

// blockingBody yields one chunk, then blocks until released.
type blockingBody struct {
	release chan struct{}
	sent    bool
}

func (b *blockingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return len(p), nil
	}
	<-b.release
	return 0, io.EOF
}

func (b *blockingBody) Close() error { return nil }

// TestStopDuringSnapshot: Stop of the receiver while a transfer is in
// flight ends every goroutine on both sides and reports the failure.
func TestStopDuringSnapshot(t *testing.T) {
	checkNoLeaks(t)
	started := make(chan struct{})
	var once sync.Once
	handler := func(m raftpb.Message, r io.Reader) error {
		once.Do(func() { close(started) })
		_, err := io.Copy(io.Discard, r)
		return err
	}
	a := startNode(t, 1, "127.0.0.1:0", nil)
	b := startNode(t, 2, "127.0.0.1:0", func(c *Config) { c.SnapshotHandler = handler })
	mesh(t, a, b)
	body := &blockingBody{release: make(chan struct{})}
	a.tr.SendSnapshot(snapMsg(1, 2), body, 10<<20)
	<-started
	b.stop()
	close(body.release) // the sender's pending Read returns; its next write fails
	a.rec.wait(t, "the failure report", func(r *recorder) bool { return len(r.snaps[2]) == 1 }, nil)
	if a.rec.snaps[2][0] {
		t.Fatal("a transfer cut by the receiver's Stop was reported ok")
	}
	a.stop()
}
