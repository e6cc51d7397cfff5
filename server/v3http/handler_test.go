package v3http

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/mvcc"
)

// hdr is the top-level header the test server sends at revision rev.
func hdr(rev int64) string {
	return fmt.Sprintf(`"header":{"cluster_id":"4660","member_id":"22136","revision":"%d","raft_term":"3"}`, rev)
}

// errBody is the gateway's error body; like etcd's, its strings are
// HTML-escaped ("<" is \u003c).
func errBody(msg string, code Code) string {
	m, err := json.Marshal(msg)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`{"error":%s,"message":%s,"code":%d}`, m, m, code)
}

// call posts body to path on srvURL and returns status and raw body.
func call(t *testing.T, srvURL, path, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(srvURL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 404 && resp.StatusCode != 405 && ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", path, body, ct)
	}
	return resp.StatusCode, string(b)
}

// step is one request of a scripted test and its exact expected answer.
type step struct {
	path, body string
	status     int
	want       string
}

func runSteps(t *testing.T, srvURL string, steps []step) {
	t.Helper()
	for i, s := range steps {
		status, body := call(t, srvURL, s.path, s.body)
		if status != s.status || body != s.want {
			t.Errorf("step %d: POST %s %s\n got: %d %s\nwant: %d %s", i, s.path, s.body, status, body, s.status, s.want)
		}
	}
}

const (
	kA   = "YQ==" // "a"
	kAB  = "YWI=" // "ab"
	kB   = "Yg==" // "b"
	kC   = "Yw==" // "c"
	v1   = "djE=" // "v1"
	v2   = "djI=" // "v2"
	v3   = "djM=" // "v3"
	zero = "AA==" // "\x00"
)

func kv(key string, create, mod, version int64, value string) string {
	s := fmt.Sprintf(`{"key":%q,"create_revision":"%d","mod_revision":"%d","version":"%d"`, key, create, mod, version)
	if value != "" {
		s += fmt.Sprintf(`,"value":%q`, value)
	}
	return s + "}"
}

