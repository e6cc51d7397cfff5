package v3http

import (
	"context"
	"errors"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// StoreMinLeaseTTL is the minimum TTL StoreBackend grants: etcd's
// minLeaseTTL with its default 1 s election timeout (1.5 elections,
// rounded up to a second).
const StoreMinLeaseTTL = 2

// storeLeaseIDBase is where StoreBackend's lease IDs for "ID 0" start
// (etcd picks a random one).
const storeLeaseIDBase = 0x10000000

// LeaseGrant grants id (0: the next free ID above storeLeaseIDBase) as the
// next index, raising ttl to StoreMinLeaseTTL.
func (b *StoreBackend) LeaseGrant(ctx context.Context, id, ttl int64) (resp *mvcc.LeaseGrantResponse, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ttl = max(ttl, StoreMinLeaseTTL)
	b.write(func(idx raftpb.Index) {
		if id == 0 {
			id = storeLeaseIDBase + int64(idx)
			for {
				if _, e := b.store.LeaseTimeToLive(id, false); errors.Is(e, mvcc.ErrLeaseNotFound) {
					break
				}
				id++
			}
		}
		resp, err = b.store.LeaseGrant(idx, id, ttl)
	})
	return resp, err
}

// LeaseRevoke revokes id as the next index.
func (b *StoreBackend) LeaseRevoke(ctx context.Context, id int64) (resp *mvcc.LeaseRevokeResponse, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.write(func(idx raftpb.Index) { resp, err = b.store.LeaseRevoke(idx, id) })
	return resp, err
}

// LeaseTimeToLive reads the store's lessor (TTL -1 for a missing lease).
func (b *StoreBackend) LeaseTimeToLive(ctx context.Context, id int64, keys bool) (*mvcc.LeaseTimeToLiveResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp, err := b.store.LeaseTimeToLive(id, keys)
	if errors.Is(err, mvcc.ErrLeaseNotFound) {
		return &mvcc.LeaseTimeToLiveResponse{Header: mvcc.ResponseHeader{Revision: b.store.Rev()}, ID: id, TTL: -1}, nil
	}
	return resp, err
}

// LeaseLeases lists the store's leases, by ID.
func (b *StoreBackend) LeaseLeases(ctx context.Context) (*LeaseList, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := &LeaseList{Revision: b.store.Rev()}
	for _, l := range b.store.Leases() {
		out.IDs = append(out.IDs, l.ID)
	}
	return out, nil
}

// LeaseKeepAlive renews id. The store's lessor must be primary (see
// NewStoreBackend); a missing or expired lease answers TTL 0.
func (b *StoreBackend) LeaseKeepAlive(ctx context.Context, id int64) (*LeaseKeepAlive, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ttl, err := b.store.LeaseRenew(id)
	if errors.Is(err, mvcc.ErrLeaseNotFound) {
		return &LeaseKeepAlive{Revision: b.store.Rev()}, nil
	}
	if err != nil {
		return nil, err
	}
	return &LeaseKeepAlive{Revision: b.store.Rev(), TTL: ttl}, nil
}
