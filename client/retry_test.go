package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// scripted is a fake member that answers every request with an etcd
// error body (code, message) and counts the requests it received.
type scripted struct {
	srv  *httptest.Server
	hits atomic.Int32
}

func newScripted(t *testing.T, code Code, msg string) *scripted {
	s := &scripted{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(map[Code]int{CodeUnavailable: 503, CodeOutOfRange: 400, CodeInvalidArgument: 400, CodeResourceExhausted: 429}[code])
		json.NewEncoder(w).Encode(wireError{Error: msg, Message: msg, Code: code})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// okMember answers every request with an empty success body.
func okMember(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"header":{"revision":"7","member_id":"9"}}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestRetryRule drives the retry rule of doc.go answer by answer: the
// first endpoint answers with a given error, the second succeeds.
func TestRetryRule(t *testing.T) {
	for _, tc := range []struct {
		name       string
		code       Code
		msg        string
		write      bool
		retried    bool
		sentinel   error
		outcomeUnk bool
	}{
		{"write no leader", CodeUnavailable, "etcdserver: no leader", true, true, nil, false},
		{"write timed out", CodeUnavailable, "etcdserver: request timed out", true, false, ErrTimeout, true},
		{"write leader changed", CodeUnavailable, "etcdserver: leader changed", true, false, ErrLeaderChanged, true},
		{"write no space", CodeResourceExhausted, "etcdserver: mvcc: database space exceeded", true, false, ErrNoSpace, false},
		{"write too large", CodeInvalidArgument, "etcdserver: request is too large", true, false, ErrTooLarge, false},
		{"read no leader", CodeUnavailable, "etcdserver: no leader", false, true, nil, false},
		{"read timed out", CodeUnavailable, "etcdserver: request timed out", false, true, nil, false},
		{"read leader changed", CodeUnavailable, "etcdserver: leader changed", false, true, nil, false},
		{"read compacted", CodeOutOfRange, "etcdserver: mvcc: required revision has been compacted", false, false, ErrCompacted, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := newScripted(t, tc.code, tc.msg)
			good, goodHits := okMember(t)
			c := newClient(t, []string{bad.srv.URL, good.URL}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var err error
			if tc.write {
				_, err = c.Put(ctx, "k", "v")
			} else {
				_, err = c.Get(ctx, "k")
			}
			if bad.hits.Load() != 1 {
				t.Fatalf("first endpoint saw %d requests, want 1", bad.hits.Load())
			}
			if tc.retried {
				if err != nil || goodHits.Load() != 1 {
					t.Fatalf("want a retry on the second endpoint: err %v, its hits %d", err, goodHits.Load())
				}
				return
			}
			if err == nil || goodHits.Load() != 0 {
				t.Fatalf("want no retry: err %v, second endpoint hits %d", err, goodHits.Load())
			}
			var se *Error
			if !errors.As(err, &se) || se.Code != tc.code || se.Message != tc.msg || se.Endpoint != bad.srv.URL {
				t.Fatalf("typed error: %#v", err)
			}
			if !errors.Is(err, tc.sentinel) || errors.Is(err, ErrOutcomeUnknown) != tc.outcomeUnk {
				t.Fatalf("error %v: Is(%v) or Is(ErrOutcomeUnknown)=%v wrong", err, tc.sentinel, tc.outcomeUnk)
			}
		})
	}
}

// TestReadRetriesUntilDeadline: a read against members that all answer
// Unavailable is retried round after round, then fails once the context
// expires, with an error wrapping both the deadline and the last answer.
func TestReadRetriesUntilDeadline(t *testing.T) {
	a := newScripted(t, CodeUnavailable, "etcdserver: no leader")
	b := newScripted(t, CodeUnavailable, "etcdserver: no leader")
	c := newClient(t, []string{a.srv.URL, b.srv.URL}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	_, err := c.Get(ctx, "k")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrNoLeader) {
		t.Fatalf("want deadline + no leader, got %v", err)
	}
	if a.hits.Load() < 2 || b.hits.Load() < 2 {
		t.Fatalf("want several rounds, got %d and %d requests", a.hits.Load(), b.hits.Load())
	}
}

// TestNoDeadlineUsesRequestTimeout: a context without a deadline gets
// RequestTimeout for the whole call.
func TestNoDeadlineUsesRequestTimeout(t *testing.T) {
	a := newScripted(t, CodeUnavailable, "etcdserver: no leader")
	c := newClient(t, []string{a.srv.URL}, func(cfg *Config) { cfg.RequestTimeout = 200 * time.Millisecond })
	_, err := c.Put(context.Background(), "k", "v")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrNoLeader) {
		t.Fatalf("want deadline + no leader, got %v", err)
	}
}

// TestBadResponse: a 200 answer that is not JSON is retried for a read,
// and reported as ErrBadResponse.
func TestBadResponse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>proxy</html>"))
	}))
	defer srv.Close()
	good, hits := okMember(t)
	c := newClient(t, []string{srv.URL, good.URL}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g, err := c.Get(ctx, "k")
	if err != nil || hits.Load() != 1 || g.Header.Revision != 7 || g.Header.MemberID != 9 {
		t.Fatalf("read past a bad answer: %+v, %v", g, err)
	}
	c.pin(0)
	if _, err := c.Put(ctx, "k", "v"); !errors.Is(err, ErrBadResponse) || hits.Load() != 1 {
		t.Fatalf("write with a bad answer: %v (second endpoint hits %d)", err, hits.Load())
	}
}

// TestBackoffBounds: every pause is within [base/2, max] and grows.
func TestBackoffBounds(t *testing.T) {
	c := newClient(t, []string{"http://127.0.0.1:1"}, nil)
	for round := 0; round < 20; round++ {
		d := c.backoff(round)
		want := min(DefaultBackoffBase<<min(round, 10), DefaultBackoffMax)
		if d < want/2 || d > want {
			t.Fatalf("round %d: backoff %v outside [%v, %v]", round, d, want/2, want)
		}
	}
}

// TestConcurrentUse: many goroutines share one Client whose first
// endpoint refuses connections; every call succeeds on the second (run
// with -race, this checks the pin and jitter state are guarded).
func TestConcurrentUse(t *testing.T) {
	good, hits := okMember(t)
	c := newClient(t, []string{deadEndpoint(t), good.URL}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errc := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 25; i++ {
				c.pin(0) // force the failover path on every call
				if _, err := c.Put(ctx, "k", "v"); err != nil {
					errc <- err
					return
				}
				if _, err := c.Get(ctx, "k"); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if n := hits.Load(); n != 8*25*2 {
		t.Fatalf("second endpoint saw %d requests, want %d (each call exactly once)", n, 8*25*2)
	}
}
