package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/server/v3http"
)

// Leases: grant and revoke go through raft (kv.go); everything that needs
// a lease's deadline (keepalive, timetolive) is served by the leader, the
// only member whose lessor is primary. A follower forwards those to the
// leader's client URL, on the internal paths below, and retries until it
// gets an answer or the request's deadline, as etcd's LeaseRenew does.

// Internal forwarding paths on the client URL (not part of etcd's API).
const (
	leaseRenewPath      = "/shelf/internal/lease/renew"
	leaseTimeToLivePath = "/shelf/internal/lease/timetolive"
)

// leaseForwardRetry throttles a follower's forwarding loop while the
// leader is unknown or unreachable (etcd waits 50 ms between rounds too).
const leaseForwardRetry = 50 * time.Millisecond

// LeaseRenew renews lease id on the leader and returns its TTL in
// seconds; mvcc.ErrLeaseNotFound when it is gone (expired or revoked).
func (s *Server) LeaseRenew(ctx context.Context, id int64) (int64, error) {
	var ttl int64
	err := s.onLeader(ctx, leaseRenewPath, id, false, func(ctx context.Context) error {
		t, err := s.renewLocal(ctx, id)
		ttl = t
		return err
	}, func(a *leaseAnswer) { ttl = a.TTL })
	return ttl, err
}

// LeaseTimeToLive reports lease id's remaining TTL as the leader sees it,
// with its keys when keys is set; mvcc.ErrLeaseNotFound when it is gone.
// Like a linearizable read, the answer reflects every write acknowledged
// before the call, by any member: the leader waits for a read index before
// reading the lease, and so does this member, when it is another one,
// before filling in its header revision.
func (s *Server) LeaseTimeToLive(ctx context.Context, id int64, keys bool) (*mvcc.LeaseTimeToLiveResponse, error) {
	var resp *mvcc.LeaseTimeToLiveResponse
	remote := false
	err := s.onLeader(ctx, leaseTimeToLivePath, id, keys, func(ctx context.Context) error {
		if err := s.linearizableWait(ctx); err != nil {
			return err
		}
		r, err := s.timeToLiveLocal(ctx, id, keys)
		resp = r
		return err
	}, func(a *leaseAnswer) {
		remote = true
		resp = &mvcc.LeaseTimeToLiveResponse{ID: id, TTL: a.TTL, GrantedTTL: a.GrantedTTL, Keys: a.Keys}
	})
	// The answer came from the leader (not found included, which the
	// caller answers with this member's revision): catch up with it.
	if remote || errors.Is(err, mvcc.ErrLeaseNotFound) {
		if werr := s.linearizableWait(ctx); werr != nil {
			return nil, werr
		}
	}
	if err != nil {
		return nil, err
	}
	resp.Header.Revision = s.Store().Rev() // etcd fills the header where it answers
	return resp, nil
}

// LeaseLeases lists the leases granted up to a linearizable point, by ID.
func (s *Server) LeaseLeases(ctx context.Context) ([]mvcc.LeaseStatus, int64, error) {
	if err := s.linearizableWait(ctx); err != nil {
		return nil, 0, err
	}
	st := s.Store()
	return st.Leases(), st.Rev(), nil
}

// renewLocal renews id in this member's lessor, which must be primary. A
// lease this leader does not know may be granted in an entry it has not
// applied yet (it was just elected): it waits until it has applied every
// committed entry and asks again, as etcd waits for its applied index.
func (s *Server) renewLocal(ctx context.Context, id int64) (int64, error) {
	ttl, err := s.Store().LeaseRenew(id)
	if errors.Is(err, mvcc.ErrLeaseNotFound) {
		if werr := s.linearizableWait(ctx); werr != nil {
			return -1, werr
		}
		ttl, err = s.Store().LeaseRenew(id)
	}
	return ttl, err
}

// timeToLiveLocal is renewLocal's counterpart for TimeToLive.
func (s *Server) timeToLiveLocal(ctx context.Context, id int64, keys bool) (*mvcc.LeaseTimeToLiveResponse, error) {
	if !s.Store().IsPrimary() {
		return nil, mvcc.ErrNotPrimary
	}
	resp, err := s.Store().LeaseTimeToLive(id, keys)
	if errors.Is(err, mvcc.ErrLeaseNotFound) {
		if werr := s.linearizableWait(ctx); werr != nil {
			return nil, werr
		}
		resp, err = s.Store().LeaseTimeToLive(id, keys)
	}
	return resp, err
}

// leaseAnswer is the body of an internal lease call: a TTL (with the
// granted TTL and keys for timetolive), or an etcd status.
type leaseAnswer struct {
	TTL        int64       `json:"ttl"`
	GrantedTTL int64       `json:"granted_ttl,omitempty"`
	Keys       [][]byte    `json:"keys,omitempty"`
	Code       v3http.Code `json:"code,omitempty"`
	Message    string      `json:"message,omitempty"`
}

// leaseQuestion is the body of an internal lease call.
type leaseQuestion struct {
	ID   int64 `json:"id"`
	Keys bool  `json:"keys,omitempty"`
}

