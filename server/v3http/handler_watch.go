package v3http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"sync"

	"github.com/shelf-kv/shelf/mvcc"
)

// DefaultWatchBufferBytes is the default bound of one watch stream's
// buffer of encoded responses (Config.WatchBufferBytes).
const DefaultWatchBufferBytes = 4 << 20

// OverflowReason is the cancel_reason of a watcher canceled because its
// stream's buffer was full; %d is the first revision it did not receive,
// from which the client resumes. Its header revision is that revision
// minus one: every event up to it was delivered.
const OverflowReason = "shelf: watch buffer full; resume from revision %d"

// watchEndpoint serves POST /v3/watch as etcd 3.4's gateway does: the
// body is a stream of WatchRequest JSON values, the response a stream of
// {"result": WatchResponse} lines, each flushed as it is written.
//
// The first request is decoded before anything is sent: if it is not
// valid, the answer is an ordinary error (HTTP 500, code Unknown, the
// decoder's text), as in etcd. After it, the end of the body or a value
// that does not decode only stops reading requests: the watchers keep
// streaming until the client goes away or the member stops (etcd's
// gateway closes its send side and goes on receiving).
//
// Three goroutines serve a stream: this one writes the buffer to the
// client; readRequests turns request values into WatchStream calls; pump
// turns WatchStream responses into encoded lines in the buffer, never
// waiting for the client. The buffer holds at most Config.WatchBufferBytes
// of event responses: an event response that does not fit cancels its
// watcher (OverflowReason), so a slow reader costs bounded memory and
// never slows the member. Control responses (created, canceled) always
// fit: they come from the client's own requests, whose reading pauses
// while the buffer is over its bound, or end a watcher. A per-watcher
// progress notification that does not fit is dropped (the next one, or
// the next event, says the same).
func (h *Handler) watchEndpoint() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				h.cfg.Logger.Error("v3http: panic while serving", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			}
		}()
		body := &streamBody{r: r.Body, max: h.bodyLimit}
		dec := json.NewDecoder(body)
		first, err := nextWatchMsg(dec, body, h.bodyLimit)
		if err != nil && !errors.Is(err, io.EOF) {
			h.cfg.Logger.Debug("v3http: bad first watch request", "err", err)
			h.writeJSON(w, r, http.StatusInternalServerError, &jsonError{Error: err.Error(), Message: err.Error(), Code: CodeUnknown})
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		bs, serr := h.cfg.Backend.Watch(ctx)
		if serr != nil {
			h.writeError(w, r, StatusOf(serr))
			return
		}
		defer bs.Close()
		// Requests are read while the response is written (HTTP/1.1 full
		// duplex); without this net/http would consume the body at the
		// first write.
		_ = http.NewResponseController(w).EnableFullDuplex()
		s := newWatchSession(h, bs)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); s.pump(ctx) }()
		go func() {
			defer wg.Done()
			if err == nil {
				s.readRequests(ctx, dec, body, first)
			}
		}()
		s.write(ctx, w)
		cancel()
		bs.Close()
		wg.Wait()
	})
}

// streamBody caps the bytes of each request value in a streamed body:
// reading fails once more than max bytes were read, and max moves forward
// by the per-request limit after each value.
type streamBody struct {
	r   io.Reader
	n   int64
	max int64
}

