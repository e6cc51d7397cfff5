package client

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// EventType is the kind of a watch event (etcd's mvccpb.Event_EventType).
type EventType int32

// Event types, numbered as in etcd.
const (
	EventPut    EventType = 0
	EventDelete EventType = 1
)

// Event is one change of one key. A delete's Kv has only Key and
// ModRevision. PrevKv is set only WithPrevKV, and only when the key
// existed before the change.
type Event struct {
	Type   EventType
	Kv     *KeyValue
	PrevKv *KeyValue
}

// WatchResponse is one message of a watch: events (all the events of a
// revision are in one response, revisions in order, none missing or
// repeated), or a notification (Created, a progress notification, the
// final Canceled).
type WatchResponse struct {
	Header Header
	Events []*Event
	// CompactRevision is set when the watch ended because the revision
	// it needed was compacted; Err is then ErrCompacted.
	CompactRevision int64
	Canceled        bool
	Created         bool
	CancelReason    string

	err error
}

// Err is why the watch ended: ErrCompacted (CompactRevision > 0), the
// member's refusal of the watch, or an invalid option; nil otherwise.
func (r WatchResponse) Err() error { return r.err }

// IsProgressNotify reports whether r is a progress notification: every
// event up to Header.Revision has been delivered.
func (r WatchResponse) IsProgressNotify() bool {
	return len(r.Events) == 0 && !r.Canceled && !r.Created && r.CompactRevision == 0 && r.Header.Revision != 0
}

// WatchChan carries a watch's responses; it is closed when the watch ends.
type WatchChan <-chan WatchResponse

// WithProgressNotify asks for periodic progress notifications while the
// watch is quiet (the member's progress notify interval, etcd's 10 min
// by default).
func WithProgressNotify() OpOption {
	return func(op *Op) {
		if only(op, "WithProgressNotify", opWatch) {
			op.progressNotify = true
		}
	}
}

// WithFilterPut leaves put events out of a watch.
func WithFilterPut() OpOption {
	return func(op *Op) {
		if only(op, "WithFilterPut", opWatch) {
			op.filterPut = true
		}
	}
}

// WithFilterDelete leaves delete events out of a watch.
func WithFilterDelete() OpOption {
	return func(op *Op) {
		if only(op, "WithFilterDelete", opWatch) {
			op.filterDelete = true
		}
	}
}

// watchBufferFullReason starts the cancel reason a shelf member sends
// when a watcher's stream buffer overflowed; the watch resumes from
// header revision + 1.
const watchBufferFullReason = "shelf: watch buffer full"

// Watch watches key (one key, or a range WithPrefix / WithRange /
// WithFromKey) from revision WithRev (default: the next one), with
// WithPrevKV, WithProgressNotify, WithFilterPut and WithFilterDelete.
//
// The first response is Created. Events follow in revision order, each
// revision whole in one response, none missing or repeated. When the
// stream to a member fails (connection refused or cut, the member
// stopped, the member canceled the watch because this client read too
// slowly), the watch is re-created on the next endpoint from the
// revision after the last one seen, and the second Created is not
// delivered: the caller sees one uninterrupted watch. Between rounds over
// every endpoint the client pauses as in other calls (doc.go).
//
// The channel is closed when ctx ends (the caller must drain or abandon
// it then) or the watch ends: the last response then has Canceled set and
// Err() says why (ErrCompacted with CompactRevision set when the next
// revision was compacted: re-read and watch again from
// CompactRevision).
//
// Two more failures make the watch move on the same way. A member that
// has had no leader for longer than an election timeout ends the stream
// with "etcdserver: no leader" (its store no longer moves). A member
// that accepts the connection and then stalls (stopped, partitioned) is
// found by a keepalive: after Config.WatchKeepalive without a line the
// client sends a progress request, and if nothing arrives within
// AttemptTimeout after it, the endpoint is abandoned. The answers to
// those progress requests are delivered only WithProgressNotify (as
// progress notifications: every event up to their revision was
// delivered). None of these failures reaches the caller: the watch goes
// on trying the endpoints until ctx ends.
//
// etcd 3.4's gateway answers only once the request body is complete: on
// such a member the watch ends its body when no answer came within
// min(WatchKeepalive, AttemptTimeout), and has no keepalive afterwards
// (watch_attempt.go).
func (c *Client) Watch(ctx context.Context, key string, opts ...OpOption) WatchChan {
	out := make(chan WatchResponse, 16)
	op := newOp(opWatch, key, nil, opts)
	go c.watchLoop(ctx, op, out)
	return out
}

// watchState is one Watch across its attempts. Owned by watchLoop.
type watchState struct {
	op  Op
	out chan<- WatchResponse
	// next is the first revision not yet delivered; 0 until known (a
	// watch from "now" that never got its Created).
	// Invariant: every event below next was delivered, none at or above.
	next    int64
	created bool // the caller got a Created
	// halfDuplex holds the endpoints found to answer only once the
	// request body is complete (etcd 3.4's gateway; watch_attempt.go).
	halfDuplex map[string]bool
}