// onLeader runs local when this member's lessor is primary; otherwise it
// asks the leader on path and hands its answer to remote. It keeps trying
// (the leader unknown, unreachable, or no longer leading) until an answer
// comes or ctx, bounded by the request timeout, ends.
func (s *Server) onLeader(ctx context.Context, path string, id int64, keys bool, local func(context.Context) error, remote func(*leaseAnswer)) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	lastErr := ErrNoLeader
	for {
		if s.Store().IsPrimary() {
			err := local(ctx)
			if !errors.Is(err, mvcc.ErrNotPrimary) {
				return err
			}
			lastErr = v3http.ErrNotLeader
		} else if lead := s.Leader(); lead != raftpb.None && lead != s.id {
			a, err := s.askLeader(ctx, lead, path, leaseQuestion{ID: id, Keys: keys})
			switch {
			case err == nil && a.Code == 0:
				remote(a)
				return nil
			case err == nil && a.Code == v3http.CodeNotFound:
				return mvcc.ErrLeaseNotFound
			case err == nil && a.Message == "etcdserver: not leader":
				lastErr = v3http.ErrNotLeader // it lost leadership: ask again
			case err == nil:
				return statusErr(a.Code, a.Message)
			default:
				lastErr = err
			}
		} else if lead == raftpb.None {
			lastErr = ErrNoLeader
		}
		select {
		case <-ctx.Done():
			if errors.Is(lastErr, ErrNoLeader) || errors.Is(lastErr, v3http.ErrNotLeader) {
				return lastErr
			}
			return fmt.Errorf("%w: %v", ErrTimeout, lastErr)
		case <-s.stopc:
			return ErrStopped
		case <-time.After(leaseForwardRetry):
		}
	}
}

// askLeader posts q to the leader's client URL.
func (s *Server) askLeader(ctx context.Context, lead raftpb.NodeID, path string, q leaseQuestion) (*leaseAnswer, error) {
	m, ok := s.members.get(lead)
	if !ok || len(m.ClientURLs) == 0 {
		return nil, ErrNoLeader
	}
	body, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.ClientURLs[0]+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := s.peerHTTP().Do(req)
	if err != nil {
		return nil, fmt.Errorf("forwarding to the leader: %w", err)
	}
	defer resp.Body.Close()
	var a leaseAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&a); err != nil {
		return nil, fmt.Errorf("the leader answered HTTP %d that does not decode: %w", resp.StatusCode, err)
	}
	return &a, nil
}

// mountLease serves the internal lease paths a follower forwards to. They
// only answer from this member's own lessor (never forward again), so a
// stale view of who leads cannot make requests bounce between members.
func (s *Server) mountLease(mux *http.ServeMux) {
	serve := func(fn func(ctx context.Context, q leaseQuestion) (*leaseAnswer, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var q leaseQuestion
			var a *leaseAnswer
			err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&q)
			if err == nil {
				a, err = fn(r.Context(), q)
			}
			if err != nil {
				st := v3http.StatusOf(err)
				a = &leaseAnswer{Code: st.Code, Message: st.Message}
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(a)
		}
	}
	mux.Handle("POST "+leaseRenewPath, serve(func(ctx context.Context, q leaseQuestion) (*leaseAnswer, error) {
		ttl, err := s.renewLocal(ctx, q.ID)
		if err != nil {
			return nil, err
		}
		return &leaseAnswer{TTL: ttl}, nil
	}))
	mux.Handle("POST "+leaseTimeToLivePath, serve(func(ctx context.Context, q leaseQuestion) (*leaseAnswer, error) {
		// The asking follower has applied a write the leader may not
		// have applied yet: catch up before reading the keys.
		if err := s.linearizableWait(ctx); err != nil {
			return nil, err
		}
		r, err := s.timeToLiveLocal(ctx, q.ID, q.Keys)
		if err != nil {
			return nil, err
		}
		return &leaseAnswer{TTL: r.TTL, GrantedTTL: r.GrantedTTL, Keys: r.Keys}, nil
	}))
}

// The v3http lease backend.

func (b kvBackend) LeaseGrant(ctx context.Context, id, ttl int64) (*mvcc.LeaseGrantResponse, error) {
	resp, err := b.s.LeaseGrant(ctx, id, ttl)
	if errors.Is(err, ErrTTLOutOfRange) {
		return nil, mvcc.ErrLeaseTTLTooLarge
	}
	return resp, err
}

func (b kvBackend) LeaseRevoke(ctx context.Context, id int64) (*mvcc.LeaseRevokeResponse, error) {
	return b.s.LeaseRevoke(ctx, id)
}

func (b kvBackend) LeaseTimeToLive(ctx context.Context, id int64, keys bool) (*mvcc.LeaseTimeToLiveResponse, error) {
	resp, err := b.s.LeaseTimeToLive(ctx, id, keys)
	if errors.Is(err, mvcc.ErrLeaseNotFound) {
		return &mvcc.LeaseTimeToLiveResponse{Header: mvcc.ResponseHeader{Revision: b.s.Store().Rev()}, ID: id, TTL: -1}, nil
	}
	return resp, err
}

func (b kvBackend) LeaseLeases(ctx context.Context) (*v3http.LeaseList, error) {
	ls, rev, err := b.s.LeaseLeases(ctx)
	if err != nil {
		return nil, err
	}
	out := &v3http.LeaseList{Revision: rev}
	for _, l := range ls {
		out.IDs = append(out.IDs, l.ID)
	}
	return out, nil
}

func (b kvBackend) LeaseKeepAlive(ctx context.Context, id int64) (*v3http.LeaseKeepAlive, error) {
	ttl, err := b.s.LeaseRenew(ctx, id)
	if errors.Is(err, mvcc.ErrLeaseNotFound) {
		ttl, err = 0, nil
	}
	if err != nil {
		return nil, err
	}
	return &v3http.LeaseKeepAlive{Revision: b.s.Store().Rev(), TTL: ttl}, nil
}
