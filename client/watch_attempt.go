package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// errWatchStalled is the cause of an attempt cut by the keepalive: the
// member sent nothing, not even the answer to a progress request.
var errWatchStalled = errors.New("member stalled: no answer to a watch progress request")

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
	ka := c.watchKeepalive(actx, cancel, pw, append(create, '\n'))
	// failed names the cause when the keepalive cut the attempt.
	failed := func(err error) error {
		if cause := context.Cause(actx); errors.Is(cause, errWatchStalled) {
			err = cause
		}
		return &transportError{endpoint: ep, err: err}
	}
	ka.waiting(true)
	resp, err := c.http.Do(req)
	if err != nil {
		return false, false, failed(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
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
		ka.waiting(true)
		var chunk wireWatchChunk
		err := dec.Decode(&chunk)
		ka.waiting(false)
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

// keepalive is the watchdog of one watch attempt; see watchKeepalive.
type keepalive struct {
	state chan bool
	done  <-chan struct{}
}

// waiting tells the watchdog whether the attempt is waiting for the
// member (true: the answer's headers or the next line) or busy on its
// own side (false: handing a response to the caller, who may be slow).
// Only time spent waiting counts.
func (k *keepalive) waiting(w bool) {
	select {
	case k.state <- w:
	case <-k.done:
	}
}

// watchKeepalive starts the attempt's writer and watchdog, which run
// until ctx ends. The writer sends create, then each progress request
// the watchdog asks for. The watchdog, once the attempt has waited
// WatchKeepalive for the member, asks for a progress request; if the
// attempt is still waiting AttemptTimeout later, it cancels ctx with
// errWatchStalled. Any line (or the answer's headers) starts over.
func (c *Client) watchKeepalive(ctx context.Context, stall context.CancelCauseFunc, pw *io.PipeWriter, create []byte) *keepalive {
	k := &keepalive{state: make(chan bool), done: ctx.Done()}
	send := make(chan struct{}, 1)
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
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		t := time.NewTimer(c.cfg.WatchKeepalive)
		t.Stop()
		defer t.Stop()
		asked := false // a progress request is out, unanswered
		for {
			select {
			case <-ctx.Done():
				return
			case w := <-k.state:
				asked = false
				t.Stop()
				if w {
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
