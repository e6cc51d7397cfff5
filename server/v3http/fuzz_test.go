package v3http

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/mvcc"
)

// fuzzPaths are the endpoints FuzzRequest drives; the fuzzer picks one
// with its first argument.
var fuzzPaths = []string{"/v3/kv/range", "/v3/kv/put", "/v3/kv/deleterange", "/v3/kv/txn", "/v3/kv/compaction", "/v3/maintenance/status"}

// FuzzRequest feeds arbitrary bodies to every endpoint's decoder and then
// through a Handler over a live mvcc store. It fails on any panic (the
// decoders run outside the Handler's recover, and a recovered panic shows up
// as an Internal answer), on an answer that is not JSON, and on a status
// other than the ones StatusOf can produce for such input.
func FuzzRequest(f *testing.F) {
	g := newReqGen(7)
	for i := 0; i < 200; i++ {
		r := g.next()
		for j, p := range fuzzPaths {
			if p == r.path {
				f.Add(uint8(j), r.body)
			}
		}
	}
	for _, b := range []string{``, `null`, `[`, `{"success":[null]}`, `{"compare":[{"key":"YQ==","target":9}]}`,
		`{"key":"YQ==","sort_order":7}`, strings.Repeat(`{"success":[{"request_txn":`, 70)} {
		for j := range fuzzPaths {
			f.Add(uint8(j), b)
		}
	}
	store, err := mvcc.New(mvcc.Config{Clock: fixedClock{}})
	if err != nil {
		f.Fatal(err)
	}
	defer store.Close()
	h, err := New(Config{Backend: NewStoreBackend(store, HeaderInfo{ClusterID: 1, MemberID: 2, RaftTerm: 3}, "test"), MaxRequestBytes: 4096})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		// The decoders on their own: a panic here fails the fuzz run.
		if raw, err := readTop([]byte(body)); err == nil {
			_, _ = decodeRange(raw)
			_, _ = decodePut(raw)
			_, _ = decodeDeleteRange(raw)
			_, _ = decodeCompaction(raw)
			_ = decodeStatus(raw)
			if r, err := decodeTxn(raw, 1); err == nil {
				_ = txnSize(r)
				_ = txnWrites(r)
				lenientTxn(r)
			}
		}
		path := fuzzPaths[int(which)%len(fuzzPaths)]
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		out := rec.Body.String()
		switch rec.Code {
		case 200, 400, 404, 429:
		default:
			t.Fatalf("POST %s %q: status %d %s", path, body, rec.Code, out)
		}
		if !strings.HasPrefix(out, "{") || !strings.HasSuffix(out, "}") {
			t.Fatalf("POST %s %q: answer is not a JSON object: %s", path, body, out)
		}
	})
}
