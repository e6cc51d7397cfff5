package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunPutsCountsWhatTheServerSaw runs a short load against a fake member
// and checks the result counts exactly the puts the server acknowledged,
// and the failures it refused.
func TestRunPutsCountsWhatTheServerSaw(t *testing.T) {
	var ok, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v3/kv/put" {
			http.NotFound(w, r)
			return
		}
		if (ok.Load()+bad.Load())%5 == 4 {
			bad.Add(1)
			http.Error(w, `{"error":"etcdserver: no leader","code":14}`, http.StatusServiceUnavailable)
			return
		}
		ok.Add(1)
		fmt.Fprint(w, `{"header":{}}`)
	}))
	defer srv.Close()
	res, err := RunPuts(context.Background(), PutLoad{Endpoints: []string{srv.URL}, Clients: 4, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if int64(res.Puts) != ok.Load() || int64(res.Errors) != bad.Load() || res.Puts == 0 || res.Errors == 0 {
		t.Fatalf("result %+v; the server acknowledged %d and refused %d", res, ok.Load(), bad.Load())
	}
	if res.P50 <= 0 || res.P99 < res.P50 {
		t.Fatalf("latencies p50=%v p99=%v", res.P50, res.P99)
	}
	if _, err := RunPuts(context.Background(), PutLoad{Clients: 1, Duration: time.Millisecond}); err == nil {
		t.Fatal("a load without endpoints was accepted")
	}
}

func TestScrapeSumAddsLabelSetsAndIgnoresLongerNames(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Join([]string{
			"# HELP etcd_disk_wal_fsync_duration_seconds x",
			"etcd_disk_wal_fsync_duration_seconds_count 7",
			"etcd_disk_wal_fsync_duration_seconds_count_extra 100",
			`etcd_network_peer_sent_bytes_total{To="a"} 2`,
			`etcd_network_peer_sent_bytes_total{To="b"} 3`,
		}, "\n"))
	}))
	defer srv.Close()
	for metric, want := range map[string]float64{
		"etcd_disk_wal_fsync_duration_seconds_count": 7,
		"etcd_network_peer_sent_bytes_total":         5,
	} {
		if got, err := ScrapeSum(srv.URL, metric); err != nil || got != want {
			t.Fatalf("%s = %v, %v; want %v", metric, got, err, want)
		}
	}
	if _, err := ScrapeSum(srv.URL, "no_such_metric"); err == nil {
		t.Fatal("a missing metric was not reported")
	}
}
