package mvcc

import (
	"context"
	"fmt"
	"testing"
)

// A consumer that reads nothing while 500 revisions are written falls
// behind (channel of 2), then gets every event exactly once, in order,
// from history; the writer never waited for it.
func TestSlowWatcherCatchesUp(t *testing.T) {
	s := newTestStore(t, Config{WatchChanSize: 2, WatchBatchEvents: 8})
	ws, err := s.NewWatchStream()
	if err != nil {
		t.Fatal(err)
	}
	id, err := ws.Watch(WatchRequest{Key: []byte("k"), RangeEnd: []byte("l"), PrevKv: true})
	if err != nil || id != 0 {
		t.Fatalf("id %d %v", id, err)
	}
	for i := 0; i < 500; i++ {
		s.put(fmt.Sprintf("k%d", i%7), fmt.Sprint(i))
	}
	if err := ws.RequestProgress(); err != nil {
		t.Fatal(err)
	}
	resps := recvUntil(t, ws, func(r WatchResponse) bool { return r.WatchID == ProgressWatchID })
	if !resps[0].Created {
		t.Fatalf("first response %+v", resps[0])
	}
	next := int64(2)
	for _, r := range resps[1 : len(resps)-1] {
		for _, ev := range r.Events {
			if ev.Kv.ModRevision != next {
				t.Fatalf("event at %d, want %d", ev.Kv.ModRevision, next)
			}
			if want := fmt.Sprint(next - 2); string(ev.Kv.Value) != want {
				t.Fatalf("value %q want %q", ev.Kv.Value, want)
			}
			if next >= 9 && ev.PrevKv == nil {
				t.Fatalf("missing prev_kv at %d", next)
			}
			next++
		}
	}
	if next != 502 || resps[len(resps)-1].Header.Revision != 501 {
		t.Fatalf("stopped at %d, progress %+v", next, resps[len(resps)-1])
	}
}

func TestWatchCompactedAndCancel(t *testing.T) {
	s := newTestStore(t, Config{})
	for i := 0; i < 10; i++ {
		s.put("a", fmt.Sprint(i))
	}
	if _, err := s.Compact(s.next(), 6); err != nil {
		t.Fatal(err)
	}
	ws, _ := s.NewWatchStream()
	id, err := ws.Watch(WatchRequest{Key: []byte("a"), StartRevision: 3})
	if err != nil {
		t.Fatal(err)
	}
	resps := recvUntil(t, ws, func(r WatchResponse) bool { return r.Canceled })
	if len(resps) != 2 || resps[1].CompactRevision != 6 || resps[1].WatchID != id {
		t.Fatalf("%+v", resps)
	}
	// From exactly the compact revision is still allowed.
	id, err = ws.Watch(WatchRequest{Key: []byte("a"), StartRevision: 6, WatchID: 42})
	if err != nil || id != 42 {
		t.Fatalf("id %d %v", id, err)
	}
	_, err = ws.Watch(WatchRequest{Key: []byte("a"), WatchID: 42})
	wantErr(t, err, ErrDuplicateWatchID)
	resps = recvUntil(t, ws, func(r WatchResponse) bool { return len(r.Events) > 0 })
	if ev := resps[len(resps)-1].Events[0]; ev.Kv.ModRevision != 6 {
		t.Fatalf("first event %+v", ev.Kv)
	}
	if err := ws.Cancel(42); err != nil {
		t.Fatal(err)
	}
	wantErr(t, ws.Cancel(42), ErrWatcherNotExist)
	recvUntil(t, ws, func(r WatchResponse) bool { return r.Canceled && r.WatchID == 42 })
	_, err = ws.Watch(WatchRequest{Key: []byte("a"), StartRevision: -1})
	wantErr(t, err, ErrNegativeRevision)
	_, err = ws.Watch(WatchRequest{Key: []byte("a"), Filters: []WatchFilter{5}})
	wantErr(t, err, ErrInvalidWatch)
	_, err = ws.Watch(WatchRequest{})
	wantErr(t, err, ErrEmptyKey)
}

func TestProgressNotifyAndTxnInOneResponse(t *testing.T) {
	s := newTestStore(t, Config{})
	ws, _ := s.NewWatchStream()
	quiet, _ := ws.Watch(WatchRequest{Key: []byte("q"), ProgressNotify: true})
	busy, _ := ws.Watch(WatchRequest{Key: []byte{0}, RangeEnd: []byte{0}, ProgressNotify: true})
	recvUntil(t, ws, func(r WatchResponse) bool { return r.Created && r.WatchID == busy })
	ops := []*RequestOp{}
	for _, k := range []string{"a", "b", "c"} {
		ops = append(ops, &RequestOp{RequestPut: &PutRequest{Key: []byte(k)}})
	}
	if _, err := s.Txn(s.next(), &TxnRequest{Success: ops}); err != nil {
		t.Fatal(err)
	}
	r := recvUntil(t, ws, func(r WatchResponse) bool { return len(r.Events) > 0 })
	if got := r[len(r)-1]; got.WatchID != busy || len(got.Events) != 3 {
		t.Fatalf("txn split over responses: %+v", got)
	}
	// Only the watcher that got nothing since the last tick is notified.
	s.ProgressNotify()
	r = recvUntil(t, ws, func(WatchResponse) bool { return true })
	if r[0].WatchID != quiet || r[0].Header.Revision != 2 || len(r[0].Events) != 0 {
		t.Fatalf("progress %+v", r[0])
	}
	// Now both are quiet; the order between watchers is not specified.
	s.ProgressNotify()
	n := 0
	r = recvUntil(t, ws, func(WatchResponse) bool { n++; return n == 2 })
	if r[0].WatchID+r[1].WatchID != quiet+busy || r[0].WatchID == r[1].WatchID || len(r[0].Events)+len(r[1].Events) != 0 {
		t.Fatalf("second tick %+v", r)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	s := newTestStore(t, Config{})
	ws, _ := s.NewWatchStream()
	if _, err := ws.Watch(WatchRequest{Key: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- s.WaitCompaction(context.Background(), 100) }()
	s.Close()
	s.Close()
	if err := <-waitErr; err != ErrClosed {
		t.Fatalf("WaitCompaction across Close: %v", err)
	}
	recvUntil(t, ws, func(WatchResponse) bool { return true }) // the buffered Created
	_, ok, err := ws.TryRecv()
	if ok || err != ErrClosed {
		t.Fatalf("after close: %v %v", ok, err)
	}
	_, err = s.Put(s.next(), &PutRequest{Key: []byte("a")})
	wantErr(t, err, ErrClosed)
	_, err = s.NewWatchStream()
	wantErr(t, err, ErrClosed)
}
