package v3http

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/shelf-kv/shelf/internal/etcdtest"
)

// TestConcurrentWrites sends puts from many goroutines at once (the
// Backend contract says every method may be called concurrently) and checks
// that each got its own revision and that all of them are readable.
func TestConcurrentWrites(t *testing.T) {
	srv, _ := newTestServer(t, 0)
	const workers, each = 8, 25
	revs := make(chan int64, workers*each)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				body := fmt.Sprintf(`{"key":%q,"value":"eA=="}`, b64(fmt.Sprintf("k/%d/%d", w, i)))
				resp, err := http.Post(srv.URL+"/v3/kv/put", "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				out, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				rev, ok := etcdtest.HeaderRevision(string(out))
				if err != nil || resp.StatusCode != 200 || !ok {
					t.Errorf("put %s: %d %s %v", body, resp.StatusCode, out, err)
					return
				}
				revs <- rev
			}
		}()
	}
	wg.Wait()
	close(revs)
	seen := map[int64]bool{}
	for r := range revs {
		if seen[r] {
			t.Errorf("revision %d returned twice", r)
		}
		seen[r] = true
	}
	for r := int64(2); r < 2+workers*each; r++ {
		if !seen[r] {
			t.Errorf("revision %d never returned", r)
		}
	}
	status, body := call(t, srv.URL, "/v3/kv/range", `{"key":"`+b64("k/")+`","range_end":"`+b64("k0")+`","count_only":true}`)
	if want := fmt.Sprintf(`{%s,"count":"%d"}`, hdr(1+workers*each), workers*each); status != 200 || body != want {
		t.Errorf("count after concurrent puts: %d %s, want %s", status, body, want)
	}
}
