package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// errWatchStalled is the cause of an attempt cut by the keepalive: the
// member sent nothing in time, no answer to the watch or no answer to a
// progress request.
var errWatchStalled = errors.New("member stalled: nothing received within the watch keepalive")

// progressRequestLine is etcd's WatchRequest asking for a progress
// response on every watcher of the stream.
var progressRequestLine = []byte(`{"progress_request":{}}` + "\n")

// watchAttempt runs one stream on ep from st.next. It reports whether the
// member created the watch (progressed), whether the watch is over
// (final: ended by the member, or ctx), and the failure otherwise.
//
// The request body is a pipe that stays open for the attempt (etcd's
// watch is a bidirectional stream): the create request first, then the
// keepalive's progress requests (see watchKeepalive). The pipe is closed
// when the attempt's context ends, which also releases a transport still
// waiting to read the body.
//
// etcd 3.4's gateway answers only once the request body is complete (its
// net/http drains the body before the first response byte). So when no
// answer comes within min(WatchKeepalive, AttemptTimeout), the body is
// ended after the create request; a member that answers then with the
// gateway's Grpc-Metadata-* headers is remembered in st, and later
// attempts on it end the body at once. Such a half-duplex stream has no
// keepalive: a gateway that stalls after answering is not detected.
func (c *Client) watchAttempt(ctx context.Context, ep string, st *watchState) (progressed, final bool, err error) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	create, err := json.Marshal(st.request())
	if err != nil {
		return false, true, err
	}
	pr, pw := io.Pipe()
	context.AfterFunc(actx, func() { pw.CloseWithError(context.Cause(actx)) })
	req, err := http.NewRequestWithContext(actx, http.MethodPost, ep+"/v3/watch", pr)
	if err != nil {
		return false, true, fmt.Errorf("%w: building watch request for %s: %v", ErrInvalidOp, ep, err)
	}
	req.Header.Set("Content-Type", "application/json")
	ka := c.watchKeepalive(actx, cancel, pw, append(create, '\n'), st.halfDuplex[ep])
	// failed names the cause when the keepalive cut the attempt.
	failed := func(err error) error {
		if cause := context.Cause(actx); errors.Is(cause, errWatchStalled) {
			err = cause
		}
		return &transportError{endpoint: ep, err: err}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, false, failed(err)
	}
	defer resp.Body.Close()
	if ka.bodyEnded() && resp.Header.Get("Grpc-Metadata-Content-Type") != "" {
		if st.halfDuplex == nil {
			st.halfDuplex = make(map[string]bool)
		}
		st.halfDuplex[ep] = true
	}
	if st.halfDuplex[ep] {
		ka.set(kaOff)
	}
	if resp.StatusCode != http.StatusOK {
		ka.set(kaWaiting)
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		if rerr != nil {
			return false, false, failed(fmt.Errorf("reading response: %w", rerr))
		}
		// A refusal such as "etcdserver: no leader" (HTTP 503 with the
		// gateway's error line): try the next member.
		return false, false, decodeStreamError(ep, resp.StatusCode, data)
	}
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		ka.set(kaWaiting)
		var chunk wireWatchChunk
		err := dec.Decode(&chunk)
		ka.set(kaBusy)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the member ended the stream (stopping)
			}
			return progressed, false, failed(err)
		}
		switch {
		case chunk.Error != nil:
			// The member ended the stream with an error ("etcdserver: no
			// leader" when it lost the leader): try the next member.
			e := chunk.Error
			return progressed, false, &Error{Code: e.GrpcCode, Message: e.Message, HTTPStatus: e.HTTPCode, Endpoint: ep}
		case chunk.Result == nil:
			return progressed, false, fmt.Errorf("%w from %s/v3/watch: a line with neither result nor error", ErrBadResponse, ep)
		}
		r := chunk.Result.typed()
		if r.Created {
			progressed = true
		}
		done, resume := st.handle(r)
		if resume {
			return progressed, false, fmt.Errorf("client: %s canceled the watch: %s", ep, r.CancelReason)
		}
		if r.deliverable && !st.deliver(ctx, r.WatchResponse) {
			return progressed, true, ctx.Err()
		}
		if done {
			return progressed, true, nil
		}
	}
}

