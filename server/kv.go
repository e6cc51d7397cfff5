package server

import (
	"context"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
)

// requestTimeout bounds a client request that came without a deadline: long
// enough for an election and a retry, as etcd's default.
func (s *Server) requestTimeout() time.Duration {
	return 5*time.Second + 2*s.cfg.ElectionTimeout
}

func (s *Server) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.requestTimeout())
}

// Range reads keys. It is linearizable (ReadIndex, then the local store once
// it has applied that index) unless serializable is set, when it reads the
// local store as it is, possibly stale.
func (s *Server) Range(ctx context.Context, r *mvcc.RangeRequest, serializable bool) (*mvcc.RangeResponse, error) {
	if !serializable {
		if err := s.linearizableWait(ctx); err != nil {
			return nil, err
		}
	}
	return s.Store().Range(r)
}

// linearizableWait returns once the local store reflects every write
// acknowledged (by any member) before it was called.
func (s *Server) linearizableWait(ctx context.Context) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	idx, err := s.reads.readIndex(ctx)
	if err != nil {
		return err
	}
	select {
	case <-s.applied.wait(idx):
		return nil
	case <-ctx.Done():
		return ErrTimeout
	case <-s.stopc:
		return ErrStopped
	}
}

// Put writes a key through raft and returns once it is applied here.
func (s *Server) Put(ctx context.Context, r *mvcc.PutRequest) (*mvcc.PutResponse, error) {
	return proposeAs[*mvcc.PutResponse](ctx, s, &request{Put: r})
}

// DeleteRange deletes keys through raft.
func (s *Server) DeleteRange(ctx context.Context, r *mvcc.DeleteRangeRequest) (*mvcc.DeleteRangeResponse, error) {
	return proposeAs[*mvcc.DeleteRangeResponse](ctx, s, &request{DeleteRange: r})
}

// Txn runs a transaction: a read-only one like a linearizable read, any
// other through raft.
func (s *Server) Txn(ctx context.Context, r *mvcc.TxnRequest) (*mvcc.TxnResponse, error) {
	if err := mvcc.CheckTxnOps(r, s.cfg.MaxTxnOps); err != nil {
		return nil, err
	}
	if r != nil && txnReadOnly(r) {
		if err := s.linearizableWait(ctx); err != nil {
			return nil, err
		}
		return s.Store().ReadTxn(r)
	}
	return proposeAs[*mvcc.TxnResponse](ctx, s, &request{Txn: r})
}

// Compact compacts the keyspace at rev on every member.
func (s *Server) Compact(ctx context.Context, rev int64) (*mvcc.CompactResponse, error) {
	return proposeAs[*mvcc.CompactResponse](ctx, s, &request{Compact: &compactRequest{Revision: rev}})
}

// LeaseGrant grants a lease; id 0 picks a fresh one. ttl is raised to the
// minimum a lease can have without expiring during an election.
func (s *Server) LeaseGrant(ctx context.Context, id, ttl int64) (*mvcc.LeaseGrantResponse, error) {
	if ttl > mvcc.MaxLeaseTTL {
		return nil, ErrTTLOutOfRange
	}
	if min := s.minLeaseTTL(); ttl < min {
		ttl = min
	}
	for id == 0 {
		id = int64(s.reqID.Add(1) & (1<<63 - 1))
	}
	return proposeAs[*mvcc.LeaseGrantResponse](ctx, s, &request{LeaseGrant: &leaseGrantRequest{ID: id, TTL: ttl}})
}

// LeaseRevoke revokes a lease and deletes its keys in one revision.
func (s *Server) LeaseRevoke(ctx context.Context, id int64) (*mvcc.LeaseRevokeResponse, error) {
	return proposeAs[*mvcc.LeaseRevokeResponse](ctx, s, &request{LeaseRevoke: &leaseRevokeRequest{ID: id}})
}

// minLeaseTTL is etcd's: 1.5 election timeouts, rounded up to a second.
func (s *Server) minLeaseTTL() int64 {
	d := s.cfg.ElectionTimeout * 3 / 2
	return int64((d + time.Second - 1) / time.Second)
}

