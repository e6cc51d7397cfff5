package client

import (
	"context"
	"fmt"
	"time"
)

// LeaseGrantResponse is the answer to Grant: the lease's ID and its TTL in
// seconds (raised by the member to its minimum, 1.5 election timeouts).
type LeaseGrantResponse struct {
	Header Header
	ID     int64
	TTL    int64
}

// LeaseRevokeResponse is the answer to Revoke.
type LeaseRevokeResponse struct {
	Header Header
}

// LeaseKeepAliveResponse is one renewal: the TTL the lease has again.
type LeaseKeepAliveResponse struct {
	Header Header
	ID     int64
	TTL    int64
}

// LeaseTimeToLiveResponse is the answer to TimeToLive: the remaining TTL
// (-1 when the lease does not exist, as etcd answers), the granted TTL
// and, when asked for, the attached keys.
type LeaseTimeToLiveResponse struct {
	Header     Header
	ID         int64
	TTL        int64
	GrantedTTL int64
	Keys       [][]byte
}

// LeaseStatus is one lease of a Leases answer.
type LeaseStatus struct {
	ID int64
}

// LeaseLeasesResponse is the answer to Leases.
type LeaseLeasesResponse struct {
	Header Header
	Leases []LeaseStatus
}

// LeaseOption changes a Grant.
type LeaseOption func(*wireLeaseGrant)

// WithLeaseID asks for lease ID id instead of one the member picks; a
// lease with that ID must not exist yet.
func WithLeaseID(id int64) LeaseOption { return func(w *wireLeaseGrant) { w.ID = i64(id) } }

// Wire shapes of the lease endpoints (etcd names these fields in
// capitals).
type wireLeaseGrant struct {
	TTL i64 `json:"TTL,omitempty"`
	ID  i64 `json:"ID,omitempty"`
}

type wireLeaseID struct {
	ID   i64  `json:"ID,omitempty"`
	Keys bool `json:"keys,omitempty"`
}

type wireLeaseGrantResponse struct {
	Header *wireHeader `json:"header"`
	ID     i64         `json:"ID"`
	TTL    i64         `json:"TTL"`
}

type wireLeaseTimeToLiveResponse struct {
	Header     *wireHeader `json:"header"`
	ID         i64         `json:"ID"`
	TTL        i64         `json:"TTL"`
	GrantedTTL i64         `json:"grantedTTL"`
	Keys       [][]byte    `json:"keys"`
}

type wireLeaseLeasesResponse struct {
	Header *wireHeader `json:"header"`
	Leases []struct {
		ID i64 `json:"ID"`
	} `json:"leases"`
}

// Grant creates a lease of ttl seconds. It is a write: retried only when
// the failure proves it was not applied (doc.go); after any other failure
// the lease may exist (grant WithLeaseID to be able to find out).
func (c *Client) Grant(ctx context.Context, ttl int64, opts ...LeaseOption) (*LeaseGrantResponse, error) {
	in := &wireLeaseGrant{TTL: i64(ttl)}
	for _, o := range opts {
		o(in)
	}
	var out wireLeaseGrantResponse
	if err := c.call(ctx, "/v3/lease/grant", kindWrite, in, &out); err != nil {
		return nil, err
	}
	return &LeaseGrantResponse{Header: out.Header.typed(), ID: int64(out.ID), TTL: int64(out.TTL)}, nil
}

// Revoke ends lease id and deletes every key attached to it, in one
// revision. A write, like Grant; ErrLeaseNotFound when there is no such
// lease.
func (c *Client) Revoke(ctx context.Context, id int64) (*LeaseRevokeResponse, error) {
	var out struct {
		Header *wireHeader `json:"header"`
	}
	if err := c.call(ctx, "/v3/lease/revoke", kindWrite, &wireLeaseID{ID: i64(id)}, &out); err != nil {
		return nil, err
	}
	return &LeaseRevokeResponse{Header: out.Header.typed()}, nil
}

// TimeToLive reports lease id's remaining TTL as the leader sees it, and
// its keys when withKeys is set. A lease that does not exist is not an
// error: its TTL is -1 (etcd's answer). A read, retried anywhere.
func (c *Client) TimeToLive(ctx context.Context, id int64, withKeys bool) (*LeaseTimeToLiveResponse, error) {
	var out wireLeaseTimeToLiveResponse
	if err := c.call(ctx, "/v3/lease/timetolive", kindRead, &wireLeaseID{ID: i64(id), Keys: withKeys}, &out); err != nil {
		return nil, err
	}
	return &LeaseTimeToLiveResponse{Header: out.Header.typed(), ID: int64(out.ID), TTL: int64(out.TTL),
		GrantedTTL: int64(out.GrantedTTL), Keys: out.Keys}, nil
}

