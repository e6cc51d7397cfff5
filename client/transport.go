package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// callKind says whether a call may be repeated after an ambiguous
// failure: reads may, writes may not (see doc.go, "Retries").
type callKind int

const (
	kindRead  callKind = iota // no effect on the store: retried on any failure
	kindWrite                 // changes the store: retried only when proven not applied
)

func (k callKind) String() string {
	if k == kindWrite {
		return "write"
	}
	return "read"
}

// maxResponseBytes caps a response body, so a broken peer cannot make the
// client buffer without bound.
const maxResponseBytes = 256 << 20

// call sends in (JSON) to path on one endpoint after the other until one
// answers, and decodes the answer into out. It retries as doc.go states:
// reads on any transport failure or Unavailable answer; writes only when
// the failure proves the write was not applied. Between rounds over all
// endpoints it sleeps a jittered, bounded backoff. It never runs past the
// context's deadline (or RequestTimeout when the context has none).
func (c *Client) call(ctx context.Context, path string, kind callKind, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%w: encoding %s request: %v", ErrInvalidOp, path, err)
	}
	if c.isClosed() {
		return ErrClosed
	}
	// Every attempt and every backoff pause below runs under this one
	// deadline: the call cannot outlive it, whatever the members do.
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	n := len(c.endpoints)
	attempts := 0
	var last error // the failure of the latest retriable attempt; non-nil after the first round
	for round := 0; ; round++ {
		// A round tries each endpoint once, starting from the pinned one.
		// The pinned index is re-read each round: concurrent calls that
		// found a working member move it, and this call benefits.
		start := c.pinned()
		for i := 0; i < n; i++ {
			idx := (start + i) % n
			ep := c.endpoints[idx]
			attempts++
			err := c.attempt(ctx, ep, path, kind, body, out)
			if err == nil {
				c.pin(idx)
				return nil
			}
			// Decide first, log, then move the pin: the pin only steers
			// later calls, it never changes whether this one may retry.
			retry := retriable(err, kind)
			c.log.Debug("client: attempt failed", "endpoint", ep, "path", path, "kind", kind,
				"attempt", attempts, "retry", retry, "err", err)
			if !isAnswer(err) {
				c.skip(idx) // transport failure: prefer another member next time
			} else if !retry {
				c.pin(idx) // the member works; the request was refused on its merits
			} else {
				c.skip(idx)
			}
			if !retry {
				if kind == kindWrite && ambiguous(err) {
					return fmt.Errorf("%w: %s on %s (not retried): %w", ErrOutcomeUnknown, path, ep, err)
				}
				return err
			}
			last = err
			// The deadline may have expired during the attempt; a read
			// whose attempt was cut by it reports the deadline, not the
			// cut.
			if ctx.Err() != nil {
				return c.giveUp(ctx, path, attempts, last)
			}
		}
		// Every endpoint failed retriably this round: pause before the
		// next, unless the deadline comes first.
		t := time.NewTimer(c.backoff(round))
		select {
		case <-ctx.Done():
			t.Stop()
			return c.giveUp(ctx, path, attempts, last)
		case <-t.C:
		}
	}
}

// giveUp is the error of a call whose deadline passed while retrying: it
// wraps the context's error and the last failure, so both errors.Is
// (context.DeadlineExceeded) and errors.Is(ErrNoLeader) work.
func (c *Client) giveUp(ctx context.Context, path string, attempts int, last error) error {
	return fmt.Errorf("client: %s: gave up after %d attempts on %d endpoints: %w; last error: %w",
		path, attempts, len(c.endpoints), context.Cause(ctx), last)
}

// withDeadline applies RequestTimeout when ctx has no deadline.
func (c *Client) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.cfg.RequestTimeout)
}

