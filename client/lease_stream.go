package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The keepalive stream: POST /v3/lease/keepalive with a request body that
// stays open; each {"ID":"n"} written to it is answered by one line
// {"result":{header,ID,TTL}} (or {"error":{...}} when the member fails).

// kaStream is one open keepalive stream on one endpoint.
type kaStream struct {
	ep     string
	idx    int
	pw     *io.PipeWriter
	body   io.Closer
	lines  *bufio.Reader
	cancel context.CancelFunc
}

// wireStreamLine is one line of a gateway stream.
type wireStreamLine struct {
	Result *wireLeaseGrantResponse `json:"result"`
	Error  *wireStreamError        `json:"error"`
}

// wireStreamError is grpc-gateway's error chunk inside a stream.
type wireStreamError struct {
	GrpcCode Code   `json:"grpc_code"`
	HTTPCode int    `json:"http_code"`
	Message  string `json:"message"`
}

// openKeepAlive opens a keepalive stream on the first endpoint that
// renews id, trying them in turn (from the pinned one) with the client's
// backoff between rounds, until ctx ends. A renewal is safe to repeat, so
// every failure but a refusal on the request's merits is retried.
func (c *Client) openKeepAlive(ctx context.Context, id int64) (*kaStream, *LeaseKeepAliveResponse, error) {
	n := len(c.endpoints)
	attempts := 0
	var last error
	for round := 0; ; round++ {
		start := c.pinned()
		for i := 0; i < n; i++ {
			idx := (start + i) % n
			attempts++
			s, resp, err := c.tryKeepAlive(ctx, idx, id)
			if err == nil {
				c.pin(idx)
				return s, resp, nil
			}
			c.log.Debug("client: keepalive attempt failed", "endpoint", c.endpoints[idx], "lease", id, "err", err)
			if !retriable(err, kindRead) && !errors.Is(err, ErrNotLeader) {
				return nil, nil, err
			}
			c.skip(idx)
			last = err
			if ctx.Err() != nil {
				return nil, nil, c.giveUp(ctx, "/v3/lease/keepalive", attempts, last)
			}
		}
		t := time.NewTimer(c.backoff(round))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, c.giveUp(ctx, "/v3/lease/keepalive", attempts, last)
		case <-t.C:
		}
	}
}

// tryKeepAlive opens a stream on endpoint idx and renews id once on it.
// The stream lives until close (or ctx ends); each step (the answer
// headers, every renewal) must complete within AttemptTimeout, else the
// stream is cut.
func (c *Client) tryKeepAlive(ctx context.Context, idx int, id int64) (*kaStream, *LeaseKeepAliveResponse, error) {
	ep := c.endpoints[idx]
	sctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	// The transport reads the body from the pipe; a member that answers
	// only once the body is complete (etcd 3.4's gateway does) would keep
	// that read, and with it http.Client.Do, blocked past any cancel.
	// Closing the pipe when the stream's context ends releases both.
	context.AfterFunc(sctx, func() { pw.CloseWithError(context.Cause(sctx)) })
	req, err := http.NewRequestWithContext(sctx, http.MethodPost, ep+"/v3/lease/keepalive", pr)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("%w: building keepalive request for %s: %v", ErrInvalidOp, ep, err)
	}
	req.Header.Set("Content-Type", "application/json")
	s := &kaStream{ep: ep, idx: idx, pw: pw, cancel: cancel}
	cut := time.AfterFunc(c.cfg.AttemptTimeout, cancel)
	go func() {
		// The transport reads the body while it waits for the answer;
		// the write fails once the request is cut or done.
		_, _ = pw.Write(keepAliveMessage(id))
	}()
	resp, err := c.http.Do(req)
	if err != nil {
		cut.Stop()
		s.close()
		return nil, nil, &transportError{endpoint: ep, err: err}
	}
	s.body = resp.Body
	if resp.StatusCode != http.StatusOK {
		cut.Stop()
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		s.close()
		if rerr != nil {
			return nil, nil, &transportError{endpoint: ep, err: fmt.Errorf("reading response: %w", rerr)}
		}
		return nil, nil, decodeStreamError(ep, resp.StatusCode, data)
	}
	s.lines = bufio.NewReader(io.LimitReader(resp.Body, maxResponseBytes))
	out, err := s.read()
	cut.Stop()
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, out, nil
}

// renew sends one more renewal of id on the open stream and reads its
// answer, within timeout.
func (s *kaStream) renew(id int64, timeout time.Duration) (*LeaseKeepAliveResponse, error) {
	cut := time.AfterFunc(timeout, s.cancel)
	defer cut.Stop()
	if _, err := s.pw.Write(keepAliveMessage(id)); err != nil {
		return nil, &transportError{endpoint: s.ep, err: fmt.Errorf("sending renewal: %w", err)}
	}
	return s.read()
}

// read decodes the next line of the stream.
func (s *kaStream) read() (*LeaseKeepAliveResponse, error) {
	line, err := s.lines.ReadBytes('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the member ended the stream without answering
		}
		return nil, &transportError{endpoint: s.ep, err: fmt.Errorf("reading keepalive answer: %w", err)}
	}
	var l wireStreamLine
	if err := json.Unmarshal(line, &l); err != nil {
		return nil, fmt.Errorf("%w from %s/v3/lease/keepalive: %v", ErrBadResponse, s.ep, err)
	}
	switch {
	case l.Error != nil:
		return nil, &Error{Code: l.Error.GrpcCode, Message: l.Error.Message, HTTPStatus: l.Error.HTTPCode, Endpoint: s.ep}
	case l.Result == nil:
		return nil, fmt.Errorf("%w from %s/v3/lease/keepalive: a line with neither result nor error", ErrBadResponse, s.ep)
	}
	r := l.Result
	return &LeaseKeepAliveResponse{Header: r.Header.typed(), ID: int64(r.ID), TTL: int64(r.TTL)}, nil
}

// close ends the stream: the request body (so the member sees its end)
// and the connection's answer.
func (s *kaStream) close() {
	s.pw.Close()
	s.cancel()
	if s.body != nil {
		s.body.Close()
	}
}

func keepAliveMessage(id int64) []byte {
	return []byte(`{"ID":"` + strconv.FormatInt(id, 10) + `"}` + "\n")
}

// decodeStreamError reads a stream's failure answered before its first
// line: the gateway's {"error":{...}} chunk, or an ordinary error body.
func decodeStreamError(ep string, status int, data []byte) error {
	var l wireStreamLine
	if err := json.Unmarshal(data, &l); err == nil && l.Error != nil && l.Error.Message != "" {
		return &Error{Code: l.Error.GrpcCode, Message: l.Error.Message, HTTPStatus: status, Endpoint: ep}
	}
	return decodeError(ep, status, data)
}
