package client

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// histOp is one change applied at a revision, as the writer saw it.
type histOp struct {
	typ   EventType
	key   string
	value string
}

// history records every acknowledged write by revision.
type history struct {
	mu   sync.Mutex
	revs map[int64][]histOp
	max  int64
}

func newHistory() *history { return &history{revs: make(map[int64][]histOp)} }

func (h *history) add(rev int64, ops ...histOp) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.revs[rev] = append(h.revs[rev], ops...)
	h.max = max(h.max, rev)
}

func (h *history) last() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.max
}

// writers runs n concurrent writers under prefix until each made count
// changes: single puts, 3-put txns (three events in one revision) and
// deletes of their own earlier keys. Every acknowledged change is added
// to h; a failed write fails the test. It returns when all are done.
func writers(t *testing.T, c *Client, h *history, prefix string, n, count int, valueSize int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			pad := strings.Repeat("v", valueSize)
			var live []string
			for i := 0; i < count; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				key := fmt.Sprintf("%s%d/%05d", prefix, w, i)
				val := fmt.Sprintf("%d-%d%s", w, i, pad)
				switch p := rng.IntN(10); {
				case p < 2 && len(live) > 0:
					j := rng.IntN(len(live))
					del := live[j]
					live = append(live[:j], live[j+1:]...)
					resp, err := c.Delete(ctx, del)
					if err != nil || resp.Deleted != 1 {
						t.Errorf("writer %d: delete %s: %v %+v", w, del, err, resp)
						cancel()
						return
					}
					h.add(resp.Header.Revision, histOp{typ: EventDelete, key: del})
				case p < 4:
					ops := []histOp{{EventPut, key + "a", val}, {EventPut, key + "b", val}, {EventPut, key + "c", val}}
					resp, err := c.Txn(ctx).Then(OpPut(ops[0].key, val), OpPut(ops[1].key, val), OpPut(ops[2].key, val)).Commit()
					if err != nil {
						t.Errorf("writer %d: txn: %v", w, err)
						cancel()
						return
					}
					h.add(resp.Header.Revision, ops...)
					live = append(live, ops[0].key, ops[1].key, ops[2].key)
				default:
					resp, err := c.Put(ctx, key, val)
					if err != nil {
						t.Errorf("writer %d: put %s: %v", w, key, err)
						cancel()
						return
					}
					h.add(resp.Header.Revision, histOp{EventPut, key, val})
					live = append(live, key)
				}
				cancel()
			}
		}()
	}
	wg.Wait()
}

// collect reads ch until it has seen every event of h under prefix from
// revision from up to h.last() (h must be complete), failing after 30 s
// or if the channel closes first.
func collect(t *testing.T, ch WatchChan, h *history, prefix string, from int64) []WatchResponse {
	t.Helper()
	want := 0
	h.mu.Lock()
	last := h.max
	for rev, ops := range h.revs {
		if rev >= from {
			for _, op := range ops {
				if strings.HasPrefix(op.key, prefix) {
					want++
				}
			}
		}
	}
	h.mu.Unlock()
	var out []WatchResponse
	got := 0
	deadline := time.After(30 * time.Second)
	for got < want {
		select {
		case r, ok := <-ch:
			if !ok {
				t.Fatalf("watch channel closed after %d of %d events (last response %+v)", got, want, lastOf(out))
			}
			if r.Canceled {
				t.Fatalf("watch canceled after %d of %d events: %+v (err %v)", got, want, r, r.Err())
			}
			out = append(out, r)
			got += len(r.Events)
		case <-deadline:
			t.Fatalf("only %d of %d events up to revision %d within 30s", got, want, last)
		}
	}
	return out
}

func lastOf(rs []WatchResponse) any {
	if len(rs) == 0 {
		return nil
	}
	return rs[len(rs)-1]
}

// checkHistory requires the events of resps to be exactly h's changes
// under prefix from revision from on: in revision order and, within a
// revision, in the order written; no revision missing, none repeated;
// each revision in a single response; exactly one Created, first.
func checkHistory(t *testing.T, resps []WatchResponse, h *history, prefix string, from int64) {
	t.Helper()
	type ev struct {
		rev int64
		op  histOp
	}
	var want []ev
	h.mu.Lock()
	revs := make([]int64, 0, len(h.revs))
	for rev := range h.revs {
		if rev >= from {
			revs = append(revs, rev)
		}
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] < revs[j] })
	for _, rev := range revs {
		for _, op := range h.revs[rev] {
			if strings.HasPrefix(op.key, prefix) {
				want = append(want, ev{rev, op})
			}
		}
	}
	h.mu.Unlock()
	created := 0
	var got []ev
	seen := map[int64]int{} // revision -> index of the response carrying it
	for i, r := range resps {
		if r.Created {
			created++
			if i != 0 {
				t.Errorf("response %d is a Created: only the first may be", i)
			}
		}
		for _, e := range r.Events {
			rev := e.Kv.ModRevision
			if j, ok := seen[rev]; ok && j != i {
				t.Errorf("revision %d split across responses %d and %d", rev, j, i)
			}
			seen[rev] = i
			got = append(got, ev{rev, histOp{e.Type, string(e.Kv.Key), string(e.Kv.Value)}})
		}
	}
	if created != 1 {
		t.Errorf("%d Created responses, want exactly 1", created)
	}
	for i := 0; i < max(len(want), len(got)); i++ {
		switch {
		case i >= len(got):
			t.Fatalf("event %d missing: want %+v (got %d events, want %d)", i, want[i], len(got), len(want))
		case i >= len(want):
			t.Fatalf("extra event %d: %+v", i, got[i])
		case got[i] != want[i]:
			t.Fatalf("event %d: got %+v, want %+v (gap, duplicate or reordering)", i, got[i], want[i])
		}
	}
}
