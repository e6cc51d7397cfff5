package main

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/internal/etcdtest"
)

// TestProcMaxTxnOpsMatchesEtcd starts a member and a real etcd both with
// --max-txn-ops 2 and sends them the same txns: within the limit, over it
// at the top level, and over it through a nested txn (the budget a nested
// txn gets is what its parent left). Status and body must be equal apart
// from the member-specific header fields.
func TestProcMaxTxnOpsMatchesEtcd(t *testing.T) {
	etcd := etcdtest.Start(t, "--max-txn-ops", "2")
	c := newProcCluster(t, 1, "--max-txn-ops", "2")
	c.startAll()
	c.waitHealthy()
	put := func(k string) string { return `{"request_put":{"key":"` + b64(k) + `","value":"dg=="}}` }
	get := func(k string) string { return `{"request_range":{"key":"` + b64(k) + `"}}` }
	cmp := `{"key":"` + b64("a") + `","target":"VERSION","result":"EQUAL","version":"0"}`
	for _, tc := range []struct{ name, body string }{
		{"two puts", `{"success":[` + put("a") + `,` + put("b") + `]}`},
		{"three puts", `{"success":[` + put("a") + `,` + put("b") + `,` + put("c") + `]}`},
		{"three compares", `{"compare":[` + cmp + `,` + cmp + `,` + cmp + `]}`},
		{"three reads in failure", `{"failure":[` + get("a") + `,` + get("b") + `,` + get("c") + `]}`},
		{"nested within budget", `{"success":[{"request_txn":{"success":[` + put("x") + `]}}]}`},
		{"nested over budget", `{"success":[` + put("a") + `,{"request_txn":{"success":[` + put("x") + `,` + put("y") + `]}}]}`},
	} {
		wantStatus, want := postRaw(t, etcd.ClientURL+"/v3/kv/txn", tc.body)
		gotStatus, got := postRaw(t, c.procs[0].client+"/v3/kv/txn", tc.body)
		if wantStatus != gotStatus || !reflect.DeepEqual(want, got) {
			t.Errorf("%s: etcd HTTP %d %v\nshelf HTTP %d %v", tc.name, wantStatus, want, gotStatus, got)
		}
	}
}

// postRaw posts body and returns the status and the decoded answer with
// the header's member-specific fields removed.
func postRaw(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v: %s", url, err, data)
	}
	if h, ok := v["header"].(map[string]any); ok {
		delete(h, "cluster_id")
		delete(h, "member_id")
		delete(h, "raft_term")
	}
	return resp.StatusCode, v
}
