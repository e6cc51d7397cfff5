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
	"sync/atomic"
	"time"

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
// turns WatchStream responses into encoded lines in the buffer. The buffer
// holds at most Config.WatchBufferBytes (or one revision, when a single
// revision is larger), so a slow reader costs the member bounded memory:
//
//   - an event response that fits is queued;
//   - one that does not fit while earlier events of the same watcher are
//     still queued means the client is behind on it: the revisions that
//     fit are queued, then the watcher is canceled with OverflowReason
//     ("resume from revision N", header revision N-1: every event below N
//     was delivered) and its later responses are dropped;
//   - one that does not fit while the watcher has nothing queued (a large
//     catch-up) is queued a revision at a time as the writer makes room;
//     the pump waits meanwhile, and the mvcc stream behind it makes its
//     watchers catch up from history instead of holding events;
//   - control responses (created, canceled, progress requests) are always
//     queued: they end a watcher or answer the client's own requests,
//     whose reading pauses while the buffer is over its bound;
//   - a per-watcher progress notification that does not fit is dropped
//     (the next one, or the next event, says the same).
//
// etcd instead keeps a slow watcher as a "victim" and buffers its events;
// the bounded buffer is a deliberate difference (README, doc.go).
func (h *Handler) watchEndpoint() http.Handler { return h.watchHandler(nil) }

// watchHandler is watchEndpoint; when peak is not nil it records the
// largest number of bytes any stream's buffer held (for tests).
func (h *Handler) watchHandler(peak *atomic.Int64) http.Handler {
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
			// As grpc-gateway does when a stream fails before its first
			// message: the code's HTTP status and the error line.
			st := StatusOf(serr)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(st.Code.HTTPStatus())
			h.writeChunk(w, http.NewResponseController(w), streamError(st))
			return
		}
		defer bs.Close()
		// Requests are read while the response is written (HTTP/1.1 full
		// duplex); without this net/http would consume the body at the
		// first write.
		_ = http.NewResponseController(w).EnableFullDuplex()
		s := newWatchSession(h, bs)
		s.peak = peak
		var wg sync.WaitGroup
		var bodyRead atomic.Bool // the body was read to its end
		wg.Add(2)
		go func() { defer wg.Done(); s.pump(ctx) }()
		go func() {
			defer wg.Done()
			if err == nil {
				s.readRequests(ctx, dec, body, first)
			}
			// Read the body to its end, discarding it: net/http notices a
			// client going away (and cancels ctx) only once the body is
			// consumed.
			if _, err := io.Copy(io.Discard, r.Body); err == nil {
				bodyRead.Store(true)
			}
		}()
		s.write(ctx, w)
		cancel()
		bs.Close()
		// A client may keep its request body open and idle: make the
		// pending read fail now rather than when the server closes the
		// connection. Not when the body has ended (a stream the member
		// ended, with "no leader" say): net/http then reads the
		// connection in the background, and a deadline error there would
		// cancel the next request on the connection.
		if !bodyRead.Load() {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		}
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
	peak  *atomic.Int64 // nil, or where to record the largest buffer size

	wake  chan struct{} // cap 1: the writer has lines or the pump ended
	space chan struct{} // cap 1: the writer freed buffer space
	mu    struct {
		sync.Mutex
		lines []watchLineBuf
		// queued counts, per watcher, its event lines queued or being
		// written: a watcher with some is one the client is behind on.
		queued map[int64]int
		// bytes counts the lines queued or being written.
		// Invariant: bytes <= max(limit, one response) + the control
		// lines admitted over it.
		bytes int
		// dropping holds watchers canceled for overflow: their
		// responses are dropped up to and including their Canceled.
		dropping map[int64]bool
		ended    bool // pump saw the stream end
		// endErr is why the WatchStream ended when the member ended it
		// (ErrNoLeader): written as the stream's last line.
		endErr error
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
	s.mu.queued = make(map[int64]int)
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
			if ctx.Err() == nil && !errors.Is(err, mvcc.ErrClosed) {
				s.mu.Lock()
				s.mu.endErr = err
				s.mu.Unlock()
			}
			return
		}
		cancelID, big := s.admit(&r)
		signal(s.wake)
		if cancelID != nil {
			// Canceling queues mvcc's own Canceled, dropped by admit; a
			// watcher already gone is fine (its Canceled is queued).
			_ = s.bs.Cancel(*cancelID)
		}
		if big && !s.sendInParts(ctx, r) {
			return
		}
	}
}

// sendInParts sends a response larger than the whole buffer one revision
// at a time, each part once it fits (or the buffer is empty), so its
// encoding is never held whole. The pump waits meanwhile; the mvcc stream
// behind it absorbs the wait (its watchers fall back to history).
func (s *watchSession) sendInParts(ctx context.Context, r mvcc.WatchResponse) bool {
	for len(r.Events) > 0 {
		n := 1
		for n < len(r.Events) && r.Events[n].Kv.ModRevision == r.Events[0].Kv.ModRevision {
			n++
		}
		part := r
		part.Events = r.Events[:n]
		part.Header.Revision = r.Events[0].Kv.ModRevision
		line, err := encodeWatch(&part, s.hdr())
		if err != nil {
			s.h.cfg.Logger.Error("v3http: dropping a watch response", "err", err)
			return true
		}
		for {
			s.mu.Lock()
			if s.mu.bytes == 0 || s.mu.bytes+len(line) <= s.limit {
				s.pushLocked(line, r.WatchID, true)
				s.mu.Unlock()
				break
			}
			s.mu.Unlock()
			select {
			case <-s.space:
			case <-ctx.Done():
				return false
			}
		}
		signal(s.wake)
		r.Events = r.Events[n:]
	}
	return true
}

