package v3http

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/mvcc"
)

func TestStatusOf(t *testing.T) {
	cases := []struct {
		err  error
		code Code
		http int
		msg  string
	}{
		{nil, CodeOK, 200, ""},
		{mvcc.ErrCompacted, CodeOutOfRange, 400, "etcdserver: mvcc: required revision has been compacted"},
		{fmt.Errorf("%w: 3 < 5", mvcc.ErrCompacted), CodeOutOfRange, 400, "etcdserver: mvcc: required revision has been compacted"},
		{fmt.Errorf("%w: 9 > 5", mvcc.ErrFutureRev), CodeOutOfRange, 400, "etcdserver: mvcc: required revision is a future revision"},
		{fmt.Errorf("%w (put)", mvcc.ErrEmptyKey), CodeInvalidArgument, 400, "etcdserver: key is not provided"},
		{mvcc.ErrKeyNotFound, CodeInvalidArgument, 400, "etcdserver: key not found"},
		{mvcc.ErrValueProvided, CodeInvalidArgument, 400, "etcdserver: value is provided"},
		{mvcc.ErrLeaseProvided, CodeInvalidArgument, 400, "etcdserver: lease is provided"},
		{fmt.Errorf("%w: \"a\"", mvcc.ErrDuplicateKey), CodeInvalidArgument, 400, "etcdserver: duplicate key given in txn request"},
		{mvcc.ErrTooManyOps, CodeInvalidArgument, 400, "etcdserver: too many operations in txn request"},
		{mvcc.ErrInvalidSortOption, CodeInvalidArgument, 400, "etcdserver: invalid sort option"},
		{mvcc.ErrLeaseNotFound, CodeNotFound, 404, "etcdserver: requested lease not found"},
		{mvcc.ErrLeaseExists, CodeFailedPrecondition, 412, "etcdserver: lease already exists"},
		{mvcc.ErrLeaseTTLTooLarge, CodeOutOfRange, 400, "etcdserver: too large lease TTL"},
		{mvcc.ErrNotPrimary, CodeFailedPrecondition, 412, "etcdserver: not leader"},
		{mvcc.ErrClosed, CodeUnavailable, 503, "etcdserver: server stopped"},
		{fmt.Errorf("%w: depth 40 > 32", mvcc.ErrTxnTooDeep), CodeInvalidArgument, 400, "mvcc: txn nested too deep: depth 40 > 32"},
		{fmt.Errorf("%w: target 9", mvcc.ErrInvalidCompare), CodeInvalidArgument, 400, "mvcc: invalid compare: target 9"},
		{ErrNoLeader, CodeUnavailable, 503, "etcdserver: no leader"},
		{fmt.Errorf("member 3: %w", ErrNoLeader), CodeUnavailable, 503, "etcdserver: no leader"},
		{ErrNotLeader, CodeFailedPrecondition, 412, "etcdserver: not leader"},
		{ErrLeaderChanged, CodeUnavailable, 503, "etcdserver: leader changed"},
		{ErrTimeout, CodeUnavailable, 503, "etcdserver: request timed out"},
		{ErrTimeoutDueToLeaderFail, CodeUnavailable, 503, "etcdserver: request timed out, possibly due to previous leader failure"},
		{ErrTimeoutDueToConnectionLost, CodeUnavailable, 503, "etcdserver: request timed out, possibly due to connection lost"},
		{ErrTooManyRequests, CodeResourceExhausted, 429, "etcdserver: too many requests"},
		{ErrNoSpace, CodeResourceExhausted, 429, "etcdserver: mvcc: database space exceeded"},
		{ErrRequestTooLarge, CodeInvalidArgument, 400, "etcdserver: request is too large"},
		{ErrStopped, CodeUnavailable, 503, "etcdserver: server stopped"},
		{ErrUnhealthy, CodeUnavailable, 503, "etcdserver: unhealthy cluster"},
		{ErrNotSupportedForLearner, CodeUnavailable, 503, "etcdserver: rpc not supported for learner"},
		{ErrCorrupt, CodeDataLoss, 500, "etcdserver: corrupt cluster"},
		{context.DeadlineExceeded, CodeDeadlineExceeded, 504, "context deadline exceeded"},
		{fmt.Errorf("waiting for apply: %w", context.Canceled), CodeCanceled, 408, "context canceled"},
		{errors.New("disk on fire"), CodeUnknown, 500, "disk on fire"},
		{&StatusError{Status{CodeAborted, "custom"}}, CodeAborted, 409, "custom"},
	}
	for _, c := range cases {
		st := StatusOf(c.err)
		if st.Code != c.code || st.Message != c.msg || st.Code.HTTPStatus() != c.http {
			t.Errorf("StatusOf(%v) = %v (HTTP %d), want %v: %s (HTTP %d)", c.err, st, st.Code.HTTPStatus(), c.code, c.msg, c.http)
		}
	}
}