func (b *streamBody) Read(p []byte) (int, error) {
	if b.n >= b.max {
		return 0, errors.New("v3http: watch request larger than the request size limit")
	}
	if int64(len(p)) > b.max-b.n {
		p = p[:b.max-b.n]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// nextWatchMsg decodes the next request value and moves the size cap.
func nextWatchMsg(dec *json.Decoder, body *streamBody, limit int64) (watchMsg, error) {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return watchMsg{}, err
	}
	body.max = dec.InputOffset() + limit
	return decodeWatchMsg(raw)
}

// watchSession is the state shared by one stream's three goroutines.
type watchSession struct {
	h     *Handler
	bs    WatchStream
	hdr   func() HeaderInfo
	limit int

	wake  chan struct{} // cap 1: the writer has lines or the pump ended
	space chan struct{} // cap 1: the writer freed buffer space
	mu    struct {
		sync.Mutex
		lines [][]byte
		// bytes counts the lines queued or being written.
		// Invariant: bytes <= max(limit, one response) + the control
		// lines admitted over it.
		bytes int
		// dropping holds watchers canceled for overflow: their
		// responses are dropped up to and including their Canceled.
		dropping map[int64]bool
		ended    bool // pump saw the stream end
	}
}

func newWatchSession(h *Handler, bs WatchStream) *watchSession {
	limit := h.cfg.WatchBufferBytes
	if limit <= 0 {
		limit = DefaultWatchBufferBytes
	}
	s := &watchSession{h: h, bs: bs, hdr: h.cfg.Backend.Header, limit: limit,
		wake: make(chan struct{}, 1), space: make(chan struct{}, 1)}
	s.mu.dropping = make(map[int64]bool)
	return s
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// pump moves responses from the WatchStream into the buffer.
func (s *watchSession) pump(ctx context.Context) {
	defer func() {
		s.mu.Lock()
		s.mu.ended = true
		s.mu.Unlock()
		signal(s.wake)
	}()
	for {
		r, err := s.bs.Recv(ctx)
		if err != nil {
			return
		}
		if cancelID, ok := s.admit(&r); ok {
			// Canceling queues mvcc's own Canceled, dropped by admit;
			// a watcher already gone is fine (its Canceled is queued).
			_ = s.bs.Cancel(cancelID)
		}
		signal(s.wake)
	}
}

// admit queues r's line (or drops it) under the buffer rules, and reports
// a watcher to cancel for overflow.
func (s *watchSession) admit(r *mvcc.WatchResponse) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.dropping[r.WatchID] && r.WatchID != mvcc.ProgressWatchID {
		if r.Canceled {
			delete(s.mu.dropping, r.WatchID)
		}
		return 0, false
	}
	line, err := encodeWatch(r, s.hdr())
	if err != nil {
		s.h.cfg.Logger.Error("v3http: dropping a watch response", "err", err)
		return 0, false
	}
	// An empty buffer takes any one response, however large, so a
	// revision bigger than the bound is still delivered (alone).
	fits := s.mu.bytes+len(line) <= s.limit || s.mu.bytes == 0
	switch {
	case len(r.Events) > 0 && !fits:
		next := r.Events[0].Kv.ModRevision
		s.h.cfg.Logger.Info("v3http: watch buffer full, canceling watcher", "watch_id", r.WatchID, "resume_revision", next)
		s.mu.dropping[r.WatchID] = true
		c := mvcc.WatchResponse{Header: mvcc.ResponseHeader{Revision: next - 1}, WatchID: r.WatchID,
			Canceled: true, CancelReason: fmt.Sprintf(OverflowReason, next)}
		line, err = encodeWatch(&c, s.hdr())
		if err != nil {
			return r.WatchID, true
		}
		s.pushLocked(line)
		return r.WatchID, true
	case !fits && len(r.Events) == 0 && !r.Created && !r.Canceled && r.WatchID != mvcc.ProgressWatchID:
		return 0, false // a per-watcher progress notification
	}
	s.pushLocked(line)
	return 0, false
}

func (s *watchSession) pushLocked(line []byte) {
	s.mu.lines = append(s.mu.lines, line)
	s.mu.bytes += len(line)
}

// readRequests applies the client's requests, starting with first, until
// the body ends or fails. Between requests it waits while the buffer is
// over its bound, so a client that does not read cannot make its own
// control responses pile up.
func (s *watchSession) readRequests(ctx context.Context, dec *json.Decoder, body *streamBody, first watchMsg) {
	s.apply(first)
	for {
		for {
			s.mu.Lock()
			over := s.mu.bytes > s.limit
			s.mu.Unlock()
			if !over {
				break
			}
			select {
			case <-s.space:
			case <-ctx.Done():
				return
			}
		}
		m, err := nextWatchMsg(dec, body, s.h.bodyLimit)
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				s.h.cfg.Logger.Debug("v3http: watch request stream ended", "err", err)
			}
			return
		}
		s.apply(m)
	}
}

// apply performs one request. Errors have no answer in etcd except a
// refused create, which gets {created, canceled, watch_id -1, reason}.
func (s *watchSession) apply(m watchMsg) {
	switch {
	case m.create != nil:
		req := *m.create
		err := lenientWatchRange(&req)
		if err == nil {
			_, err = s.bs.Watch(req)
		}
		if err != nil && !errors.Is(err, mvcc.ErrClosed) {
			_ = s.bs.Enqueue(mvcc.WatchResponse{Header: mvcc.ResponseHeader{Revision: s.rev()},
				WatchID: mvcc.ProgressWatchID, Created: true, Canceled: true, CancelReason: rejectReason(err)})
		}
	case m.cancel != nil:
		_ = s.bs.Cancel(*m.cancel)
	case m.progress:
		_ = s.bs.RequestProgress()
	}
}

// rev is the current revision for a locally built response header.
func (s *watchSession) rev() int64 {
	st, err := s.h.cfg.Backend.Status(context.Background())
	if err != nil {
		return 0
	}
	return st.Revision
}

// write sends buffered lines to the client, flushing after each batch,
// until ctx ends or the stream ended and everything was sent. Headers go
// out with the first line, as in etcd's gateway.
func (s *watchSession) write(ctx context.Context, w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	started := false
	for {
		s.mu.Lock()
		lines, ended := s.mu.lines, s.mu.ended
		s.mu.lines = nil
		s.mu.Unlock()
		if len(lines) == 0 {
			if ended {
				return
			}
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if !started {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		n := 0
		for _, l := range lines {
			if _, err := w.Write(l); err != nil {
				return
			}
			n += len(l)
		}
		if err := rc.Flush(); err != nil {
			return
		}
		s.mu.Lock()
		s.mu.bytes -= n
		s.mu.Unlock()
		signal(s.space)
	}
}