// watchLoop runs attempts on one endpoint after the other until the watch
// ends or ctx does, then closes out.
func (c *Client) watchLoop(ctx context.Context, op Op, out chan<- WatchResponse) {
	defer close(out)
	st := &watchState{op: op, out: out, next: op.rev}
	if op.err != nil {
		st.deliver(ctx, WatchResponse{Canceled: true, CancelReason: op.err.Error(), err: op.err})
		return
	}
	if c.isClosed() {
		st.deliver(ctx, WatchResponse{Canceled: true, CancelReason: ErrClosed.Error(), err: ErrClosed})
		return
	}
	n := len(c.endpoints)
	idx := c.pinned()
	failed := 0 // consecutive failed attempts
	for ctx.Err() == nil {
		ep := c.endpoints[idx]
		progressed, final, err := c.watchAttempt(ctx, ep, st)
		if final || ctx.Err() != nil {
			return
		}
		c.log.Debug("client: watch stream ended; resuming on the next endpoint", "endpoint", ep, "next_revision", st.next, "err", err)
		c.skip(idx)
		idx = (idx + 1) % n
		if progressed {
			failed = 0
		}
		failed++
		if failed%n == 0 {
			t := time.NewTimer(c.backoff(failed/n - 1))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// deliver hands r to the caller unless ctx ended first.
func (st *watchState) deliver(ctx context.Context, r WatchResponse) bool {
	select {
	case st.out <- r:
		return true
	case <-ctx.Done():
		return false
	}
}

// request is the create request resuming at st.next.
func (st *watchState) request() *wireWatchRequest {
	op := &st.op
	cr := &wireWatchCreate{Key: op.key, RangeEnd: op.end, StartRevision: i64(st.next),
		ProgressNotify: op.progressNotify, PrevKv: op.prevKV}
	if op.filterPut {
		cr.Filters = append(cr.Filters, "NOPUT")
	}
	if op.filterDelete {
		cr.Filters = append(cr.Filters, "NODELETE")
	}
	return &wireWatchRequest{CreateRequest: cr}
}

// typedWatch is a response plus whether the caller should see it.
type typedWatch struct {
	WatchResponse
	deliverable bool
}

// handle updates st for a response and says whether the watch is over
// (done: deliver r and stop) or must resume elsewhere (resume: r is not
// delivered).
func (st *watchState) handle(r *typedWatch) (done, resume bool) {
	r.deliverable = true
	switch {
	case r.Created && r.Canceled:
		// The member refused the watch (a bad range, say).
		r.err = fmt.Errorf("%w: watch refused: %s", ErrInvalidOp, r.CancelReason)
		return true, false
	case r.Canceled && r.CompactRevision > 0:
		r.err = ErrCompacted
		return true, false
	case r.Canceled && strings.HasPrefix(r.CancelReason, "shelf: "):
		// A shelf member gave up on this stream (buffer full): every
		// event up to the header revision was delivered.
		st.next = max(st.next, r.Header.Revision+1)
		return false, true
	case r.Canceled:
		r.err = fmt.Errorf("client: watch canceled by the member: %q", r.CancelReason)
		return true, false
	case r.Created:
		if st.next == 0 {
			st.next = r.Header.Revision + 1
		}
		if st.created {
			r.deliverable = false
		}
		st.created = true
	case len(r.Events) > 0:
		st.next = r.Events[len(r.Events)-1].Kv.ModRevision + 1
	default: // progress notification
		st.next = max(st.next, r.Header.Revision+1)
		// Answers to the keepalive's progress requests (watch_attempt.go)
		// look the same: only a caller who asked for progress sees them.
		r.deliverable = st.op.progressNotify
	}
	return false, false
}

// Wire shapes of /v3/watch.

type wireWatchRequest struct {
	CreateRequest *wireWatchCreate `json:"create_request,omitempty"`
}

type wireWatchCreate struct {
	Key            []byte   `json:"key,omitempty"`
	RangeEnd       []byte   `json:"range_end,omitempty"`
	StartRevision  i64      `json:"start_revision,omitempty"`
	ProgressNotify bool     `json:"progress_notify,omitempty"`
	Filters        []string `json:"filters,omitempty"`
	PrevKv         bool     `json:"prev_kv,omitempty"`
}

// wireWatchChunk is one line of the stream: a result or the gateway's
// stream error.
type wireWatchChunk struct {
	Result *wireWatchResponse `json:"result"`
	Error  *wireStreamError   `json:"error"`
}

type wireWatchResponse struct {
	Header          *wireHeader  `json:"header"`
	WatchID         i64          `json:"watch_id"`
	Created         bool         `json:"created"`
	Canceled        bool         `json:"canceled"`
	CompactRevision i64          `json:"compact_revision"`
	CancelReason    string       `json:"cancel_reason"`
	Events          []*wireEvent `json:"events"`
}

type wireEvent struct {
	Type   string  `json:"type"`
	Kv     *wireKV `json:"kv"`
	PrevKv *wireKV `json:"prev_kv"`
}

func (r *wireWatchResponse) typed() *typedWatch {
	out := &typedWatch{WatchResponse: WatchResponse{Header: r.Header.typed(), CompactRevision: int64(r.CompactRevision),
		Canceled: r.Canceled, Created: r.Created, CancelReason: r.CancelReason}}
	for _, ev := range r.Events {
		if ev == nil || ev.Kv == nil {
			continue
		}
		e := &Event{Kv: ev.Kv.typed(), PrevKv: ev.PrevKv.typed()}
		if ev.Type == "DELETE" || ev.Type == "1" {
			e.Type = EventDelete
		}
		out.Events = append(out.Events, e)
	}
	return out
}
