package difftest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/internal/etcdtest"
	"github.com/shelf-kv/shelf/internal/freeport"
	"github.com/shelf-kv/shelf/server"
)

// system is one side of the comparison: something that answers ops.
// do is called from one goroutine at a time, in sequence order.
type system interface {
	do(o op) answer
}

// systems makes a fresh pair (the oracle, etcd; the subject, shelf) for
// one run. Everything it starts is stopped by t's cleanup, so the shrinker
// runs each attempt in its own subtest.
type systems func(t testing.TB) (oracle, subject system)

// opTimeout bounds one request: far beyond any healthy answer, so a hung
// member shows as a transport error instead of a hung test.
const opTimeout = 30 * time.Second

// post sends body to url and returns the raw answer. A transport failure is
// an answer too (status -1), so it is compared and reported like any other.
func post(c *http.Client, url, body string) answer {
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return answer{status: -1, body: "transport error: " + err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{status: -1, body: "read error: " + err.Error()}
	}
	return answer{status: resp.StatusCode, body: string(b)}
}

// etcdSystem is a real single-member etcd (internal/etcdtest).
type etcdSystem struct {
	url string
	c   *http.Client
}

func (e *etcdSystem) do(o op) answer {
	if o.Path == "/v3/watch" {
		return watchOn(e.c, e.url, o.Body)
	}
	return post(e.c, e.url+o.Path, o.Body)
}

// startEtcd starts etcd and grants setupLeases on it.
func startEtcd(t testing.TB) *etcdSystem {
	t.Helper()
	s := etcdtest.Start(t, "--experimental-watch-progress-notify-interval="+progressInterval.String())
	e := &etcdSystem{url: s.ClientURL, c: &http.Client{Timeout: opTimeout}}
	for _, id := range setupLeases {
		a := post(e.c, e.url+"/v3/lease/grant", fmt.Sprintf(`{"ID":"%d","TTL":"36000"}`, id))
		if a.status != http.StatusOK {
			t.Fatalf("granting lease %d on etcd: %s", id, a)
		}
	}
	return e
}

// shelfSystem is a 3-member in-process shelf cluster. Ops go to the member
// the op names (round-robin), so writes are forwarded by followers and
// linearizable reads run ReadIndex on followers.
type shelfSystem struct {
	members []*server.Server
	urls    []string
	c       *http.Client
	// fresh is the member that answered the last successful write or
	// linearizable read: it has applied every acknowledged write, so a
	// serializable read there cannot be stale. Local ops go there; on
	// another member they may legitimately lag, which is no difference.
	fresh int
}

func (s *shelfSystem) do(o op) answer {
	m := o.Member
	if o.Local {
		m = s.fresh
	}
	var a answer
	if o.Path == "/v3/watch" {
		a = watchOn(s.c, s.urls[m], o.Body)
	} else {
		a = post(s.c, s.urls[m]+o.Path, o.Body)
	}
	if a.status == http.StatusOK && !o.Local {
		s.fresh = m
	}
	return a
}

// launchShelf starts a 3-member cluster in t.TempDir() with default raft
// timing and returns without waiting for a leader (ready does).
func launchShelf(t testing.TB) *shelfSystem {
	t.Helper()
	const n = 3
	dir := t.TempDir()
	var initial []string
	cfgs := make([]server.Config, n)
	s := &shelfSystem{c: &http.Client{Timeout: opTimeout}}
	for i := range cfgs {
		name := fmt.Sprintf("s%d", i)
		peer := fmt.Sprintf("http://127.0.0.1:%d", port(t))
		client := fmt.Sprintf("http://127.0.0.1:%d", port(t))
		initial = append(initial, name+"="+peer)
		cfgs[i] = server.Config{
			Name: name, DataDir: filepath.Join(dir, name),
			ListenPeerURLs: []string{peer}, AdvertisePeerURLs: []string{peer},
			ListenClientURLs: []string{client}, AdvertiseClientURLs: []string{client},
			// Watch ops end on a progress notification (watch_test.go).
			WatchProgressNotifyInterval: progressInterval,
		}
		s.urls = append(s.urls, client)
	}
	for i := range cfgs {
		cfgs[i].InitialCluster = strings.Join(initial, ",")
		m, err := server.New(cfgs[i])
		if err != nil {
			t.Fatalf("shelf member %d: %v", i, err)
		}
		if err := m.Start(); err != nil {
			t.Fatalf("shelf member %d: %v", i, err)
		}
		t.Cleanup(m.Stop)
		s.members = append(s.members, m)
	}
	return s
}

// ready waits until every member agrees on a leader and answers a
// linearizable read, then grants setupLeases.
func (s *shelfSystem) ready(t testing.TB) {
	t.Helper()
	s.waitLeader(t)
	for _, id := range setupLeases {
		a := post(s.c, s.urls[0]+"/v3/lease/grant", fmt.Sprintf(`{"ID":"%d","TTL":"36000"}`, id))
		if a.status != http.StatusOK {
			t.Fatalf("granting lease %d on shelf: %s", id, a)
		}
	}
}

// waitLeader polls until every member names the same leader and each one
// answers a linearizable read.
func (s *shelfSystem) waitLeader(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lead := s.members[0].Leader()
		agree := lead != 0
		for _, m := range s.members[1:] {
			agree = agree && m.Leader() == lead
		}
		if agree {
			ready := true
			for _, u := range s.urls {
				a := post(s.c, u+"/v3/kv/range", `{"key":"AA=="}`)
				ready = ready && a.status == http.StatusOK
			}
			if ready {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("shelf: no agreed leader answering reads within 30s")
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
}

func port(t testing.TB) int {
	t.Helper()
	p, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// realSystems starts etcd and shelf side by side (shelf elects its leader
// while etcd starts).
func realSystems(t testing.TB) (system, system) {
	t.Helper()
	sh := launchShelf(t)
	e := startEtcd(t)
	sh.ready(t)
	return e, sh
}

// both sends o to the two systems at once and returns their answers.
func both(oracle, subject system, o op) (want, got answer) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		want = oracle.do(o)
	}()
	got = subject.do(o)
	<-done
	return want, got
}

// curl renders o as a command line against ENDPOINT, for reports.
func curl(o op) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "curl -s -X POST $ENDPOINT%s -d '%s'", o.Path, o.Body)
	return b.String()
}
