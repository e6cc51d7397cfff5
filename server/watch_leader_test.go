package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
)

// noLeaderLine is etcd 3.4's gateway line for a stream that failed with
// rpctypes.ErrGRPCNoLeader.
const noLeaderLine = `{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}`

// openWatch posts one create request to url's /v3/watch; the response
// body stays open until ctx ends.
func openWatch(t *testing.T, ctx context.Context, url, create string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v3/watch", strings.NewReader(create))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("watch on %s: %v", url, err)
	}
	return resp
}

// TestWatchEndsWithoutLeader: a watcher on a member whose two peers are
// stopped (so it has no leader, and its store stops moving) gets its
// events, then etcd's "no leader" error line, and the stream ends; a new
// watch on that member is refused with the same line and HTTP 503; once
// the peers are back and a leader is elected, watches are served again.
func TestWatchEndsWithoutLeader(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	lead := c.waitLeader()
	x := (lead + 1) % 3
	url := "http://" + c.servers[x].ClientAddrs()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := c.servers[x].Put(ctx, &mvcc.PutRequest{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}

	resp := openServedWatch(t, ctx, url, `{"create_request":{"key":"aw==","start_revision":"1"}}`)
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	var got []string
	next := func() string {
		if !lines.Scan() {
			t.Fatalf("stream ended after %q: %v", got, lines.Err())
		}
		got = append(got, lines.Text())
		return lines.Text()
	}
	var created, event struct {
		Result struct {
			Created bool `json:"created"`
			Events  []struct {
				Kv struct {
					Value []byte `json:"value"`
				} `json:"kv"`
			} `json:"events"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(next()), &created); err != nil || !created.Result.Created {
		t.Fatalf("first line %q is not created (%v)", got, err)
	}
	if err := json.Unmarshal([]byte(next()), &event); err != nil || len(event.Result.Events) != 1 || string(event.Result.Events[0].Kv.Value) != "v" {
		t.Fatalf("second line %q is not the put of k (%v)", got[1], err)
	}

	for i := range 3 {
		if i != x {
			c.stop(i)
		}
	}
	// The member ends the stream a (pre-)election plus an election
	// timeout after losing the leader; ctx bounds the wait.
	if line := next(); line != noLeaderLine {
		t.Fatalf("after losing the leader the stream sent %q, want %s", line, noLeaderLine)
	}
	if lines.Scan() {
		t.Fatalf("the stream went on after the error line: %q", lines.Text())
	}

	refused := openWatch(t, ctx, url, `{"create_request":{"key":"aw=="}}`)
	body, err := io.ReadAll(refused.Body)
	refused.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if refused.StatusCode != http.StatusServiceUnavailable || strings.TrimSpace(string(body)) != noLeaderLine {
		t.Fatalf("a new watch without a leader got HTTP %d %q, want 503 %s", refused.StatusCode, body, noLeaderLine)
	}

	for i := range 3 {
		if i != x {
			c.start(i)
		}
	}
	c.waitLeader()
	again := openServedWatch(t, ctx, url, `{"create_request":{"key":"aw=="}}`)
	defer again.Body.Close()
	sc := bufio.NewScanner(again.Body)
	if !sc.Scan() || !strings.Contains(sc.Text(), `"created":true`) {
		t.Fatalf("watch after the leader came back: %q %v", sc.Text(), sc.Err())
	}
}

// openServedWatch opens a watch on url once the member serves watches:
// it learns of a new leader within a heartbeat of raft (and refuses
// watches with HTTP 503 until then), so poll until ctx ends.
func openServedWatch(t *testing.T, ctx context.Context, url, create string) *http.Response {
	t.Helper()
	for {
		resp := openWatch(t, ctx, url, create)
		if resp.StatusCode == http.StatusOK {
			return resp
		}
		resp.Body.Close()
		if ctx.Err() != nil {
			t.Fatalf("no watch served on %s: HTTP %d", url, resp.StatusCode)
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}
