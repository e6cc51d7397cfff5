package mvcc

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Consumers on their own goroutines, some slow, while one writer writes
// (and the compactor sweeps an old compaction): each watcher gets every
// revision exactly once and in order. Compaction cancels are covered by
// TestDifferential, whose consumer speed is deterministic.
func TestWatchConcurrentConsumers(t *testing.T) {
	writes := 3000
	if testing.Short() {
		writes = 800
	}
	s := newTestStore(t, Config{WatchChanSize: 3, WatchBatchEvents: 5, CompactionBatch: 2})
	s.put("old", "1")
	s.put("old", "2")
	if _, err := s.Compact(s.next(), 2); err != nil {
		t.Fatal(err)
	}
	base := s.Rev() // watchers start after the compacted part
	const consumers = 6
	type result struct {
		revs      []int64
		compacted int64
		err       error
	}
	results := make([]result, consumers)
	var wg sync.WaitGroup
	ready := make(chan struct{}, consumers)
	for c := 0; c < consumers; c++ {
		ws, err := s.NewWatchStream()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ws.Watch(WatchRequest{Key: []byte{0}, RangeEnd: []byte{0}, StartRevision: base + 1}); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func(c int, ws *WatchStream) {
			defer wg.Done()
			defer ws.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			res := &results[c]
			ready <- struct{}{}
			for n := 0; ; n++ {
				if c%2 == 1 && n%50 == 0 {
					// A slow consumer: give the writer a head start.
					for i := 0; i < 200; i++ {
						runtimeYield()
					}
				}
				r, err := ws.Recv(ctx)
				if err != nil {
					res.err = err
					return
				}
				if r.Canceled {
					res.compacted = r.CompactRevision
					return
				}
				for _, ev := range r.Events {
					res.revs = append(res.revs, ev.Kv.ModRevision)
				}
				if len(res.revs) > 0 && res.revs[len(res.revs)-1] == base+int64(writes) {
					return
				}
			}
		}(c, ws)
	}
	for c := 0; c < consumers; c++ {
		<-ready
	}
	for i := 0; i < writes; i++ {
		s.put(fmt.Sprintf("k%d", i%13), fmt.Sprint(i))
	}
	wg.Wait()
	for c, res := range results {
		if res.err != nil || res.compacted != 0 {
			t.Fatalf("consumer %d: %v (compacted at %d)", c, res.err, res.compacted)
		}
		if len(res.revs) != writes {
			t.Fatalf("consumer %d: %d events, want %d", c, len(res.revs), writes)
		}
		for i, rev := range res.revs {
			if rev != base+1+int64(i) {
				t.Fatalf("consumer %d: event %d at revision %d, want %d", c, i, rev, base+1+int64(i))
			}
		}
	}
}
