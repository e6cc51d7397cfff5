package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/internal/etcdtest"
)

// noLeaderLine is etcd 3.4's gateway line for a stream that failed with
// rpctypes.ErrGRPCNoLeader.
const noLeaderLine = `{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}`

// fakeWatchMember serves POST /v3/watch with serve, after reading the
// create request; the requests that follow on the body (full duplex) are
// counted (progress) and, when answerProgress is set, answered with a
// stream-wide progress line. Handlers blocked in serve are released when
// the test ends.
type fakeWatchMember struct {
	srv      *httptest.Server
	streams  atomic.Int32 // watch streams opened
	progress atomic.Int32 // progress requests received
	ended    atomic.Int32 // request bodies that ended (the client half-closed)
	release  chan struct{}
}

// fakeServe serves one stream; write sends lines (safe from any
// goroutine while the handler runs); release closes when the test ends.
type fakeServe func(f *fakeWatchMember, write func(lines ...string), release <-chan struct{})

// fakeOpts: answer progress requests; the HTTP status (0: 200).
type fakeOpts struct {
	answerProgress bool
	status         int
}

func newFakeWatchMember(t *testing.T, opts fakeOpts, serve fakeServe) *fakeWatchMember {
	t.Helper()
	f := &fakeWatchMember{release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v3/watch" {
			http.Error(w, "not a member", http.StatusNotFound)
			return
		}
		f.streams.Add(1)
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		dec := json.NewDecoder(r.Body)
		var create struct {
			CreateRequest *json.RawMessage `json:"create_request"`
		}
		if err := dec.Decode(&create); err != nil || create.CreateRequest == nil {
			http.Error(w, fmt.Sprintf("no create request first: %v", err), http.StatusBadRequest)
			return
		}
		if opts.status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(opts.status)
		}
		var mu sync.Mutex // guards w and ended
		ended := false
		defer func() { mu.Lock(); ended = true; mu.Unlock() }()
		write := func(lines ...string) {
			mu.Lock()
			defer mu.Unlock()
			if ended {
				return
			}
			for _, l := range lines {
				_, _ = io.WriteString(w, l+"\n")
			}
			_ = rc.Flush()
		}
		go func() {
			for {
				var req struct {
					ProgressRequest *json.RawMessage `json:"progress_request"`
				}
				if err := dec.Decode(&req); err != nil {
					if errors.Is(err, io.EOF) {
						f.ended.Add(1)
					}
					return
				}
				if req.ProgressRequest != nil {
					f.progress.Add(1)
					if opts.answerProgress {
						write(`{"result":{"header":{"revision":"1"},"watch_id":"-1"}}`)
					}
				}
			}
		}()
		serve(f, write, f.release)
	}))
	// Cleanups run last-registered first: release the handlers, then
	// close the server (which waits for them).
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.release) })
	return f
}

// firstEvent is the put of p/first at revision 2, as a member sends it.
const (
	createdLine    = `{"result":{"header":{"revision":"1"},"created":true}}`
	firstEventLine = `{"result":{"header":{"revision":"2"},"events":[{"kv":{"key":"cC9maXJzdA==","create_revision":"2","mod_revision":"2","version":"1","value":"eA=="}}]}}`
)

// failoverWatch runs the scenario the tests below share: a real member
// (second endpoint) holds revision 2 (p/first = x, which the fake first
// endpoint also sends) and more writes under p/; a watch on p/ from
// revision 2 starts on the fake, which fails in its own way after
// serving what it serves; the caller must see one Created and every
// event once, in order, and no error or progress notification.
func failoverWatch(t *testing.T, fake *fakeWatchMember) {
	c := startCluster(t, 1)
	h := newHistory()
	writer := newClient(t, c.endpoints, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	put, err := writer.Put(ctx, "p/first", "x")
	if err != nil {
		t.Fatal(err)
	}
	if put.Header.Revision != 2 {
		t.Fatalf("first put at revision %d, want 2", put.Header.Revision)
	}
	h.add(2, histOp{EventPut, "p/first", "x"})

	w := newClient(t, []string{fake.srv.URL, c.endpoints[0]}, func(cfg *Config) {
		cfg.WatchKeepalive = 100 * time.Millisecond
		cfg.AttemptTimeout = 200 * time.Millisecond
	})
	ch := w.Watch(ctx, "p/", WithPrefix(), WithRev(2))
	writers(t, writer, h, "p/w", 2, 20, 0)
	resps := collect(t, ch, h, "p/", 2)
	for i, r := range resps {
		if r.IsProgressNotify() || r.Err() != nil {
			t.Fatalf("response %d reached the caller: %+v (err %v)", i, r, r.Err())
		}
	}
	checkHistory(t, resps, h, "p/", 2)
	if fake.streams.Load() == 0 {
		t.Fatal("the watch never tried the fake member: the test proved nothing")
	}
}

// TestWatchResumesPastStalledMember: a member that accepts the watch and
// then goes silent (SIGSTOP, a black hole), after Created and the first
// event or before answering at all, is abandoned after WatchKeepalive
// plus AttemptTimeout; the watch resumes on the next endpoint with no
// event lost or repeated.
func TestWatchResumesPastStalledMember(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
	}{
		// Found by the keepalive's progress request going unanswered.
		{"after created and an event", []string{createdLine, firstEventLine}},
		// The client ends the body (a gateway answers only then), and
		// gives up AttemptTimeout later.
		{"before answering", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeWatchMember(t, fakeOpts{}, func(_ *fakeWatchMember, write func(...string), release <-chan struct{}) {
				if tc.lines != nil {
					write(tc.lines...)
				}
				<-release // stalled until the test ends
			})
			failoverWatch(t, fake)
			switch {
			case tc.lines != nil && fake.progress.Load() == 0:
				t.Fatal("the stalled member got no progress request before it was abandoned")
			case tc.lines == nil && fake.ended.Load() == 0:
				t.Fatal("the member that never answered did not see the request body end before it was abandoned")
			}
		})
	}
}

