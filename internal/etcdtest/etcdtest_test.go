package etcdtest

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// fatalRecorder captures Fatalf instead of failing the real test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestStartWithoutEtcdFails: a missing binary fails (never skips) and says
// how to install it.
func TestStartWithoutEtcdFails(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(r)
	}()
	<-done
	if !strings.Contains(r.msg, "make test") || !strings.Contains(r.msg, "etcd-server") {
		t.Errorf("Start without etcd: message %q does not say how to install it", r.msg)
	}
}

// TestStartServes: the started etcd answers the v3 JSON API.
func TestStartServes(t *testing.T) {
	s := Start(t)
	resp, err := http.Post(s.ClientURL+"/v3/kv/put", "application/json", strings.NewReader(`{"key":"YQ==","value":"Yg=="}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"revision":"2"`) {
		t.Errorf("put on a fresh etcd: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(s.Version, "etcd Version") {
		t.Errorf("Version = %q", s.Version)
	}
}