func TestPutAndRangeOptions(t *testing.T) {
	srv, _ := newTestServer(t, 0)
	ok := http.StatusOK
	runSteps(t, srv.URL, []step{
		{"/v3/kv/put", `{"key":"` + kA + `","value":"` + v3 + `"}`, ok, `{` + hdr(2) + `}`},
		{"/v3/kv/put", `{"key":"` + kAB + `","value":"` + v1 + `"}`, ok, `{` + hdr(3) + `}`},
		{"/v3/kv/put", `{"key":"` + kB + `","value":"` + v2 + `"}`, ok, `{` + hdr(4) + `}`},
		{"/v3/kv/put", `{"key":"` + kA + `","value":"` + v1 + `","prev_kv":true}`, ok,
			`{` + hdr(5) + `,"prev_kv":` + kv(kA, 2, 2, 1, v3) + `}`},
		// a=v1 (c2 m5 ver2), ab=v1 (c3 m3), b=v2 (c4 m4)
		{"/v3/kv/range", `{"key":"` + kA + `"}`, ok, `{` + hdr(5) + `,"kvs":[` + kv(kA, 2, 5, 2, v1) + `],"count":"1"}`},
		{"/v3/kv/range", `{"key":"` + kC + `"}`, ok, `{` + hdr(5) + `}`},
		{"/v3/kv/range", `{"key":"` + kA + `","range_end":"` + zero + `","limit":"2"}`, ok,
			`{` + hdr(5) + `,"kvs":[` + kv(kA, 2, 5, 2, v1) + `,` + kv(kAB, 3, 3, 1, v1) + `],"more":true,"count":"3"}`},
		{"/v3/kv/range", `{"key":"` + kA + `","range_end":"` + kB + `"}`, ok,
			`{` + hdr(5) + `,"kvs":[` + kv(kA, 2, 5, 2, v1) + `,` + kv(kAB, 3, 3, 1, v1) + `],"count":"2"}`},
		{"/v3/kv/range", `{"key":"` + kA + `","revision":"2"}`, ok, `{` + hdr(5) + `,"kvs":[` + kv(kA, 2, 2, 1, v3) + `],"count":"1"}`},
		{"/v3/kv/range", `{"key":"` + kA + `","revision":6}`, 400,
			errBody("etcdserver: mvcc: required revision is a future revision", CodeOutOfRange)},
		{"/v3/kv/range", `{"key":"` + kA + `","range_end":"` + zero + `","sort_order":"DESCEND","sort_target":"MOD"}`, ok,
			`{` + hdr(5) + `,"kvs":[` + kv(kA, 2, 5, 2, v1) + `,` + kv(kB, 4, 4, 1, v2) + `,` + kv(kAB, 3, 3, 1, v1) + `],"count":"3"}`},
		{"/v3/kv/range", `{"key":"` + kA + `","range_end":"` + zero + `","sort_target":"CREATE","limit":1}`, ok,
			`{` + hdr(5) + `,"kvs":[` + kv(kA, 2, 5, 2, v1) + `],"more":true,"count":"3"}`},
		{"/v3/kv/range", `{"key":"` + kA + `","range_end":"` + zero + `","sort_order":2,"sort_target":4}`, ok,
			`{` + hdr(5) + `,"kvs":[` + kv(kB, 4, 4, 1, v2) + `,` + kv(kA, 2, 5, 2, v1) + `,` + kv(kAB, 3, 3, 1, v1) + `],"count":"3"}`},
		{"/v3/kv/range", `{"key":"` + kA + `","range_end":"` + zero + `","sort_order":"ASCEND","sort_target":"VERSION","keys_only":true}`, ok,
			`{` + hdr(5) + `,"kvs":[` + kv(kAB, 3, 3, 1, "") + `,` + kv(kB, 4, 4, 1, "") + `,` + kv(kA, 2, 5, 2, "") + `],"count":"3"}`},
		{"/v3/kv/range", `{"key":"` + kA + `","range_end":"` + zero + `","count_only":true,"serializable":true}`, ok,
			`{` + hdr(5) + `,"count":"3"}`},
		{"/v3/kv/range", `{"key":"` + kA + `","range_end":"` + zero + `","min_mod_revision":"4","max_create_revision":"3"}`, ok,
			`{` + hdr(5) + `,"kvs":[` + kv(kA, 2, 5, 2, v1) + `],"count":"3"}`},
		{"/v3/kv/range", `{"key":"` + kA + `","range_end":"` + zero + `","max_mod_revision":"3","min_create_revision":"3"}`, ok,
			`{` + hdr(5) + `,"kvs":[` + kv(kAB, 3, 3, 1, v1) + `],"count":"3"}`},
		// camelCase names are accepted too.
		{"/v3/kv/range", `{"key":"` + kA + `","rangeEnd":"` + zero + `","countOnly":true}`, ok, `{` + hdr(5) + `,"count":"3"}`},
		// put ignore_value keeps the value, ignore_lease the lease.
		{"/v3/kv/put", `{"key":"` + kB + `","ignore_value":true,"prev_kv":true}`, ok,
			`{` + hdr(6) + `,"prev_kv":` + kv(kB, 4, 4, 1, v2) + `}`},
		{"/v3/kv/put", `{"key":"` + kB + `","value":"` + v3 + `","ignore_lease":true}`, ok, `{` + hdr(7) + `}`},
		{"/v3/kv/range", `{"key":"` + kB + `"}`, ok, `{` + hdr(7) + `,"kvs":[` + kv(kB, 4, 7, 3, v3) + `],"count":"1"}`},
		{"/v3/kv/put", `{"key":"` + kC + `","ignore_value":true}`, 400, errBody("etcdserver: key not found", CodeInvalidArgument)},
		{"/v3/kv/put", `{"key":"` + kB + `","ignore_value":true,"value":"` + v1 + `"}`, 400, errBody("etcdserver: value is provided", CodeInvalidArgument)},
		{"/v3/kv/put", `{"key":"` + kB + `","ignore_lease":true,"lease":"9"}`, 400, errBody("etcdserver: lease is provided", CodeInvalidArgument)},
		{"/v3/kv/put", `{"key":"` + kB + `","lease":"9"}`, 404, errBody("etcdserver: requested lease not found", CodeNotFound)},
		{"/v3/kv/put", `{"value":"` + v1 + `"}`, 400, errBody("etcdserver: key is not provided", CodeInvalidArgument)},
		{"/v3/kv/put", `{"key":"` + kC + `"}`, ok, `{` + hdr(8) + `}`},
		{"/v3/kv/range", `{"key":"` + kC + `"}`, ok, `{` + hdr(8) + `,"kvs":[` + kv(kC, 8, 8, 1, "") + `],"count":"1"}`},
	})
}

