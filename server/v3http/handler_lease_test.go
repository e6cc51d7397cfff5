package v3http

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
)

func (b errBackend) LeaseGrant(context.Context, int64, int64) (*mvcc.LeaseGrantResponse, error) {
	return nil, b.fail()
}
func (b errBackend) LeaseRevoke(context.Context, int64) (*mvcc.LeaseRevokeResponse, error) {
	return nil, b.fail()
}
func (b errBackend) LeaseTimeToLive(context.Context, int64, bool) (*mvcc.LeaseTimeToLiveResponse, error) {
	return nil, b.fail()
}
func (b errBackend) LeaseLeases(context.Context) (*LeaseList, error) { return nil, b.fail() }
func (b errBackend) LeaseKeepAlive(context.Context, int64) (*LeaseKeepAlive, error) {
	return nil, b.fail()
}

// TestLeaseBackendErrorsOnTheWire: every lease endpoint renders a Backend
// error as etcd's error body and status; the keepalive stream as the
// gateway's {"error":{...}} chunk with the status of its code; a panicking
// Backend gets Internal.
func TestLeaseBackendErrorsOnTheWire(t *testing.T) {
	paths := []string{"/v3/lease/grant", "/v3/lease/revoke", "/v3/kv/lease/revoke", "/v3/lease/timetolive",
		"/v3/kv/lease/timetolive", "/v3/lease/leases", "/v3/kv/lease/leases"}
	for _, err := range []error{fmt.Errorf("renew: %w", ErrNotLeader), ErrNoLeader, nil} {
		h, e := New(Config{Backend: errBackend{err}})
		if e != nil {
			t.Fatal(e)
		}
		srv := newHTTPServer(t, h)
		want := Status{CodeInternal, "v3http: internal error"}
		if err != nil {
			want = StatusOf(err)
		}
		for _, path := range paths {
			status, got := call(t, srv.URL, path, `{"ID":"5"}`)
			if status != want.Code.HTTPStatus() || got != errBody(want.Message, want.Code) {
				t.Errorf("%s with backend error %v: got %d %s, want %d %s", path, err, status, got,
					want.Code.HTTPStatus(), errBody(want.Message, want.Code))
			}
		}
		status, got := call(t, srv.URL, "/v3/lease/keepalive", `{"ID":"5"}`)
		wantBody := errBody(want.Message, want.Code)
		if err != nil {
			wantBody = fmt.Sprintf(`{"error":{"grpc_code":%d,"http_code":%d,"message":%q,"http_status":%q}}`+"\n",
				want.Code, want.Code.HTTPStatus(), want.Message, http.StatusText(want.Code.HTTPStatus()))
		}
		if status != want.Code.HTTPStatus() || got != wantBody {
			t.Errorf("keepalive with backend error %v: got %d %s, want %d %s", err, status, got, want.Code.HTTPStatus(), wantBody)
		}
	}
}

// TestLeaseKeepAliveFullDuplex sends keepalive requests one at a time on
// one open request body and reads each answer before sending the next: the
// stream answers every message as it comes (flushed), not at the end of
// the body.
func TestLeaseKeepAliveFullDuplex(t *testing.T) {
	srv, _ := newTestServer(t, 0, 7)
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v3/lease/keepalive", pr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req = req.WithContext(ctx)
	respc := make(chan *http.Response, 1)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errc <- err
			return
		}
		respc <- resp
	}()
	if _, err := io.WriteString(pw, `{"ID":"7"}`); err != nil {
		t.Fatal(err)
	}
	var resp *http.Response
	select {
	case resp = <-respc:
	case err := <-errc:
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewReader(resp.Body)
	for i, id := range []string{"7", "8", "7"} {
		if i > 0 {
			if _, err := io.WriteString(pw, `{"ID":"`+id+`"}`); err != nil {
				t.Fatal(err)
			}
		}
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		want := `{"result":{"header":{"cluster_id":"4660","member_id":"22136","revision":"1","raft_term":"3"},"ID":"` + id + `","TTL":"3600"}}` + "\n"
		if id == "8" { // no such lease: TTL 0, omitted
			want = strings.Replace(want, `,"TTL":"3600"`, "", 1)
		}
		if line != want {
			t.Fatalf("answer %d:\n got %s\nwant %s", i, line, want)
		}
	}
	pw.Close()
	if rest, err := io.ReadAll(lines); err != nil || len(rest) != 0 {
		t.Fatalf("after the body ended: %q, %v", rest, err)
	}
}

// TestLeaseKeepAliveMessageTooLarge: one huge keepalive message is refused
// (the decoder does not buffer it whole), the member keeps serving.
func TestLeaseKeepAliveMessageTooLarge(t *testing.T) {
	srv, _ := newTestServer(t, 1024, 7)
	body := `{"ID":"7","pad":"` + strings.Repeat("x", 2<<20) + `"}`
	// The member answers before it has read the whole body and closes the
	// connection, so the client may see its upload fail instead of the
	// answer; when the answer arrives, it is the error.
	resp, err := http.Post(srv.URL+"/v3/lease/keepalive", "application/json", strings.NewReader(body))
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(b), "larger than the request size limit") {
			t.Fatalf("huge keepalive message: %d %s", resp.StatusCode, b)
		}
	}
	status, got := call(t, srv.URL, "/v3/lease/keepalive", `{"ID":"7"}`)
	if status != http.StatusOK || !strings.Contains(got, `"TTL":"3600"`) {
		t.Fatalf("keepalive after the huge one: %d %s", status, got)
	}
}
