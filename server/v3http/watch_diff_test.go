package v3http

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/internal/etcdtest"
)

// watchScript is one watch stream of the differential test: KV calls made
// first (pre), then a watch whose whole body is the requests in body
// (etcd 3.4's gateway over HTTP/1.1 answers only once the body is
// complete, so the body is sent at once and closed), then KV calls each
// followed by the response lines it makes. Lines of one step are compared
// as a list stably sorted by watch_id: etcd sends the responses of
// different watchers in no fixed order.
type watchScript struct {
	pre   []kvCall
	body  []string
	lines int // response lines to the body
	steps []kvCall
}

type kvCall struct {
	path, body string
	lines      int
}

// watchScripts cover: create with catch-up and prev_kv, ranges, filters
// (known and unknown), camelCase names, explicit and automatic IDs,
// refused creates (inverted range, duplicate ID), empty messages, an
// empty key with range_end "\x00", progress requests, cancels (known and
// unknown), events of puts, deletes, a multi-put txn and a range delete,
// then compacted, negative and post-compaction start revisions.
var watchScripts = []watchScript{
	{
		pre: []kvCall{
			{path: "/v3/kv/put", body: `{"key":"Zm9v","value":"YmFy"}`},
			{path: "/v3/kv/put", body: `{"key":"Zm9v","value":"YmF6"}`},
			{path: "/v3/kv/put", body: `{"key":"Zm9v","value":"cXV4"}`},
		},
		body: []string{
			`{"create_request":{"key":"Zm9v","start_revision":"2","prev_kv":true}}`,
			`{"create_request":{"key":"YQ==","range_end":"Yg==","watch_id":"7","filters":["NOPUT"],"prev_kv":true}}`,
			`{"createRequest":{"key":"YQ==","rangeEnd":"Yg==","watchId":"9","progressNotify":true,"filters":[5]}}`,
			`{"create_request":{"key":"Yg==","range_end":"YQ=="}}`,
			`{"create_request":{"key":"Yg==","watch_id":"7"}}`,
			`{"cancel_request":{"watch_id":"42"}}`,
			`{}`,
			`{"create_request":{"range_end":"AA=="}}`,
			`{"progress_request":{}}`,
		},
		lines: 8,
		steps: []kvCall{
			{path: "/v3/kv/put", body: `{"key":"YTE=","value":"eA=="}`, lines: 2},
			{path: "/v3/kv/deleterange", body: `{"key":"YTE="}`, lines: 3},
			{path: "/v3/kv/txn", body: `{"success":[{"request_put":{"key":"YTI=","value":"eA=="}},{"request_put":{"key":"YTM=","value":"eQ=="}}]}`, lines: 2},
			{path: "/v3/kv/deleterange", body: `{"key":"YQ==","range_end":"Yg==","prev_kv":true}`, lines: 3},
			{path: "/v3/kv/put", body: `{"key":"Zm9v","value":"eg=="}`, lines: 2},
		},
	},
	{
		body: []string{
			`{"create_request":{"key":"Zm9v"}}`,
			`{"create_request":{"key":"Zm9v","watch_id":"5"}}`,
			`{"cancel_request":{"watch_id":"5"}}`,
			`{"cancel_request":{"watch_id":"42"}}`,
			`{"create_request":{"key":"Zm9v","start_revision":"100"}}`,
			`{"cancel_request":{"watch_id":"0"}}`,
		},
		lines: 5,
		steps: []kvCall{{path: "/v3/kv/put", body: `{"key":"Zm9v","value":"eg=="}`, lines: 0}},
	},
	{
		// A value that does not decode ends the requests, not the stream.
		body:  []string{`{"create_request":{"key":"Zm9v"}}`, `garbage`, `{"create_request":{"key":"YQ=="}}`},
		lines: 1,
		steps: []kvCall{{path: "/v3/kv/put", body: `{"key":"Zm9v","value":"eg=="}`, lines: 1}},
	},
	{
		pre: []kvCall{{path: "/v3/kv/compaction", body: `{"revision":"6","physical":true}`}},
		body: []string{
			`{"create_request":{"key":"Zm9v","start_revision":"2"}}`,
			`{"create_request":{"key":"Zm9v","start_revision":"-1"}}`,
			`{"create_request":{"key":"Zm9v","start_revision":"6","watch_id":"3"}}`,
			`{"create_request":{"key":"YQ==","range_end":"Yg==","start_revision":"7","prev_kv":true}}`, // not 6: see mvcc doc.go on deletes at the compact revision
		},
		lines: 8,
		steps: []kvCall{{path: "/v3/kv/put", body: `{"key":"YTQ=","value":"eg=="}`, lines: 1}},
	},
}

