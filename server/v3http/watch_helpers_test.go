package v3http

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// Watch is errBackend's: the stream cannot be opened.
func (b errBackend) Watch(context.Context) (WatchStream, error) { return nil, b.fail() }

// watchConn is one open POST /v3/watch: requests are written to the body
// as the test goes, response lines arrive on lines.
type watchConn struct {
	t      testing.TB
	body   *io.PipeWriter
	lines  chan string
	status chan int
	cancel context.CancelFunc
}

// openWatch starts a watch request on url; nothing is sent until send.
func openWatch(t testing.TB, url string) *watchConn {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	wc := &watchConn{t: t, body: pw, lines: make(chan string, 1024), status: make(chan int, 1), cancel: cancel}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v3/watch", pr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(wc.lines)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			wc.status <- -1
			return
		}
		defer resp.Body.Close()
		wc.status <- resp.StatusCode
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			wc.lines <- sc.Text()
		}
	}()
	t.Cleanup(wc.close)
	return wc
}

func (wc *watchConn) send(msgs ...string) {
	wc.t.Helper()
	for _, m := range msgs {
		if _, err := io.WriteString(wc.body, m+"\n"); err != nil {
			wc.t.Fatalf("sending %s: %v", m, err)
		}
	}
}

// next returns the next response line, failing after 10 s.
func (wc *watchConn) next() string {
	wc.t.Helper()
	select {
	case l, ok := <-wc.lines:
		if !ok {
			wc.t.Fatal("watch stream ended")
		}
		return l
	case <-time.After(10 * time.Second):
		wc.t.Fatal("no watch response within 10s")
	}
	return ""
}

func (wc *watchConn) close() {
	wc.body.Close()
	wc.cancel()
}

// memberFields matches the header fields that name a member or a term.
var memberFields = regexp.MustCompile(`"(cluster_id|member_id|raft_term)":"[0-9]+",?`)

// normWatch removes member-specific header fields from a response line.
func normWatch(line string) string {
	s := memberFields.ReplaceAllString(line, "")
	return regexp.MustCompile(`,}`).ReplaceAllString(s, "}")
}