// attempt sends one request to one endpoint. A read is bounded by
// AttemptTimeout as well as ctx; a write only by ctx, because cutting a
// write short would leave its outcome unknown for nothing.
func (c *Client) attempt(ctx context.Context, ep, path string, kind callKind, body []byte, out any) error {
	if kind == kindRead {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.AttemptTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: building request for %s%s: %v", ErrInvalidOp, ep, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	// No Idempotency-Key header, on purpose: with it net/http would replay
	// a write on its own after a kept-alive connection broke, which the
	// retry rule forbids.
	resp, err := c.http.Do(req)
	if err != nil {
		return &transportError{endpoint: ep, err: err}
	}
	defer resp.Body.Close()
	// A body cut short after a 200 status is still a transport failure:
	// for a write it means "applied, answer lost", which retriable and
	// ambiguous treat as outcome unknown.
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return &transportError{endpoint: ep, err: fmt.Errorf("reading response: %w", err)}
	}
	if resp.StatusCode != http.StatusOK {
		return decodeError(ep, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w from %s%s: %v", ErrBadResponse, ep, path, err)
	}
	return nil
}

// decodeError turns a non-200 answer into an *Error. A body that is not
// etcd's error JSON (a proxy's page, say) keeps its text; the code is
// then guessed from the HTTP status (5xx gateway errors are Unavailable).
func decodeError(ep string, status int, data []byte) error {
	var we wireError
	if err := json.Unmarshal(data, &we); err == nil && (we.Message != "" || we.Error != "" || we.Code != 0) {
		msg := we.Message
		if msg == "" {
			msg = we.Error
		}
		return &Error{Code: we.Code, Message: msg, HTTPStatus: status, Endpoint: ep}
	}
	code := CodeUnknown
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		code = CodeUnavailable
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		code = CodeUnimplemented
	}
	msg := string(data)
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return &Error{Code: code, Message: msg, HTTPStatus: status, Endpoint: ep}
}

// transportError is a failure to get an answer from a member: refused
// or failed connection, cut connection, attempt timeout, broken body.
type transportError struct {
	endpoint string
	err      error
}

func (e *transportError) Error() string { return "client: " + e.endpoint + ": " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// isAnswer reports whether err is an answer from a member (an *Error),
// as opposed to a transport failure.
func isAnswer(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// notSent reports whether err proves the request never left the client:
// the connection could not be established (refused, unreachable, DNS,
// dial timeout). net/http itself replays a request whose pooled
// connection died before any byte was written, so what reaches us after
// a successful dial may have been received.
func notSent(err error) bool {
	var te *transportError
	if !errors.As(err, &te) {
		return false
	}
	var op *net.OpError
	return errors.As(te.err, &op) && op.Op == "dial"
}

// retriable is the retry rule of doc.go. Reads: any transport failure,
// any Unavailable answer, any malformed answer. Writes: only a failed
// dial, or "etcdserver: no leader", which a member returns when raft
// refuses the proposal at once (nothing was appended to any log).
func retriable(err error, kind callKind) bool {
	if notSent(err) {
		return true
	}
	var e *Error
	if errors.As(err, &e) {
		if kind == kindWrite {
			return e.Message == "etcdserver: no leader"
		}
		return e.Code == CodeUnavailable
	}
	if kind == kindWrite {
		return false
	}
	var te *transportError
	return errors.As(err, &te) || errors.Is(err, ErrBadResponse)
}

// ambiguous reports whether a failed write may have been applied: any
// transport failure after the dial, or an answer saying the member gave
// up waiting (Unavailable, DeadlineExceeded) rather than refusing.
func ambiguous(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Code == CodeUnavailable || e.Code == CodeDeadlineExceeded || e.Code == CodeUnknown
	}
	return !errors.Is(err, ErrInvalidOp)
}

// backoff is the pause after a full round of failed attempts: exponential
// from DefaultBackoffBase, capped at DefaultBackoffMax, with jitter in
// [d/2, d] so clients that failed together do not retry together.
func (c *Client) backoff(round int) time.Duration {
	d := DefaultBackoffBase << min(round, 10)
	d = min(d, DefaultBackoffMax)
	c.mu.Lock()
	j := time.Duration(c.mu.rng.Int64N(int64(d/2) + 1))
	c.mu.Unlock()
	return d/2 + j
}

// pinned is the endpoint tried first.
func (c *Client) pinned() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.pinned
}

// pin makes idx the endpoint tried first.
func (c *Client) pin(idx int) {
	c.mu.Lock()
	c.mu.pinned = idx
	c.mu.Unlock()
}

// skip moves the first choice past idx if idx is still the first choice
// (a concurrent call may already have moved it).
func (c *Client) skip(idx int) {
	c.mu.Lock()
	if c.mu.pinned == idx {
		c.mu.pinned = (idx + 1) % len(c.endpoints)
	}
	c.mu.Unlock()
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.closed
}

// callOne sends one request to exactly ep, without failover: for calls
// about a given member (Status).
func (c *Client) callOne(ctx context.Context, ep, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%w: encoding %s request: %v", ErrInvalidOp, path, err)
	}
	if c.isClosed() {
		return ErrClosed
	}
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	return c.attempt(ctx, ep, path, kindWrite, body, out) // kindWrite: no AttemptTimeout cut
}