// kaState is what a watch attempt tells its watchdog.
type kaState int

const (
	// kaWaiting: waiting for the member (the next line).
	kaWaiting kaState = iota
	// kaBusy: busy on the client's side (handing a response to the
	// caller, who may be slow); this time does not count.
	kaBusy
	// kaOff: no keepalive on this stream (half-duplex: the body is
	// ended, no progress request can be sent).
	kaOff
)

// keepalive is the watchdog of one watch attempt; see watchKeepalive.
type keepalive struct {
	state chan kaState
	done  <-chan struct{}
	ended atomic.Bool // the request body was ended
	off   atomic.Bool // kaOff was set (only the attempt's goroutine sets)
}

// set reports the attempt's state to the watchdog. The first call ends
// the wait for the answer's headers.
func (k *keepalive) set(s kaState) {
	if k.off.Load() {
		return // the watchdog is gone
	}
	if s == kaOff {
		k.off.Store(true)
	}
	select {
	case k.state <- s:
	case <-k.done:
	}
}

// bodyEnded reports whether the request body was ended (half-duplex).
func (k *keepalive) bodyEnded() bool { return k.ended.Load() }

// watchKeepalive starts the attempt's writer and watchdog, which run
// until ctx ends.
//
// The writer sends create, then each progress request the watchdog asks
// for, until the watchdog asks it to end the body (at once when
// halfDuplex).
//
// The watchdog first waits for the answer's headers: after
// min(WatchKeepalive, AttemptTimeout) without them it has the body ended
// (for etcd 3.4's gateway, see watchAttempt), and after AttemptTimeout
// more it cancels ctx with errWatchStalled. Then, each time the attempt
// has waited WatchKeepalive for a line, it asks for a progress request;
// if the attempt is still waiting AttemptTimeout later, it cancels ctx
// with errWatchStalled. Any line starts over; kaOff stops it.
func (c *Client) watchKeepalive(ctx context.Context, stall context.CancelCauseFunc, pw *io.PipeWriter, create []byte, halfDuplex bool) *keepalive {
	k := &keepalive{state: make(chan kaState), done: ctx.Done()}
	send := make(chan struct{}, 1)
	end := make(chan struct{}, 1)
	if halfDuplex {
		end <- struct{}{}
	}
	go func() {
		// Writes fail once the pipe is closed (ctx ended); the
		// transport reads the body while it waits for the answer.
		if _, err := pw.Write(create); err != nil {
			return
		}
		for {
			select {
			case <-send:
				if _, err := pw.Write(progressRequestLine); err != nil {
					return
				}
			case <-end:
				k.ended.Store(true)
				pw.Close()
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		// Waiting for the headers.
		first := min(c.cfg.WatchKeepalive, c.cfg.AttemptTimeout)
		if halfDuplex {
			first = c.cfg.AttemptTimeout
		}
		t := time.NewTimer(first)
		defer t.Stop()
		ending := halfDuplex // the body is being ended
	headers:
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-k.state:
				if s == kaOff {
					return
				}
				break headers
			case <-t.C:
				if ending {
					stall(errWatchStalled)
					return
				}
				ending = true
				end <- struct{}{}
				t.Reset(c.cfg.AttemptTimeout)
			}
		}
		// Streaming: the attempt is waiting for its first line.
		t.Reset(c.cfg.WatchKeepalive)
		asked := false // a progress request is out, unanswered
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-k.state:
				asked = false
				t.Stop()
				switch s {
				case kaOff:
					return
				case kaWaiting:
					t.Reset(c.cfg.WatchKeepalive)
				}
			case <-t.C:
				if asked {
					stall(errWatchStalled)
					return
				}
				asked = true
				select {
				case send <- struct{}{}:
				default: // one is queued already
				}
				t.Reset(c.cfg.AttemptTimeout)
			}
		}
	}()
	return k
}