// TestWatchResumesPastLeaderlessMember: a member that ends the stream
// with etcd's "no leader" error line, or refuses the watch with it (HTTP
// 503), is skipped; the caller never sees the error.
func TestWatchResumesPastLeaderlessMember(t *testing.T) {
	t.Run("stream ended", func(t *testing.T) {
		fake := newFakeWatchMember(t, fakeOpts{}, func(_ *fakeWatchMember, write func(...string), _ <-chan struct{}) {
			write(createdLine, firstEventLine, noLeaderLine)
		})
		failoverWatch(t, fake)
	})
	t.Run("watch refused", func(t *testing.T) {
		fake := newFakeWatchMember(t, fakeOpts{status: http.StatusServiceUnavailable}, func(_ *fakeWatchMember, write func(...string), _ <-chan struct{}) {
			// As grpc-gateway answers a stream that fails at once.
			write(noLeaderLine)
		})
		failoverWatch(t, fake)
	})
}

// TestWatchKeepaliveProgressHidden: on a quiet member that answers the
// keepalive's progress requests, the watch stays (one stream), and the
// answers reach the caller only WithProgressNotify: the first response
// after Created is the event the member sends once it has answered two
// progress requests.
func TestWatchKeepaliveProgressHidden(t *testing.T) {
	for _, notify := range []bool{false, true} {
		t.Run(fmt.Sprintf("progress_notify=%v", notify), func(t *testing.T) {
			fake := newFakeWatchMember(t, fakeOpts{answerProgress: true}, func(fake *fakeWatchMember, write func(...string), release <-chan struct{}) {
				write(createdLine)
				// Poll (the client sends one every 50 ms) until two
				// were answered, then send the event.
				for fake.progress.Load() < 3 {
					select {
					case <-release:
						return
					case <-time.After(10 * time.Millisecond): // poll interval
					}
				}
				write(firstEventLine)
				<-release
			})
			w := newClient(t, []string{fake.srv.URL}, func(cfg *Config) {
				cfg.WatchKeepalive = 50 * time.Millisecond
				cfg.AttemptTimeout = 5 * time.Second
			})
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			opts := []OpOption{WithPrefix(), WithRev(2)}
			if notify {
				opts = append(opts, WithProgressNotify())
			}
			ch := w.Watch(ctx, "p/", opts...)
			if r := waitCreated(t, ch); r.Err() != nil {
				t.Fatal(r.Err())
			}
			progress := 0
			for {
				var r WatchResponse
				select {
				case r = <-ch:
				case <-ctx.Done():
					t.Fatal("no event within 15 s")
				}
				if r.IsProgressNotify() {
					progress++
					continue
				}
				if len(r.Events) != 1 || string(r.Events[0].Kv.Key) != "p/first" {
					t.Fatalf("got %+v, want the event of p/first", r)
				}
				break
			}
			switch {
			case !notify && progress > 0:
				t.Fatalf("%d progress responses reached a caller who did not ask for them", progress)
			case notify && progress < 2:
				t.Fatalf("%d progress responses reached a caller who asked for them; the member answered at least 2", progress)
			}
			if n := fake.streams.Load(); n != 1 {
				t.Fatalf("%d streams opened: a member answering its progress requests was abandoned", n)
			}
		})
	}
}

// TestWatchOnEtcdGateway: etcd 3.4's gateway answers a watch only once
// the request body is complete; client.Watch ends the body when no answer
// comes, and then catches up and goes live on real etcd.
func TestWatchOnEtcdGateway(t *testing.T) {
	e := etcdtest.Start(t)
	c := newClient(t, []string{e.ClientURL}, func(cfg *Config) {
		cfg.WatchKeepalive = 300 * time.Millisecond
		cfg.AttemptTimeout = 500 * time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	ch := c.Watch(ctx, "a", WithRev(1))
	if r := waitCreated(t, ch); r.Err() != nil {
		t.Fatal(r.Err())
	}
	next := func() WatchResponse {
		select {
		case r := <-ch:
			return r
		case <-ctx.Done():
			t.Fatal("no event from etcd within 15 s")
		}
		return WatchResponse{}
	}
	if r := next(); len(r.Events) != 1 || string(r.Events[0].Kv.Value) != "1" || r.Events[0].Kv.ModRevision != 2 {
		t.Fatalf("catch-up: %+v, want a=1 at revision 2", r)
	}
	if _, err := c.Put(ctx, "a", "2"); err != nil {
		t.Fatal(err)
	}
	if r := next(); len(r.Events) != 1 || string(r.Events[0].Kv.Value) != "2" || r.Events[0].Kv.ModRevision != 3 {
		t.Fatalf("live: %+v, want a=2 at revision 3", r)
	}
}

// TestWatchKeepaliveConfig: a negative WatchKeepalive is refused.
func TestWatchKeepaliveConfig(t *testing.T) {
	_, err := New(Config{Endpoints: []string{"http://127.0.0.1:2379"}, WatchKeepalive: -time.Second})
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "WatchKeepalive") {
		t.Fatalf("New with a negative WatchKeepalive: %v, want ErrInvalidConfig naming it", err)
	}
}
