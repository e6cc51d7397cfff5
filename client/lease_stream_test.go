package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestKeepAliveOnceEndsWhenMemberWaitsForBody: a member that answers a
// keepalive only once the request body is complete (etcd 3.4's gateway
// does) must cost KeepAliveOnce its attempt timeouts, not hang it: the
// stream's body is a pipe the transport keeps reading.
func TestKeepAliveOnceEndsWhenMemberWaitsForBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // returns only when the client ends the body
		w.Write([]byte(`{"result":{"header":{"revision":"1"},"ID":"1","TTL":"5"}}` + "\n"))
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, []string{srv.URL}, func(cfg *Config) { cfg.AttemptTimeout = 200 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.KeepAliveOnce(ctx, 1)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("KeepAliveOnce succeeded against a member that never answered in time")
		}
		t.Logf("KeepAliveOnce: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("KeepAliveOnce still blocked 14 s after its deadline")
	}
}
