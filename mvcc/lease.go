package mvcc

import (
	"fmt"
	"sort"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// lease is one granted lease. Guarded by Store.mu.
type lease struct {
	id  int64
	ttl int64 // granted TTL in seconds
	// expiry is the deadline; the zero time means "never" (the lessor is
	// not primary, as on followers).
	expiry time.Time
	keys   map[string]struct{}
}

// lessor is etcd's lessor without timers: expiry is decided only when asked,
// against the injected clock. Guarded by Store.mu.
type lessor struct {
	leases  map[int64]*lease
	primary bool
}

// init prepares an empty, non-primary lessor.
func (le *lessor) init() { le.leases = make(map[int64]*lease) }

// exists reports whether lease id is granted.
func (le *lessor) exists(id int64) bool { _, ok := le.leases[id]; return ok }

// attach records that key carries lease id (0 = none).
func (le *lessor) attach(id int64, key string) {
	if l := le.leases[id]; l != nil {
		l.keys[key] = struct{}{}
	}
}

// detach forgets that key carries lease id (0 = none).
func (le *lessor) detach(id int64, key string) {
	if l := le.leases[id]; l != nil {
		delete(l.keys, key)
	}
}

// LeaseGrantResponse is etcd's LeaseGrantResponse.
type LeaseGrantResponse struct {
	Header ResponseHeader
	ID     int64
	TTL    int64
}

// LeaseRevokeResponse is etcd's LeaseRevokeResponse.
type LeaseRevokeResponse struct {
	Header ResponseHeader
}

// LeaseTimeToLiveResponse is etcd's LeaseTimeToLiveResponse. On a store
// that is not primary, TTL reports the granted TTL (no deadline runs there;
// the server forwards TimeToLive to the leader like etcd does).
type LeaseTimeToLiveResponse struct {
	Header     ResponseHeader
	ID         int64
	TTL        int64
	GrantedTTL int64
	Keys       [][]byte
}

// LeaseGrant applies a lease grant as raft entry idx. The caller chooses the
// ID (non-zero) and has already raised ttl to its minimum. A primary lessor
// starts the deadline now; a non-primary one keeps the lease forever until
// Promote. Errors still record idx as applied.
func (s *Store) LeaseGrant(idx raftpb.Index, id, ttl int64) (*LeaseGrantResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginApplyLocked(idx); err != nil {
		return nil, err
	}
	le := &s.mu.lessor
	switch {
	case id == 0:
		return nil, fmt.Errorf("%w: lease ID 0", ErrInvalidLease)
	case ttl > MaxLeaseTTL:
		return nil, fmt.Errorf("%w: %d > %d", ErrLeaseTTLTooLarge, ttl, int64(MaxLeaseTTL))
	case ttl <= 0:
		return nil, fmt.Errorf("%w: TTL %d <= 0", ErrInvalidLease, ttl)
	case le.exists(id):
		return nil, fmt.Errorf("%w: %d", ErrLeaseExists, id)
	}
	l := &lease{id: id, ttl: ttl, keys: make(map[string]struct{})}
	if le.primary {
		l.expiry = s.cfg.Clock.Now().Add(time.Duration(ttl) * time.Second)
	}
	le.leases[id] = l
	return &LeaseGrantResponse{Header: ResponseHeader{Revision: s.mu.rev}, ID: id, TTL: ttl}, nil
}

// LeaseRevoke applies a lease revoke as raft entry idx: every attached key
// is deleted, in key order, in ONE revision (none if there are no keys),
// then the lease is forgotten. Errors still record idx as applied.
func (s *Store) LeaseRevoke(idx raftpb.Index, id int64) (*LeaseRevokeResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginApplyLocked(idx); err != nil {
		return nil, err
	}
	l := s.mu.lessor.leases[id]
	if l == nil {
		return nil, fmt.Errorf("%w: %d", ErrLeaseNotFound, id)
	}
	tw := s.beginWriteLocked()
	for _, k := range sortedKeys(l.keys) {
		if it, ok := s.mu.tree.Get(keyItem{key: k}); ok {
			tw.del(it)
		}
	}
	delete(s.mu.lessor.leases, id)
	return &LeaseRevokeResponse{Header: ResponseHeader{Revision: tw.end()}}, nil
}

// LeaseRenew is a keepalive: it restarts the lease's deadline from now and
// returns its TTL. Only a primary lessor renews (ErrNotPrimary otherwise);
// an expired lease is ErrLeaseNotFound, as etcd reports once it revoked it.
// Not a raft operation: it takes no index.
func (s *Store) LeaseRenew(id int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	le := &s.mu.lessor
	if !le.primary {
		return -1, ErrNotPrimary
	}
	l := le.leases[id]
	now := s.cfg.Clock.Now()
	if l == nil || !now.Before(l.expiry) {
		return -1, fmt.Errorf("%w: %d", ErrLeaseNotFound, id)
	}
	l.expiry = now.Add(time.Duration(l.ttl) * time.Second)
	return l.ttl, nil
}

// LeaseTimeToLive reports the remaining TTL (whole seconds, truncated as in
// etcd) and, with keys, the attached keys in order. A missing lease is
// ErrLeaseNotFound (etcd's HTTP layer renders it as TTL -1).
func (s *Store) LeaseTimeToLive(id int64, keys bool) (*LeaseTimeToLiveResponse, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l := s.mu.lessor.leases[id]
	if l == nil {
		return nil, fmt.Errorf("%w: %d", ErrLeaseNotFound, id)
	}
	resp := &LeaseTimeToLiveResponse{Header: ResponseHeader{Revision: s.mu.rev}, ID: id, TTL: l.ttl, GrantedTTL: l.ttl}
	if !l.expiry.IsZero() {
		rem := l.expiry.Sub(s.cfg.Clock.Now())
		if rem <= 0 {
			return nil, fmt.Errorf("%w: %d expired", ErrLeaseNotFound, id)
		}
		resp.TTL = int64(rem.Seconds())
	}
	if keys {
		for _, k := range sortedKeys(l.keys) {
			resp.Keys = append(resp.Keys, []byte(k))
		}
	}
	return resp, nil
}

// LeaseStatus is one entry of Leases.
type LeaseStatus struct {
	ID, TTL int64
}

// Leases lists every lease, ordered by ID, with its granted TTL.
func (s *Store) Leases() []LeaseStatus {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]LeaseStatus, 0, len(s.mu.lessor.leases))
	for _, l := range s.mu.lessor.leases {
		out = append(out, LeaseStatus{ID: l.id, TTL: l.ttl})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Expired returns the leases whose deadline has passed, earliest deadline
// first (ties by ID): the ones the leader should revoke through raft.
// A non-primary lessor has none.
func (s *Store) Expired() []int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.mu.lessor.primary {
		return nil
	}
	now := s.cfg.Clock.Now()
	var ls []*lease
	for _, l := range s.mu.lessor.leases {
		if !now.Before(l.expiry) {
			ls = append(ls, l)
		}
	}
	sort.Slice(ls, func(i, j int) bool {
		if !ls[i].expiry.Equal(ls[j].expiry) {
			return ls[i].expiry.Before(ls[j].expiry)
		}
		return ls[i].id < ls[j].id
	})
	ids := make([]int64, len(ls))
	for i, l := range ls {
		ids[i] = l.id
	}
	return ids
}

// Promote makes the lessor primary (this member became leader): every
// deadline restarts at now + extend + TTL, like etcd's lessor.Promote.
func (s *Store) Promote(extend time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock.Now()
	s.mu.lessor.primary = true
	for _, l := range s.mu.lessor.leases {
		l.expiry = now.Add(extend + time.Duration(l.ttl)*time.Second)
	}
}

// IsPrimary reports whether the lessor is primary (runs deadlines).
func (s *Store) IsPrimary() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mu.lessor.primary
}

// Demote makes the lessor non-primary (leadership lost): leases never
// expire until the next Promote.
func (s *Store) Demote() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.lessor.primary = false
	for _, l := range s.mu.lessor.leases {
		l.expiry = time.Time{}
	}
}
