package v3http

import (
	"context"

	"github.com/shelf-kv/shelf/mvcc"
)

// WatchStream is one POST /v3/watch stream as the handler sees it: the
// member's (or StoreBackend's) side of etcd's bidirectional Watch RPC. It
// has the shape of mvcc.WatchStream, which implements it directly apart
// from the negative start revision rule below.
//
// Ordering: every response a call produces (Created for Watch, Canceled for
// Cancel, what Enqueue is given) is delivered by Recv in the order of the
// calls, and never before the responses already queued when the call was
// made; a watcher's events come in revision order, each revision whole in
// one response, without gaps or duplicates; a progress response is never
// delivered before an event it covers.
//
// Concurrency: Watch, Cancel, RequestProgress and Enqueue may be called
// from one goroutine while another calls Recv. Close may be called from
// any goroutine, more than once.
//
// Failure policy: once the stream ends (Close, or the member stopping),
// every method returns an error and Recv returns one forever; the handler
// then ends the HTTP response. When Recv's error is neither mvcc.ErrClosed
// nor ctx's (the member ended the stream, e.g. ErrNoLeader), the response
// ends with the gateway's error line for it (StatusOf); a Backend.Watch
// error is answered the same way, with the code's HTTP status.
type WatchStream interface {
	// Watch creates a watcher and returns its ID (req.WatchID, or the
	// lowest free ID when it is 0). A negative req.StartRevision follows
	// etcd 3.4 (LenientWatchStart). A refused request (duplicate ID,
	// invalid range) returns an error and queues nothing.
	Watch(req mvcc.WatchRequest) (int64, error)
	// Cancel removes a watcher; its last response is {Canceled}. An
	// unknown ID is an error and queues nothing.
	Cancel(id int64) error
	// RequestProgress asks for one stream-wide progress response
	// (WatchID -1) once every watcher has caught up.
	RequestProgress() error
	// Enqueue queues r behind everything queued so far (see mvcc's).
	Enqueue(r mvcc.WatchResponse) error
	// Recv returns the next response, or an error once the stream ended
	// or ctx is done.
	Recv(ctx context.Context) (mvcc.WatchResponse, error)
	// Close ends the stream and releases its watchers.
	Close()
}

var _ WatchStream = (*storeWatchStream)(nil)

// LenientWatchStart maps etcd 3.4's answer to a negative start revision
// onto mvcc (which refuses negative revisions). etcd keeps its compact
// revision at -1 until the first compaction and cancels a watcher as
// compacted when its start is below it; a start of -1 before any
// compaction watches from the next revision. So: start >= 0 is kept; a
// negative start after a compaction at compactRev >= 2 becomes 1, which
// mvcc cancels at once with CompactRevision = compactRev, as etcd does;
// any other negative start becomes 0 (the next revision). The two cases
// that differ from etcd are documented in doc.go.
func LenientWatchStart(start, compactRev int64) int64 {
	switch {
	case start >= 0:
		return start
	case compactRev >= 2:
		return 1
	}
	return 0
}

// storeWatchStream is StoreBackend's WatchStream: an mvcc.WatchStream
// with the negative start rule.
type storeWatchStream struct {
	*mvcc.WatchStream
	store *mvcc.Store
}

// Watch applies LenientWatchStart, then creates the watcher.
func (s *storeWatchStream) Watch(req mvcc.WatchRequest) (int64, error) {
	req.StartRevision = LenientWatchStart(req.StartRevision, int64(s.store.Status().CompactRevision))
	return s.WatchStream.Watch(req)
}

// Watch opens a stream on the store. Progress notifications are sent
// only when the owner of the store calls its ProgressNotify.
func (b *StoreBackend) Watch(ctx context.Context) (WatchStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ws, err := b.store.NewWatchStream()
	if err != nil {
		return nil, err
	}
	return &storeWatchStream{WatchStream: ws, store: b.store}, nil
}