// Leases lists the granted leases. A read.
func (c *Client) Leases(ctx context.Context) (*LeaseLeasesResponse, error) {
	var out wireLeaseLeasesResponse
	if err := c.call(ctx, "/v3/lease/leases", kindRead, struct{}{}, &out); err != nil {
		return nil, err
	}
	resp := &LeaseLeasesResponse{Header: out.Header.typed()}
	for _, l := range out.Leases {
		resp.Leases = append(resp.Leases, LeaseStatus{ID: int64(l.ID)})
	}
	return resp, nil
}

// KeepAliveOnce renews lease id once, through the keepalive stream, on
// the first member that answers (a renewal is safe to repeat, so any
// failure is retried elsewhere until the deadline). ErrLeaseNotFound when
// the lease is gone.
func (c *Client) KeepAliveOnce(ctx context.Context, id int64) (*LeaseKeepAliveResponse, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	s, resp, err := c.openKeepAlive(ctx, id)
	if err != nil {
		return nil, err
	}
	s.close()
	if resp.TTL <= 0 {
		return nil, fmt.Errorf("%w: %d", ErrLeaseNotFound, id)
	}
	return resp, nil
}

// keepAliveBuffer is how many renewals KeepAlive's channel holds; when the
// reader falls behind, renewals go on and their answers are dropped.
const keepAliveBuffer = 16

// minKeepAliveInterval bounds how often KeepAlive renews a very short
// lease.
const minKeepAliveInterval = 100 * time.Millisecond

// KeepAlive renews lease id about every TTL/3 on one keepalive stream,
// until ctx ends or the lease is gone (a renewal answers TTL 0); the
// channel carries each renewal and is closed at the end. The first
// renewal happens before KeepAlive returns: a lease that does not exist
// is ErrLeaseNotFound. When the stream's member fails, the stream is
// reopened on another one (renewals are safe to repeat); if no member
// answers before the lease's TTL runs out, the lease is probably gone and
// the next answer says so. The channel holds keepAliveBuffer answers;
// a reader that falls further behind misses some (the renewals still
// happen).
func (c *Client) KeepAlive(ctx context.Context, id int64) (<-chan *LeaseKeepAliveResponse, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	first, cancel := c.withDeadline(ctx)
	s, resp, err := c.openKeepAlive(first, id)
	cancel()
	if err != nil {
		return nil, err
	}
	s.close()
	if resp.TTL <= 0 {
		return nil, fmt.Errorf("%w: %d", ErrLeaseNotFound, id)
	}
	ch := make(chan *LeaseKeepAliveResponse, keepAliveBuffer)
	ch <- resp
	go c.keepAliveLoop(ctx, id, resp.TTL, ch)
	return ch, nil
}

// keepAliveLoop renews id every ttl/3 until ctx ends or the lease is
// gone, then closes ch.
func (c *Client) keepAliveLoop(ctx context.Context, id, ttl int64, ch chan<- *LeaseKeepAliveResponse) {
	defer close(ch)
	var s *kaStream
	defer func() {
		if s != nil {
			s.close()
		}
	}()
	for {
		t := time.NewTimer(max(time.Duration(ttl)*time.Second/3, minKeepAliveInterval))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		var resp *LeaseKeepAliveResponse
		var err error
		if s != nil {
			resp, err = s.renew(id, c.cfg.AttemptTimeout)
			if err != nil {
				c.log.Debug("client: keepalive stream failed", "endpoint", s.ep, "lease", id, "err", err)
				c.skip(s.idx)
				s.close()
				s = nil
			}
		}
		if s == nil {
			// Keep trying other members for as long as the caller wants
			// the lease kept: the next answer tells whether it survived.
			s, resp, err = c.openKeepAlive(ctx, id)
			if err != nil {
				if ctx.Err() == nil {
					c.log.Debug("client: keepalive failed on every endpoint", "lease", id, "err", err)
				}
				return
			}
		}
		if resp.TTL <= 0 {
			return
		}
		ttl = resp.TTL
		select {
		case ch <- resp:
		default: // the reader is behind: drop this answer, keep renewing
		}
	}
}
