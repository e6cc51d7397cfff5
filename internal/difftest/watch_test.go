package difftest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/internal/etcdtest"
)

// Watches from old revisions. A watch op is POST /v3/watch with one
// create_request; the stream is read until the watch has delivered every
// event up to the revision current when it was opened, and the answer is
// what it delivered.
//
// etcd's stream never says "caught up", so every watch op asks for
// progress_notify: a progress notification (a message with neither events
// nor created/canceled) is only sent to a watcher that has caught up, and
// carries the revision it has caught up to. etcd runs with a short
// --experimental-watch-progress-notify-interval (progressInterval) so one
// comes quickly; shelf sends them at its own interval.

// progressInterval is etcd's progress notification interval in these tests.
const progressInterval = 20 * time.Millisecond

// watchTimeout bounds how long one watch op waits for the progress
// notification that ends it; missing it is reported as part of the answer.
const watchTimeout = 10 * time.Second

// watchBody returns a create_request from a start revision near the
// boundaries: compacted (the watch is canceled with compact_revision),
// any readable past one, the current one, 0 (now), the future.
//
// Never exactly the compact revision: a watch from there gets the delete
// events of that revision from shelf and not from etcd once its backend
// compaction ran (a deliberate difference, mvcc/doc.go).
func (g *gen) watchBody() string {
	k := g.key()
	f := []string{g.bytesField("key", k)}
	if g.chance(0.1) {
		f = []string{g.bytesField("key", "\x00"), g.bytesField("range_end", "\x00")}
	} else {
		f = append(f, g.rangeEnd(k, true)...)
	}
	var rev int64
	switch g.rnd.IntN(8) {
	case 0:
		rev = max(g.compacted-1, 1) // compacted (once anything is)
	case 1:
		rev = 0
	case 2:
		rev = g.cur + 1 + g.rnd.Int64N(2) // future: no events yet
	case 3:
		rev = g.cur
	default:
		lo := g.compacted + 1
		rev = lo + g.rnd.Int64N(max(g.cur-lo+1, 1))
	}
	if rev == g.compacted && rev > 0 {
		rev++
	}
	if rev != 0 || g.chance(0.5) {
		f = append(f, g.field("start_revision", g.num(rev)))
	}
	if g.chance(0.4) {
		f = append(f, g.field("prev_kv", "true"))
	}
	if g.chance(0.2) {
		f = append(f, g.field("filters", g.pick(`["NOPUT"]`, `["NODELETE"]`, `["NOPUT","NODELETE"]`, `[]`)))
	}
	f = append(f, g.field("progress_notify", "true"))
	return `{"create_request":` + g.obj(f) + `}`
}

// watchOn runs a watch op against base (a client URL): it reads the
// current revision there with a linearizable range (so a member has
// applied everything acknowledged before), opens the watch, and reads
// until a progress notification at that revision or later, a cancel, an
// error, or watchTimeout. The answer's body is the stream, normalised:
//
//   - progress notifications are left out (they end the read; how many
//     come before depends on timing);
//   - the events of all event messages are joined into one list, in
//     order, without the messages' headers (etcd batches catch-up events
//     into messages by its own timing, and stamps each with the revision
//     it had when sending);
//
// everything else (the created message with its header revision, every
// event with kv and prev_kv, the cancel message with compact_revision, a
// gateway error) is kept as sent.
func watchOn(c *http.Client, base, body string) answer {
	cur := post(c, base+"/v3/kv/range", `{"key":"AA==","count_only":true}`)
	until, ok := etcdtest.HeaderRevision(cur.body)
	if cur.status != http.StatusOK || !ok {
		return answer{status: -1, body: "reading the current revision before the watch: " + cur.String()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), watchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v3/watch", strings.NewReader(body))
	if err != nil {
		return answer{status: -1, body: err.Error()}
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{status: -1, body: "transport error: " + err.Error()}
	}
	defer resp.Body.Close()
	var out []any
	var events []any
	flush := func() {
		if events != nil {
			out = append(out, map[string]any{"events": events})
			events = nil
		}
	}
	status := resp.StatusCode
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for {
		if !sc.Scan() {
			flush()
			why := "the stream ended"
			if err := sc.Err(); err != nil {
				why = "the stream failed: " + err.Error()
			}
			out = append(out, fmt.Sprintf("%s before a progress notification at revision %d", why, until))
			status = -1 // no proper end: not an answer
			break
		}
		var line map[string]any
		d := json.NewDecoder(strings.NewReader(sc.Text()))
		d.UseNumber()
		if err := d.Decode(&line); err != nil {
			out = append(out, "not JSON: "+sc.Text())
			continue
		}
		msg, ok := line["result"].(map[string]any)
		if !ok { // {"error":...}: the gateway's end of the stream
			flush()
			out = append(out, line)
			break
		}
		if evs, ok := msg["events"].([]any); ok {
			events = append(events, evs...)
			continue
		}
		_, created := msg["created"]
		_, canceled := msg["canceled"]
		if !created && !canceled {
			rev, _ := headerRevOf(msg)
			if rev >= until {
				flush()
				break // caught up: done
			}
			continue
		}
		flush()
		out = append(out, msg)
		if canceled {
			break
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return answer{status: -1, body: err.Error()}
	}
	return answer{status: status, body: string(b)}
}

// headerRevOf reads header.revision of a decoded message.
func headerRevOf(msg map[string]any) (int64, bool) {
	h, ok := msg["header"].(map[string]any)
	if !ok {
		return 0, false
	}
	n, err := jsonInt(h["revision"])
	return n, err == nil
}

// TestWatchOnEtcd checks watchOn against etcd alone: a watch from an old
// revision delivers the history up to now and ends; a watch from a
// compacted revision ends with the cancel message.
func TestWatchOnEtcd(t *testing.T) {
	e := startEtcd(t)
	for _, v := range []string{"djE=", "djI=", "djM="} {
		if a := e.do(op{Path: "/v3/kv/put", Body: `{"key":"YQ==","value":"` + v + `"}`}); a.status != 200 {
			t.Fatal(a)
		}
	}
	a := e.do(op{Path: "/v3/watch", Body: `{"create_request":{"key":"YQ==","start_revision":"3","prev_kv":true,"progress_notify":true}}`})
	var msgs []map[string]any
	if err := json.Unmarshal([]byte(a.body), &msgs); err != nil || a.status != 200 || len(msgs) != 2 {
		t.Fatalf("watch from 3: %s", a)
	}
	if msgs[0]["created"] != true {
		t.Errorf("first message %v, want created", msgs[0])
	}
	if evs, _ := msgs[1]["events"].([]any); len(evs) != 2 || !strings.Contains(a.body, `"prev_kv"`) {
		t.Errorf("events %v, want the puts at 3 and 4 with prev_kv", msgs[1])
	}
	if a := e.do(op{Path: "/v3/kv/compaction", Body: `{"revision":"3"}`}); a.status != 200 {
		t.Fatal(a)
	}
	a = e.do(op{Path: "/v3/watch", Body: `{"create_request":{"key":"YQ==","start_revision":"2","progress_notify":true}}`})
	if !strings.Contains(a.body, `"compact_revision":"3"`) || !strings.Contains(a.body, `"canceled":true`) {
		t.Errorf("watch from a compacted revision: %s", a)
	}
}