// proposeAndWait proposes req and waits until this member has applied it,
// returning the store's answer.
func (s *Server) proposeAndWait(ctx context.Context, req *request) (any, error) {
	if err := s.Err(); err != nil {
		return nil, ErrStopped
	}
	if req.Put != nil || (req.Txn != nil && !txnReadOnly(req.Txn)) || req.LeaseGrant != nil {
		// etcd's quota: once the keyspace is over --quota-backend-bytes,
		// writes that can grow it are refused; deletes, compaction and
		// lease revocation still go through so space can be reclaimed.
		if s.Store().Status().SizeInUse > s.cfg.QuotaBackendBytes {
			s.raiseNoSpace()
			return nil, ErrNoSpace
		}
		if err := s.clearNoSpace(ctx); err != nil {
			return nil, err
		}
	}
	req.ID = s.reqID.Add(1)
	data, err := req.encode()
	if err != nil {
		return nil, err
	}
	if len(data) > s.cfg.MaxRequestBytes+1024 {
		return nil, ErrRequestTooLarge
	}
	return s.submit(ctx, req.ID, proposal{data: data})
}

// submit hands p to the raft loop and waits until the entry carrying
// request id is applied here, returning what applying it produced. Raft's
// refusal (no leader, a pending membership change...) comes back at once;
// a proposal lost with a leader times out.
func (s *Server) submit(ctx context.Context, id uint64, p proposal) (any, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	ch := s.waits.register(id)
	p.errc = make(chan error, 1)
	fail := func(err error) (any, error) {
		s.waits.cancel(id)
		return nil, err
	}
	select {
	case s.propc <- p:
	case <-ctx.Done():
		return fail(ErrTimeout)
	case <-s.stopc:
		return fail(ErrStopped)
	}
	select {
	case err := <-p.errc:
		if err != nil {
			return fail(err)
		}
	case <-s.stopc:
		return fail(ErrStopped)
	}
	select {
	case r := <-ch:
		return r.resp, r.err
	case <-ctx.Done():
		return fail(ErrTimeout)
	case <-s.stopc:
		return fail(ErrStopped)
	}
}

// proposeAs is proposeAndWait with the response typed.
func proposeAs[T any](ctx context.Context, s *Server, req *request) (T, error) {
	var zero T
	resp, err := s.proposeAndWait(ctx, req)
	if err != nil {
		return zero, err
	}
	return resp.(T), nil
}

// txnReadOnly reports whether r (and every nested txn) only reads.
func txnReadOnly(r *mvcc.TxnRequest) bool {
	for _, ops := range [][]*mvcc.RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			switch {
			case op == nil:
			case op.RequestPut != nil, op.RequestDeleteRange != nil:
				return false
			case op.RequestTxn != nil && !txnReadOnly(op.RequestTxn):
				return false
			}
		}
	}
	return true
}

// leaseCheckInterval is how often the leader looks for expired leases
// (etcd's is 500ms): finer than a second, the unit of a TTL, without
// scanning every lease on every tick of the raft loop.
const leaseCheckInterval = 500 * time.Millisecond

// tickLeases runs on the raft loop every tick. Every leaseCheckInterval the
// leader proposes the revocation of each expired lease (only the leader
// expires leases; the revoke is replicated like any write). A lease whose
// revoke is in flight is not proposed again until an election timeout has
// passed without it being applied.
func (s *Server) tickLeases() {
	s.leaseTicks++
	if !s.isLeader || s.leaseTicks%s.ticksPer(leaseCheckInterval) != 0 {
		return
	}
	for id, at := range s.revoking {
		if s.leaseTicks-at >= s.ticksPer(s.cfg.ElectionTimeout) {
			delete(s.revoking, id) // lost with a leader change, or applied: retry if still expired
		}
	}
	for _, id := range s.Store().Expired() {
		if _, inFlight := s.revoking[id]; inFlight {
			continue
		}
		req := request{LeaseRevoke: &leaseRevokeRequest{ID: id}}
		data, err := req.encode()
		if err != nil {
			continue
		}
		if err := s.rn.Propose(data); err != nil {
			return
		}
		s.revoking[id] = s.leaseTicks
	}
}

// ticksPer is how many raft ticks make d (at least one).
func (s *Server) ticksPer(d time.Duration) uint64 {
	return uint64(max(1, d/s.cfg.HeartbeatInterval))
}