// admit queues r's line (or drops it) under the buffer rules. It reports
// a watcher to cancel for overflow, or that r alone is larger than the
// whole buffer (big: nothing was queued, send it with sendInParts).
func (s *watchSession) admit(r *mvcc.WatchResponse) (cancelID *int64, big bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.dropping[r.WatchID] && r.WatchID != mvcc.ProgressWatchID {
		if r.Canceled {
			delete(s.mu.dropping, r.WatchID)
		}
		return nil, false
	}
	line, err := encodeWatch(r, s.hdr())
	if err != nil {
		s.h.cfg.Logger.Error("v3http: dropping a watch response", "err", err)
		return nil, false
	}
	fits := s.mu.bytes+len(line) <= s.limit
	switch {
	case fits:
	case len(r.Events) > 0 && s.mu.queued[r.WatchID] == 0:
		// The client has taken every earlier event of this watcher:
		// it is not behind on it, the response is just large (a
		// catch-up). Sent in parts as the writer makes room.
		return nil, true
	case len(r.Events) > 0:
		// The client is behind: deliver the revisions that fit, then
		// cancel the watcher at the first one that does not.
		head, k := s.fitLocked(r)
		if head != nil {
			s.pushLocked(head, r.WatchID, true)
		}
		next := r.Events[k].Kv.ModRevision
		s.h.cfg.Logger.Info("v3http: watch buffer full, canceling watcher", "watch_id", r.WatchID, "resume_revision", next)
		s.mu.dropping[r.WatchID] = true
		c := mvcc.WatchResponse{Header: mvcc.ResponseHeader{Revision: next - 1}, WatchID: r.WatchID,
			Canceled: true, CancelReason: fmt.Sprintf(OverflowReason, next)}
		if line, err = encodeWatch(&c, s.hdr()); err == nil {
			s.pushLocked(line, r.WatchID, false)
		}
		id := r.WatchID
		return &id, false
	case len(r.Events) == 0 && !r.Created && !r.Canceled && r.WatchID != mvcc.ProgressWatchID:
		return nil, false // a per-watcher progress notification: dropped
	}
	s.pushLocked(line, r.WatchID, len(r.Events) > 0)
	return nil, false
}

// fitLocked returns the encoded response made of the longest run of r's
// first whole revisions that fits in the buffer (nil if none does), and
// how many events it holds. Its header revision is its last revision. r
// as a whole does not fit.
func (s *watchSession) fitLocked(r *mvcc.WatchResponse) ([]byte, int) {
	// ends[i] is the number of events in the first i+1 revisions.
	var ends []int
	for i := range r.Events {
		if i+1 == len(r.Events) || r.Events[i+1].Kv.ModRevision != r.Events[i].Kv.ModRevision {
			ends = append(ends, i+1)
		}
	}
	encode := func(k int) []byte {
		part := *r
		part.Events = r.Events[:ends[k-1]]
		part.Header.Revision = part.Events[len(part.Events)-1].Kv.ModRevision
		line, _ := encodeWatch(&part, s.hdr()) // cannot fail where r's encoding did not
		return line
	}
	// Binary search for the largest k < len(ends) revisions that fit.
	lo, hi := 0, len(ends)-1
	var best []byte
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if line := encode(mid); s.mu.bytes+len(line) <= s.limit {
			lo, best = mid, line
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 {
		return nil, 0
	}
	return best, ends[lo-1]
}

// watchLineBuf is one encoded response in the buffer.
type watchLineBuf struct {
	b     []byte
	id    int64
	event bool
}

func (s *watchSession) pushLocked(line []byte, id int64, event bool) {
	s.mu.lines = append(s.mu.lines, watchLineBuf{line, id, event})
	if event {
		s.mu.queued[id]++
	}
	s.mu.bytes += len(line)
	for s.peak != nil {
		p := s.peak.Load()
		if int64(s.mu.bytes) <= p || s.peak.CompareAndSwap(p, int64(s.mu.bytes)) {
			break
		}
	}
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
		lines, ended, endErr := s.mu.lines, s.mu.ended, s.mu.endErr
		s.mu.lines = nil
		s.mu.Unlock()
		if len(lines) == 0 {
			if ended {
				if endErr != nil {
					// Everything queued was sent: end with the error
					// line, as the gateway does when a stream fails.
					st := StatusOf(endErr)
					if !started {
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(st.Code.HTTPStatus())
					}
					s.h.writeChunk(w, rc, streamError(st))
				}
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
			if _, err := w.Write(l.b); err != nil {
				return
			}
			n += len(l.b)
		}
		if err := rc.Flush(); err != nil {
			return
		}
		s.mu.Lock()
		s.mu.bytes -= n
		for _, l := range lines {
			if l.event {
				if s.mu.queued[l.id]--; s.mu.queued[l.id] == 0 {
					delete(s.mu.queued, l.id)
				}
			}
		}
		s.mu.Unlock()
		signal(s.space)
	}
}

// streamError is the gateway's error line for st, as etcd's grpc-gateway
// ends a stream that fails: {"error":{"grpc_code":14,"http_code":503,
// "message":"etcdserver: no leader","http_status":"Service Unavailable"}}.
func streamError(st Status) jsonStreamError {
	var e jsonStreamError
	e.Error.GrpcCode, e.Error.Message = st.Code, st.Message
	e.Error.HTTPCode = st.Code.HTTPStatus()
	e.Error.HTTPStatus = http.StatusText(e.Error.HTTPCode)
	return e
}