// watchFirstErrors are bodies whose first request does not decode: an
// ordinary error answer, before any stream.
var watchFirstErrors = []string{
	`garbage`,
	`[1]`,
	`{"create_request":{"key":"!!"}}`,
	`{"create_request":{"key":"Zm9v","start_revision":"abc"}}`,
	`{"create_request":{"key":"Zm9v","filters":["BAD"]}}`,
	`{"cancel_request":{"watch_id":true}}`,
	`{"create_request":{"key":"Zm9v","prev_kv":"yes"}}`,
}

// TestWatchDifferentialEtcd runs watchScripts against a real etcd and a
// Handler over a fresh store and requires identical response lines, step
// by step, after removing cluster_id, member_id and raft_term; then the
// same error answers to malformed first requests.
func TestWatchDifferentialEtcd(t *testing.T) {
	etcd := etcdtest.Start(t)
	shelf, _ := newTestServer(t, 0)
	c := &http.Client{Timeout: 30 * time.Second}
	kv := func(si int, k kvCall) {
		a, b := post(t, c, etcd.ClientURL+k.path, k.body), post(t, c, shelf.URL+k.path, k.body)
		if a != b {
			t.Fatalf("script %d: %s %s answers differ:\netcd:  %v\nshelf: %v", si, k.path, k.body, a, b)
		}
	}
	compare := func(si int, what string, we, ws *watchConn, n int) {
		want, got := readStep(we, n), readStep(ws, n)
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Fatalf("script %d, %s: responses differ:\netcd:\n  %s\nshelf:\n  %s", si, what,
				strings.Join(want, "\n  "), strings.Join(got, "\n  "))
		}
	}
	for si, sc := range watchScripts {
		for _, k := range sc.pre {
			kv(si, k)
		}
		we, ws := openWatch(t, etcd.ClientURL), openWatch(t, shelf.URL)
		for _, wc := range []*watchConn{we, ws} {
			wc.send(sc.body...)
			wc.body.Close()
		}
		compare(si, "the requests", we, ws, sc.lines)
		for i, k := range sc.steps {
			kv(si, k)
			compare(si, "step "+string(rune('0'+i))+" "+k.path+" "+k.body, we, ws, k.lines)
		}
		// Nothing more: a marker write reaches neither stream's watchers
		// of this script except as counted above.
		we.close()
		ws.close()
	}
	for _, body := range watchFirstErrors {
		a, b := post(t, c, etcd.ClientURL+"/v3/watch", body), post(t, c, shelf.URL+"/v3/watch", body)
		if a != b {
			t.Errorf("first request %s:\netcd:  %v\nshelf: %v", body, a, b)
		}
	}
}

var watchIDField = regexp.MustCompile(`"watch_id":"(-?[0-9]+)"`)

// readStep reads n lines, normalised and stably sorted by watch_id.
func readStep(wc *watchConn, n int) []string {
	wc.t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = normWatch(wc.next())
	}
	id := func(s string) string {
		if m := watchIDField.FindStringSubmatch(s); m != nil {
			return m[1]
		}
		return "0"
	}
	sort.SliceStable(out, func(i, j int) bool { return id(out[i]) < id(out[j]) })
	return out
}
