package v3http

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestBadInput checks the gateway's answers to malformed requests; every
// expected text below was read off etcd 3.4.23 (the differential test
// sends most of these to etcd too).
func TestBadInput(t *testing.T) {
	srv, _ := newTestServer(t, 0)
	bad := func(msg string) string { return errBody(msg, CodeInvalidArgument) }
	rng := "/v3/kv/range"
	runSteps(t, srv.URL, []step{
		{rng, ``, 400, bad("etcdserver: key is not provided")},
		{rng, `  `, 400, bad("etcdserver: key is not provided")},
		{rng, `null`, 400, bad("etcdserver: key is not provided")},
		{rng, `{"key":null}`, 400, bad("etcdserver: key is not provided")},
		{rng, `{"key":`, 400, bad("unexpected EOF")},
		{rng, `xx`, 400, bad("invalid character 'x' looking for beginning of value")},
		{rng, `[]`, 400, bad("json: cannot unmarshal array into Go value of type map[string]json.RawMessage")},
		{rng, `{"key":"!!!"}`, 400, bad("illegal base64 data at input byte 0")},
		{rng, `{"key":"Zm9"}`, 400, bad("illegal base64 data at input byte 0")},
		{rng, `{"key":"_-8="}`, 400, bad("illegal base64 data at input byte 0")},
		{rng, `{"key":5}`, 400, bad("json: cannot unmarshal number into Go value of type []uint8")},
		{rng, `{"key":"YQ==","revision":"abc"}`, 400, bad("invalid character 'a' looking for beginning of value")},
		{rng, `{"key":"YQ==","revision":1.5}`, 400, bad("json: cannot unmarshal number 1.5 into Go value of type int64")},
		{rng, `{"key":"YQ==","revision":"1e0"}`, 400, bad("json: cannot unmarshal number 1e0 into Go value of type int64")},
		{rng, `{"key":"YQ==","revision":"99999999999999999999"}`, 400,
			bad("json: cannot unmarshal number 99999999999999999999 into Go value of type int64")},
		{rng, `{"key":"YQ==","revision":"0x1"}`, 400, bad("invalid character 'x' after top-level value")},
		{rng, `{"key":"YQ==","revision":""}`, 400, bad("unexpected end of JSON input")},
		{rng, `{"key":"YQ==","revision":"\u0031"}`, 400, bad(`invalid character '\\' looking for beginning of value`)},
		{rng, `{"key":"YQ==","revision":{}}`, 400, bad("json: cannot unmarshal object into Go value of type int64")},
		{rng, `{"key":"YQ==","revision":true}`, 400, bad("json: cannot unmarshal bool into Go value of type int64")},
		{rng, `{"key":"YQ==","sort_order":"BOGUS"}`, 400, bad(`unknown value "BOGUS" for enum etcdserverpb.RangeRequest_SortOrder`)},
		{rng, `{"key":"YQ==","sort_order":"<&>"}`, 400, bad(`unknown value "<&>" for enum etcdserverpb.RangeRequest_SortOrder`)},
		{rng, `{"key":"YQ==","sort_order":"2"}`, 400, bad(`unknown value "2" for enum etcdserverpb.RangeRequest_SortOrder`)},
		{rng, `{"key":"YQ==","sort_order":1.5}`, 400,
			bad("json: cannot unmarshal number 1.5 into Go value of type etcdserverpb.RangeRequest_SortOrder")},
		{rng, `{"key":"YQ==","sort_target":true}`, 400,
			bad("json: cannot unmarshal bool into Go value of type etcdserverpb.RangeRequest_SortTarget")},
		{rng, `{"key":"YQ==","keys_only":"true"}`, 400, bad("json: cannot unmarshal string into Go value of type bool")},
		{rng, `{"key":"YQ==","count_only":1}`, 400, bad("json: cannot unmarshal number into Go value of type bool")},
		// The first bad field in protobuf order wins (limit is 3, revision 4).
		{rng, `{"key":"YQ==","revision":"x","limit":"y"}`, 400, bad("invalid character 'y' looking for beginning of value")},
		{rng, `{"limit":"y","key":"!"}`, 400, bad("illegal base64 data at input byte 0")},
		// Accepted quirks: trailing bytes, unknown fields, "null" numbers,
		// duplicate keys (last wins), newlines in base64, numbers as strings.
		{rng, `{"key":"YQ=="} trailing`, 200, `{` + hdr(1) + `}`},
		{rng, `{"key":"YQ==","bogus":[1,{}]}`, 200, `{` + hdr(1) + `}`},
		{rng, `{"key":"YQ==","revision":"null","limit":null}`, 200, `{` + hdr(1) + `}`},
		{rng, `{"key":"!!!","key":"YQ=="}`, 200, `{` + hdr(1) + `}`},
		{rng, `{"key":"Y\nQ=="}`, 200, `{` + hdr(1) + `}`},
		{rng, `{"key":"YQ==","revision":" 1"}`, 200, `{` + hdr(1) + `}`},
		{"/v3/kv/compaction", `{"revision":"abc"}`, 400, bad("invalid character 'a' looking for beginning of value")},
		{"/v3/kv/compaction", `{"physical":"true"}`, 400, bad("json: cannot unmarshal string into Go value of type bool")},
		{"/v3/kv/txn", `{"compare":[5]}`, 400, bad("json: cannot unmarshal number into Go value of type map[string]json.RawMessage")},
		{"/v3/kv/txn", `{"compare":[{"key":"YQ==","result":1.5}]}`, 400,
			bad("json: cannot unmarshal number 1.5 into Go value of type etcdserverpb.Compare_CompareResult")},
		{"/v3/kv/txn", `{"success":{}}`, 400, bad("json: cannot unmarshal object into Go value of type []json.RawMessage")},
		{"/v3/kv/txn", `{"success":[{"request_put":null}]}`, 400, bad("etcdserver: key not found")},
		{"/v3/kv/put", `{"key":"YQ==","prev_kv":"yes"}`, 400, bad("json: cannot unmarshal string into Go value of type bool")},
	})
}

