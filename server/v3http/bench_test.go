package v3http

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/mvcc"
)

// benchHandler is a Handler over a fresh store, driven without a network.
func benchHandler(b *testing.B) *Handler {
	b.Helper()
	store, err := mvcc.New(mvcc.Config{Clock: fixedClock{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(store.Close)
	h, err := New(Config{Backend: NewStoreBackend(store, HeaderInfo{ClusterID: 1, MemberID: 2, RaftTerm: 3}, "bench")})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func serveBench(b *testing.B, h *Handler, path, body string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	if rec.Code != http.StatusOK {
		b.Fatalf("%s %s: %d %s", path, body, rec.Code, rec.Body)
	}
}

// BenchmarkPut measures one put of a 100-byte value through the handler
// (decode, size checks, mvcc write, encode), keys cycling over 1000.
func BenchmarkPut(b *testing.B) {
	h := benchHandler(b)
	val := b64(strings.Repeat("v", 100))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		serveBench(b, h, "/v3/kv/put", fmt.Sprintf(`{"key":%q,"value":%q}`, b64(fmt.Sprintf("key/%04d", i%1000)), val))
	}
}

// BenchmarkRange10 measures a prefix range returning 10 of 1000 keys.
func BenchmarkRange10(b *testing.B) {
	h := benchHandler(b)
	for i := 0; i < 1000; i++ {
		serveBench(b, h, "/v3/kv/put", fmt.Sprintf(`{"key":%q,"value":"eA=="}`, b64(fmt.Sprintf("key/%04d", i))))
	}
	body := fmt.Sprintf(`{"key":%q,"range_end":%q}`, b64("key/010"), b64("key/011"))
	b.ReportAllocs()
	for b.Loop() {
		serveBench(b, h, "/v3/kv/range", body)
	}
}

// BenchmarkDecodeTxn measures decoding a txn of 2 compares and 4 ops.
func BenchmarkDecodeTxn(b *testing.B) {
	body := []byte(`{"compare":[{"key":"YQ==","target":"MOD","result":"EQUAL","mod_revision":"5"},{"key":"Yg==","target":"VALUE","value":"eA=="}],` +
		`"success":[{"request_put":{"key":"YQ==","value":"eA=="}},{"request_range":{"key":"Yg==","range_end":"AA==","limit":"10"}}],` +
		`"failure":[{"request_delete_range":{"key":"YQ==","prev_kv":true}},{"request_txn":{"success":[{"request_range":{"key":"Yw=="}}]}}]}`)
	b.ReportAllocs()
	for b.Loop() {
		raw, err := readTop(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := decodeTxn(raw, 1); err != nil {
			b.Fatal(err)
		}
	}
}
