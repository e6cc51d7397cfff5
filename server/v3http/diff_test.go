package v3http

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/internal/etcdtest"
	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

var (
	diffSeed = flag.Uint64("v3http.seed", 1, "seed of TestDifferentialEtcd's request sequence")
	diffN    = flag.Int("v3http.requests", 1200, "number of requests TestDifferentialEtcd sends")
)

// fixedClock is an mvcc.Clock that never moves (no lease expires).
type fixedClock struct{}

func (fixedClock) Now() time.Time { return time.Unix(1_700_000_000, 0) }

// newTestServer serves a fresh mvcc store through a Handler on httptest.
// Each lease in leases is granted (TTL 3600 s, never expiring: the store's
// lessor is not primary) before the first request, as the lease API would.
func newTestServer(t testing.TB, maxRequestBytes int, leases ...int64) (*httptest.Server, *mvcc.Store) {
	t.Helper()
	store, err := mvcc.New(mvcc.Config{Clock: fixedClock{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	for i, id := range leases {
		if _, err := store.LeaseGrant(raftpb.Index(i+1), id, 3600); err != nil {
			t.Fatal(err)
		}
	}
	be := NewStoreBackend(store, HeaderInfo{ClusterID: 0x1234, MemberID: 0x5678, RaftTerm: 3}, "3.4.23")
	h, err := New(Config{Backend: be, MaxRequestBytes: maxRequestBytes})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, store
}

// answer is one HTTP response, normalised for comparison.
type answer struct {
	status int
	body   string
}

// identity matches the header fields that differ between two clusters.
var identity = regexp.MustCompile(`"(cluster_id|member_id|raft_term)":"[0-9]+",?`)

// post sends body to url and returns the normalised answer: the header's
// cluster_id, member_id and raft_term removed, nothing else touched.
func post(t testing.TB, c *http.Client, url, body string) answer {
	t.Helper()
	resp, err := c.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		return answer{status: -1, body: "transport error: " + err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{status: -1, body: "read error: " + err.Error()}
	}
	s := identity.ReplaceAllString(string(b), "")
	s = regexp.MustCompile(`,}`).ReplaceAllString(s, "}")
	return answer{status: resp.StatusCode, body: s}
}

// TestDifferentialEtcd sends the same seeded random request sequence to a
// real etcd and to a Handler over a fresh mvcc store, and requires the same
// HTTP status and byte-identical bodies (after removing cluster_id,
// member_id and raft_term). Replay a failure with -v3http.seed=N.
func TestDifferentialEtcd(t *testing.T) {
	etcd := etcdtest.Start(t)
	shelf, _ := newTestServer(t, 0, genLeases...)
	c := &http.Client{Timeout: 30 * time.Second}
	for _, id := range genLeases {
		grant := fmt.Sprintf(`{"ID":"%d","TTL":"3600"}`, id)
		if a := post(t, c, etcd.ClientURL+"/v3/lease/grant", grant); a.status != http.StatusOK {
			t.Fatalf("granting lease %d on etcd: %d %s", id, a.status, a.body)
		}
	}
	n := *diffN
	if testing.Short() {
		n = min(n, 300)
	}
	seed := *diffSeed
	g := newReqGen(seed)
	var history []genReq
	for i := 0; i < n; i++ {
		req := g.next()
		history = append(history, req)
		want := post(t, c, etcd.ClientURL+req.path, req.body)
		got := post(t, c, shelf.URL+req.path, req.body)
		if want != got {
			t.Fatalf("seed %d (%s), request %d of %d differs:\n  %s\netcd:  %d %s\nshelf: %d %s\nprevious requests:\n%s"+
				"replay: go test ./server/v3http -run 'TestDifferentialEtcd$' -v3http.seed=%d -v3http.requests=%d",
				seed, etcd.Version, i, n, req, want.status, want.body, got.status, got.body, lastN(history[:i], 8), seed, i+1)
		}
		if rev, ok := etcdtest.HeaderRevision(want.body); ok && want.status == http.StatusOK {
			g.cur = rev
			if req.path == "/v3/kv/compaction" {
				var cr struct {
					Revision json.RawMessage `json:"revision"`
				}
				_ = json.Unmarshal([]byte(req.body), &cr)
				if v, err := strconv.ParseInt(string(unquoteNumber(cr.Revision)), 10, 64); err == nil {
					g.compacted = v
				}
			}
		}
	}
	t.Logf("seed %d: %d requests, identical answers from %s and shelf (final revision %d, compacted at %d)",
		seed, n, etcd.Version, g.cur, g.compacted)

	// Status values are each member's own (sizes, indexes), so only its
	// shape is compared: the same fields in the same order, the same
	// revision in the header.
	numbers := regexp.MustCompile(`"(dbSize|dbSizeInUse|leader|raftIndex|raftAppliedIndex|raftTerm|version)":"[0-9.]+"`)
	want := post(t, c, etcd.ClientURL+"/v3/maintenance/status", "")
	got := post(t, c, shelf.URL+"/v3/maintenance/status", "")
	want.body = numbers.ReplaceAllString(want.body, `"$1":"N"`)
	got.body = numbers.ReplaceAllString(got.body, `"$1":"N"`)
	if want != got {
		t.Errorf("status shapes differ:\netcd:  %d %s\nshelf: %d %s", want.status, want.body, got.status, got.body)
	}
}

func lastN(h []genReq, n int) string {
	var b bytes.Buffer
	for i := max(0, len(h)-n); i < len(h); i++ {
		fmt.Fprintf(&b, "  %d: %s\n", i, h[i])
	}
	return b.String()
}