func TestHTTPStatusOfEveryCode(t *testing.T) {
	want := map[Code]int{CodeOK: 200, CodeCanceled: 408, CodeUnknown: 500, CodeInvalidArgument: 400,
		CodeDeadlineExceeded: 504, CodeNotFound: 404, CodeAlreadyExists: 409, CodePermissionDenied: 403,
		CodeResourceExhausted: 429, CodeFailedPrecondition: 412, CodeAborted: 409, CodeOutOfRange: 400,
		CodeUnimplemented: 501, CodeInternal: 500, CodeUnavailable: 503, CodeDataLoss: 500, CodeUnauthenticated: 401,
		Code(99): 500}
	for c, h := range want {
		if got := c.HTTPStatus(); got != h {
			t.Errorf("%v.HTTPStatus() = %d, want %d", c, got, h)
		}
	}
	if CodeFailedPrecondition.String() != "FailedPrecondition" || Code(99).String() != "Code(99)" {
		t.Errorf("Code.String: %v %v", CodeFailedPrecondition, Code(99))
	}
}

// errBackend fails every call with err (and panics when err is nil).
type errBackend struct{ err error }

func (b errBackend) fail() error {
	if b.err == nil {
		panic("errBackend: deliberate panic")
	}
	return b.err
}
func (b errBackend) Range(context.Context, *mvcc.RangeRequest) (*mvcc.RangeResponse, error) {
	return nil, b.fail()
}
func (b errBackend) Put(context.Context, *mvcc.PutRequest) (*mvcc.PutResponse, error) {
	return nil, b.fail()
}
func (b errBackend) DeleteRange(context.Context, *mvcc.DeleteRangeRequest) (*mvcc.DeleteRangeResponse, error) {
	return nil, b.fail()
}
func (b errBackend) Txn(context.Context, *mvcc.TxnRequest) (*mvcc.TxnResponse, error) {
	return nil, b.fail()
}
func (b errBackend) Compact(context.Context, int64, bool) (*mvcc.CompactResponse, error) {
	return nil, b.fail()
}
func (b errBackend) Status(context.Context) (StatusInfo, error) { return StatusInfo{}, b.fail() }
func (b errBackend) Header() HeaderInfo                         { return HeaderInfo{} }

var _ Backend = errBackend{}

// TestBackendErrorsOnTheWire checks that every endpoint renders a Backend
// error as etcd's body and status, and that a panicking Backend gets an
// Internal answer instead of a dropped connection.
func TestBackendErrorsOnTheWire(t *testing.T) {
	bodies := map[string]string{
		"/v3/kv/range": `{"key":"YQ=="}`, "/v3/kv/put": `{"key":"YQ=="}`, "/v3/kv/deleterange": `{"key":"YQ=="}`,
		"/v3/kv/txn": `{}`, "/v3/kv/compaction": `{"revision":"3"}`, "/v3/maintenance/status": `{}`,
	}
	for _, err := range []error{fmt.Errorf("proposal 7: %w", ErrTimeout), ErrNoSpace, context.DeadlineExceeded, nil} {
		h, e := New(Config{Backend: errBackend{err}})
		if e != nil {
			t.Fatal(e)
		}
		srv := newHTTPServer(t, h)
		want := Status{CodeInternal, "v3http: internal error"}
		if err != nil {
			want = StatusOf(err)
		}
		for path, body := range bodies {
			status, got := call(t, srv.URL, path, body)
			if status != want.Code.HTTPStatus() || got != errBody(want.Message, want.Code) {
				t.Errorf("%s with backend error %v: got %d %s, want %d %s", path, err, status, got,
					want.Code.HTTPStatus(), errBody(want.Message, want.Code))
			}
		}
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "Backend") {
		t.Errorf("New without a Backend: %v", err)
	}
	for _, n := range []int{-1, 1<<30 + 1} {
		if _, err := New(Config{Backend: errBackend{}, MaxRequestBytes: n}); err == nil {
			t.Errorf("New with MaxRequestBytes %d succeeded", n)
		}
	}
	h, err := New(Config{Backend: errBackend{}})
	if err != nil || h.cfg.MaxRequestBytes != DefaultMaxRequestBytes || h.grpcLimit != DefaultMaxRequestBytes+512*1024 {
		t.Errorf("defaults: %v %+v", err, h)
	}
}

func TestMethodsAndPaths(t *testing.T) {
	srv, _ := newTestServer(t, 0)
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/v3/kv/range", 405},
		{"PUT", "/v3/kv/put", 405},
		{"POST", "/v3/kv/bogus", 404},
		{"POST", "/v3/kv/range/", 404},
		{"POST", "/v3beta/kv/range", 404},
		{"POST", "/v3/maintenance/status", 200},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(`{"key":"YQ=="}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.status)
		}
	}
}