func TestPutWithLease(t *testing.T) {
	store, err := mvcc.New(mvcc.Config{Clock: fixedClock{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	// Leases are granted through the lease API (not this package's).
	if _, err := store.LeaseGrant(1, 42, 60); err != nil {
		t.Fatal(err)
	}
	be := NewStoreBackend(store, HeaderInfo{ClusterID: 0x1234, MemberID: 0x5678, RaftTerm: 3}, "3.4.23")
	h, err := New(Config{Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(t, h)
	runSteps(t, srv.URL, []step{
		{"/v3/kv/put", `{"key":"` + kA + `","value":"` + v1 + `","lease":"42"}`, 200, `{` + hdr(2) + `}`},
		{"/v3/kv/put", `{"key":"` + kA + `","value":"` + v2 + `","ignore_lease":true,"prev_kv":true}`, 200,
			`{` + hdr(3) + `,"prev_kv":{"key":"` + kA + `","create_revision":"2","mod_revision":"2","version":"1","value":"` + v1 + `","lease":"42"}}`},
		{"/v3/kv/range", `{"key":"` + kA + `"}`, 200,
			`{` + hdr(3) + `,"kvs":[{"key":"` + kA + `","create_revision":"2","mod_revision":"3","version":"2","value":"` + v2 + `","lease":"42"}],"count":"1"}`},
		{"/v3/kv/txn", `{"compare":[{"key":"` + kA + `","target":"LEASE","result":"EQUAL","lease":"42"}]}`, 200,
			`{` + hdr(3) + `,"succeeded":true}`},
	})
}

func TestDeleteRange(t *testing.T) {
	srv, _ := newTestServer(t, 0)
	ok := http.StatusOK
	runSteps(t, srv.URL, []step{
		{"/v3/kv/put", `{"key":"` + kA + `","value":"` + v1 + `"}`, ok, `{` + hdr(2) + `}`},
		{"/v3/kv/put", `{"key":"` + kAB + `","value":"` + v2 + `"}`, ok, `{` + hdr(3) + `}`},
		{"/v3/kv/put", `{"key":"` + kB + `"}`, ok, `{` + hdr(4) + `}`},
		{"/v3/kv/deleterange", `{"key":"` + kC + `","prev_kv":true}`, ok, `{` + hdr(4) + `}`},
		{"/v3/kv/deleterange", `{"key":"` + kA + `","range_end":"` + kB + `","prev_kv":true}`, ok,
			`{` + hdr(5) + `,"deleted":"2","prev_kvs":[` + kv(kA, 2, 2, 1, v1) + `,` + kv(kAB, 3, 3, 1, v2) + `]}`},
		{"/v3/kv/deleterange", `{"key":"` + kA + `","range_end":"` + zero + `"}`, ok, `{` + hdr(6) + `,"deleted":"1"}`},
		{"/v3/kv/deleterange", `{}`, 400, errBody("etcdserver: key is not provided", CodeInvalidArgument)},
		{"/v3/kv/range", `{"key":"` + kA + `","range_end":"` + zero + `"}`, ok, `{` + hdr(6) + `}`},
	})
}

func TestTxn(t *testing.T) {
	srv, _ := newTestServer(t, 0)
	ok := http.StatusOK
	put := func(k, v string) string { return `{"request_put":{"key":"` + k + `","value":"` + v + `"}}` }
	rng := func(k string) string { return `{"request_range":{"key":"` + k + `"}}` }
	cmp := func(k, target, result, field, val string) string {
		return `{"key":"` + k + `","target":"` + target + `","result":"` + result + `","` + field + `":` + val + `}`
	}
	txn := func(cmps, succ, fail string) string {
		return `{"compare":[` + cmps + `],"success":[` + succ + `],"failure":[` + fail + `]}`
	}
	runSteps(t, srv.URL, []step{
		// Empty txn: succeeds, writes nothing.
		{"/v3/kv/txn", ``, ok, `{` + hdr(1) + `,"succeeded":true}`},
		// Create a=v1 if absent (VERSION EQUAL 0), and read it back in the same revision.
		{"/v3/kv/txn", txn(cmp(kA, "VERSION", "EQUAL", "version", `"0"`), put(kA, v1)+","+rng(kA), rng(kA)), ok,
			`{` + hdr(2) + `,"succeeded":true,"responses":[{"response_put":{"header":{"revision":"2"}}},` +
				`{"response_range":{"header":{"revision":"2"},"kvs":[` + kv(kA, 2, 2, 1, v1) + `],"count":"1"}}]}`},
		// Same txn again: the compare fails, the failure branch reads.
		{"/v3/kv/txn", txn(cmp(kA, "VERSION", "EQUAL", "version", `"0"`), put(kA, v1), rng(kA)), ok,
			`{` + hdr(2) + `,"responses":[{"response_range":{"header":{"revision":"2"},"kvs":[` + kv(kA, 2, 2, 1, v1) + `],"count":"1"}}]}`},
		// Every target, with each result.
		{"/v3/kv/txn", txn(cmp(kA, "CREATE", "EQUAL", "create_revision", `"2"`)+","+cmp(kA, "MOD", "LESS", "mod_revision", `3`)+","+
			cmp(kA, "VALUE", "EQUAL", "value", `"`+v1+`"`)+","+cmp(kA, "LEASE", "EQUAL", "lease", `"0"`)+","+
			cmp(kA, "VERSION", "GREATER", "version", `"0"`)+","+cmp(kA, "VALUE", "NOT_EQUAL", "value", `"`+v2+`"`), "", ""), ok,
			`{` + hdr(2) + `,"succeeded":true}`},
		{"/v3/kv/txn", txn(cmp(kA, "MOD", "GREATER", "mod_revision", `"2"`), "", ""), ok, `{` + hdr(2) + `}`},
		{"/v3/kv/txn", txn(cmp(kA, "VALUE", "LESS", "value", `"`+v1+`"`), "", ""), ok, `{` + hdr(2) + `}`},
		{"/v3/kv/txn", txn(cmp(kA, "CREATE", "NOT_EQUAL", "create_revision", `"2"`), "", ""), ok, `{` + hdr(2) + `}`},
		// VALUE on a missing key is false; other targets compare with 0.
		{"/v3/kv/txn", txn(cmp(kC, "VALUE", "NOT_EQUAL", "value", `"`+v1+`"`), "", ""), ok, `{` + hdr(2) + `}`},
		{"/v3/kv/txn", txn(cmp(kC, "MOD", "EQUAL", "mod_revision", `"0"`), "", ""), ok, `{` + hdr(2) + `,"succeeded":true}`},
		// A compare over a range: every key must match.
		{"/v3/kv/txn", `{"compare":[{"key":"` + kA + `","range_end":"` + zero + `","target":"VERSION","result":"GREATER","version":"0"}]}`, ok,
			`{` + hdr(2) + `,"succeeded":true}`},
		// Nested txn with a delete (prev_kv); nested headers carry the revision only, a nested txn's is empty.
		{"/v3/kv/txn", txn("", `{"request_txn":`+txn(cmp(kA, "VALUE", "EQUAL", "value", `"`+v1+`"`),
			`{"request_delete_range":{"key":"`+kA+`","prev_kv":true}}`, "")+`},`+put(kB, v2), ""), ok,
			`{` + hdr(3) + `,"succeeded":true,"responses":[{"response_txn":{"header":{},"succeeded":true,"responses":[` +
				`{"response_delete_range":{"header":{"revision":"3"},"deleted":"1","prev_kvs":[` + kv(kA, 2, 2, 1, v1) + `]}}]}},` +
				`{"response_put":{"header":{"revision":"3"}}}]}`},
		// Errors.
		{"/v3/kv/txn", txn("", put(kA, v1)+","+put(kA, v2), ""), 400, errBody("etcdserver: duplicate key given in txn request", CodeInvalidArgument)},
		{"/v3/kv/txn", `{"success":[{}]}`, 400, errBody("etcdserver: key not found", CodeInvalidArgument)},
		{"/v3/kv/txn", `{"compare":[{"target":"VALUE"}]}`, 400, errBody("etcdserver: key is not provided", CodeInvalidArgument)},
		{"/v3/kv/txn", `{"success":[{"request_range":{"key":"` + kA + `","revision":"9"}}]}`, 400,
			errBody("etcdserver: mvcc: required revision is a future revision", CodeOutOfRange)},
		{"/v3/kv/txn", `{"success":[{"request_put":{"key":"` + kA + `","lease":"5"}}]}`, 404, errBody("etcdserver: requested lease not found", CodeNotFound)},
		{"/v3/kv/txn", `{"success":[` + strings.TrimSuffix(strings.Repeat(rng(kA)+",", 129), ",") + `]}`, 400,
			errBody("etcdserver: too many operations in txn request", CodeInvalidArgument)},
		{"/v3/kv/txn", `{"compare":{}}`, 400, errBody("json: cannot unmarshal object into Go value of type []json.RawMessage", CodeInvalidArgument)},
		{"/v3/kv/txn", `{"compare":[{"key":"` + kA + `","target":"NOPE"}]}`, 400,
			errBody(`unknown value "NOPE" for enum etcdserverpb.Compare_CompareTarget`, CodeInvalidArgument)},
	})
}

func TestCompactionAndStatus(t *testing.T) {
	srv, _ := newTestServer(t, 0)
	ok := http.StatusOK
	compacted := errBody("etcdserver: mvcc: required revision has been compacted", CodeOutOfRange)
	runSteps(t, srv.URL, []step{
		{"/v3/kv/put", `{"key":"` + kA + `","value":"` + v1 + `"}`, ok, `{` + hdr(2) + `}`},
		{"/v3/kv/put", `{"key":"` + kA + `","value":"` + v2 + `"}`, ok, `{` + hdr(3) + `}`},
		{"/v3/kv/put", `{"key":"` + kA + `","value":"` + v3 + `"}`, ok, `{` + hdr(4) + `}`},
		{"/v3/kv/compaction", `{"revision":"5"}`, 400, errBody("etcdserver: mvcc: required revision is a future revision", CodeOutOfRange)},
		{"/v3/kv/compaction", `{"revision":"3","physical":true}`, ok, `{` + hdr(4) + `}`},
		{"/v3/kv/compaction", `{"revision":"3"}`, 400, compacted},
		{"/v3/kv/compaction", `{"revision":"-2"}`, 400, compacted},
		{"/v3/kv/compaction", `{}`, 400, compacted},
		{"/v3/kv/range", `{"key":"` + kA + `","revision":"2"}`, 400, compacted},
		{"/v3/kv/range", `{"key":"` + kA + `","revision":"3"}`, ok, `{` + hdr(4) + `,"kvs":[` + kv(kA, 2, 3, 2, v2) + `],"count":"1"}`},
	})
	status, body := call(t, srv.URL, "/v3/maintenance/status", "")
	want := `{` + hdr(4) + `,"version":"3.4.23","dbSize":"[0-9]+","leader":"22136","raftIndex":"8","raftTerm":"3","raftAppliedIndex":"8","dbSizeInUse":"[0-9]+"}`
	if status != ok || !matchFull(want, body) {
		t.Errorf("status: got %d %s\nwant 200 %s", status, body, want)
	}
	status, body = call(t, srv.URL, "/v3/maintenance/status", `{"x":`)
	if status != 400 || body != errBody("unexpected EOF", CodeInvalidArgument) {
		t.Errorf("status with bad JSON: got %d %s", status, body)
	}
}
