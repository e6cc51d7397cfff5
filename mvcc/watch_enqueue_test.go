package mvcc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Enqueued responses keep their place: behind the Created queued before
// them, in call order, even when the channel is full (they wait in the
// backlog, never dropped); after Close, Enqueue fails with ErrClosed.
func TestEnqueueKeepsOrder(t *testing.T) {
	s := newTestStore(t, Config{WatchChanSize: 1})
	ws, err := s.NewWatchStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Watch(WatchRequest{Key: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 3; i++ {
		if err := ws.Enqueue(WatchResponse{WatchID: -1, Created: true, Canceled: true, CancelReason: "r", Header: ResponseHeader{Revision: i}}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r, err := ws.Recv(ctx); err != nil || !r.Created || r.WatchID != 0 {
		t.Fatalf("first response %+v, %v: want Created for watch 0", r, err)
	}
	for i := int64(1); i <= 3; i++ {
		r, err := ws.Recv(ctx)
		if err != nil || r.Header.Revision != i || r.CancelReason != "r" {
			t.Fatalf("enqueued response %d: got %+v, %v", i, r, err)
		}
	}
	ws.Close()
	if err := ws.Enqueue(WatchResponse{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enqueue after Close: %v, want ErrClosed", err)
	}
}
