package v3http

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
)

// watchLine is one decoded response line.
type watchLine struct {
	Result struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
		WatchID      string `json:"watch_id"`
		Created      bool   `json:"created"`
		Canceled     bool   `json:"canceled"`
		CancelReason string `json:"cancel_reason"`
		Events       []struct {
			Kv struct {
				Key         []byte `json:"key"`
				ModRevision string `json:"mod_revision"`
			} `json:"kv"`
		} `json:"events"`
	} `json:"result"`
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return n
}

// smallBufferClient reads through a socket with a tiny receive buffer, so
// a reader that stops reading makes the server's writes block quickly.
func smallBufferClient() *http.Client {
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// TestWatchSlowReaderBoundedBuffer: a client that does not read while
// 400 revisions of 16 KiB values are written overflows its stream's 32 KiB
// buffer. The buffer never holds more than its bound plus one response;
// the watcher is canceled with "resume from revision N" and header
// revision N-1 after every event below N was delivered in order, and a
// new watch from N delivers the rest: nothing lost, nothing repeated.
func TestWatchSlowReaderBoundedBuffer(t *testing.T) {
	store, err := mvcc.New(mvcc.Config{Clock: fixedClock{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	be := NewStoreBackend(store, HeaderInfo{ClusterID: 1, MemberID: 2, RaftTerm: 3}, "x")
	const limit = 32 << 10
	h, err := New(Config{Backend: be, WatchBufferBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	var peak atomic.Int64
	srv := newHTTPServer(t, h.watchHandler(&peak))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v3/watch",
		strings.NewReader(`{"create_request":{"key":"YQ==","range_end":"Yg=="}}`))
	resp, err := smallBufferClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	value := []byte(strings.Repeat("v", 16<<10))
	const last = 401 // 400 puts from revision 2
	for i := 2; i <= last; i++ {
		if _, err := be.Put(ctx, &mvcc.PutRequest{Key: []byte(fmt.Sprintf("a%04d", i)), Value: value}); err != nil {
			t.Fatal(err)
		}
	}
	dec := json.NewDecoder(resp.Body)
	next := int64(2)
	var resume int64
	for resume == 0 {
		var l watchLine
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("stream ended before the overflow cancel, at revision %d: %v", next, err)
		}
		r := l.Result
		switch {
		case r.Created:
		case r.Canceled:
			if r.WatchID != "" {
				t.Fatalf("cancel for watch %s, want 0", r.WatchID)
			}
			var n int64
			if _, err := fmt.Sscanf(r.CancelReason, OverflowReason, &n); err != nil {
				t.Fatalf("cancel reason %q is not the overflow reason", r.CancelReason)
			}
			if n != next || atoi(t, r.Header.Revision) != n-1 {
				t.Fatalf("overflow cancel: resume from %d with header revision %s; events were delivered up to %d", n, r.Header.Revision, next-1)
			}
			resume = n
		default:
			for _, ev := range r.Events {
				if rev := atoi(t, ev.Kv.ModRevision); rev != next {
					t.Fatalf("event at revision %d, want %d", rev, next)
				}
				next++
			}
		}
	}
	if resume > last {
		t.Fatalf("overflow at %d, after the last write: nothing overflowed", resume)
	}
	// Whole revisions that fit, plus the cancel line, is the most the
	// buffer may hold (one revision here is about 22 KiB of JSON).
	if p := peak.Load(); p > limit+1<<10 {
		t.Fatalf("the buffer held %d bytes, bound %d", p, limit)
	}
	// Resume from N on a new stream: the rest, in order, exactly once.
	wc := openWatch(t, srv.URL)
	wc.send(fmt.Sprintf(`{"create_request":{"key":"YQ==","range_end":"Yg==","start_revision":"%d"}}`, resume))
	next = resume
	deadline := time.Now().Add(10 * time.Second)
	for next <= last && time.Now().Before(deadline) {
		var l watchLine
		if err := json.Unmarshal([]byte(wc.next()), &l); err != nil {
			t.Fatal(err)
		}
		for _, ev := range l.Result.Events {
			if rev := atoi(t, ev.Kv.ModRevision); rev != next {
				t.Fatalf("resumed watch: event at revision %d, want %d", rev, next)
			}
			next++
		}
	}
	if next != last+1 {
		t.Fatalf("resumed watch delivered up to %d, want %d", next-1, last)
	}
	t.Logf("overflow at revision %d of %d; buffer peak %d bytes (bound %d)", resume, last, peak.Load(), limit)
}