// TestDeliberateDifferences pins down each documented difference from
// etcd 3.4 (doc.go), so a change to any of them is a visible decision.
func TestDeliberateDifferences(t *testing.T) {
	srv, _ := newTestServer(t, 0)
	bad := func(msg string) string { return errBody(msg, CodeInvalidArgument) }
	nested := func(depth int) string {
		return strings.Repeat(`{"success":[{"request_txn":`, depth-1) + `{}` + strings.Repeat(`}]}`, depth-1)
	}
	runSteps(t, srv.URL, []step{
		{"/v3/kv/put", `{"key":"YQ==","value":"eA=="}`, 200, `{` + hdr(2) + `}`},
		// etcd 3.4 ignores an unknown sort order and crashes on an unknown target.
		{"/v3/kv/range", `{"key":"YQ==","sort_order":7}`, 400, bad("etcdserver: invalid sort option")},
		{"/v3/kv/range", `{"key":"YQ==","sort_target":9,"sort_order":1}`, 400, bad("etcdserver: invalid sort option")},
		// etcd 3.4 drops the connection on null elements.
		{"/v3/kv/txn", `{"success":[null]}`, 400, bad("etcdserver: key not found")},
		{"/v3/kv/txn", `{"compare":[null]}`, 400, bad("etcdserver: key is not provided")},
		// etcd keeps one random member of a oneof.
		{"/v3/kv/txn", `{"success":[{"request_put":{"key":"YQ=="},"request_range":{"key":"YQ=="}}]}`, 400,
			bad("mvcc: invalid request op: txn op 0 sets 2 requests")},
		// mvcc's stricter rules.
		{"/v3/kv/txn", `{"compare":[{"key":"YQ==","target":9}]}`, 400, bad("mvcc: invalid compare: target 9")},
		{"/v3/kv/txn", `{"compare":[{"key":"YQ==","result":-1}]}`, 400, bad("mvcc: invalid compare: result -1")},
		{"/v3/kv/txn", `{"success":[{"request_range":{"key":"YQ==","revision":"-1"}}]}`, 400, bad("mvcc: negative revision: range revision -1")},
		{"/v3/kv/txn", nested(33), 400, bad("mvcc: txn nested too deep: depth 33 > 32")},
		{"/v3/kv/txn", nested(65), 400, bad("mvcc: txn nested too deep: deeper than 64 while decoding")},
		// etcd's lenient rules, kept: a negative range revision is current,
		// an inverted range is empty, a negative compaction is compacted.
		{"/v3/kv/range", `{"key":"YQ==","revision":"-3"}`, 200, `{` + hdr(2) + `,"kvs":[` + kv("YQ==", 2, 2, 1, "eA==") + `],"count":"1"}`},
		{"/v3/kv/range", `{"key":"Yg==","range_end":"YQ=="}`, 200, `{` + hdr(2) + `}`},
		{"/v3/kv/deleterange", `{"key":"Yg==","range_end":"YQ==","prev_kv":true}`, 200, `{` + hdr(2) + `}`},
		{"/v3/kv/txn", `{"compare":[{"key":"Yg==","range_end":"YQ==","target":"MOD","mod_revision":"0"}],"success":[{"request_delete_range":{"key":"Yg==","range_end":"YQ=="}}]}`,
			200, `{` + hdr(2) + `,"succeeded":true,"responses":[{"response_delete_range":{"header":{"revision":"2"}}}]}`},
	})
}

// TestBodyLimit checks the read cap on request bodies: a body over 4 x the
// gRPC limit is refused unread, with etcd's ResourceExhausted answer.
func TestBodyLimit(t *testing.T) {
	srv, _ := newTestServer(t, 1024)
	grpcLimit := 1024 + 512*1024
	body := `{"key":"YQ==","value":"` + strings.Repeat("A", 4*grpcLimit) + `"}`
	status, got := call(t, srv.URL, "/v3/kv/put", body)
	want := errBody(fmt.Sprintf("grpc: received message larger than max (%d vs. %d)", 4*grpcLimit+1, grpcLimit), CodeResourceExhausted)
	if status != http.StatusTooManyRequests || got != want {
		t.Errorf("oversized body: got %d %s\nwant 429 %s", status, got, want)
	}
	// Whitespace padding under the cap is read and decoded normally.
	status, got = call(t, srv.URL, "/v3/kv/put", `{"key":"YQ=="}`+strings.Repeat(" ", 3*grpcLimit))
	if status != http.StatusOK || got != `{`+hdr(2)+`}` {
		t.Errorf("padded body: got %d %s", status, got)
	}
}
