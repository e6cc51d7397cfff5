package v3http

import (
	"context"
	"sync"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// StoreBackend is a Backend served directly by one mvcc.Store, without
// raft: every write gets the next raft index from a counter. It is the
// in-memory implementation that tests (and a single-process dev server)
// use; reads are always current, so serializable and linearizable reads
// are the same.
type StoreBackend struct {
	store   *mvcc.Store
	hdr     HeaderInfo
	version string

	// mu serializes writes: mvcc wants one writer, and the index counter
	// must advance in the order writes are applied.
	mu struct {
		sync.Mutex
		// next is the raft index of the next write.
		// Invariant: next > store.AppliedIndex().
		next raftpb.Index
	}
}

var _ Backend = (*StoreBackend)(nil)

// NewStoreBackend serves store with the given identity (Header) and
// version string (Status). The caller keeps ownership of store and closes
// it after the last request. It makes the store's lessor primary.
func NewStoreBackend(store *mvcc.Store, hdr HeaderInfo, version string) *StoreBackend {
	b := &StoreBackend{store: store, hdr: hdr, version: version}
	b.mu.next = store.AppliedIndex() + 1
	store.Promote(0) // the single member leads: its lessor runs deadlines (nothing revokes expired leases)
	return b
}

// write runs fn with the next raft index under the write lock. The index is
// consumed whatever fn returns, as mvcc records failed entries as applied.
func (b *StoreBackend) write(fn func(idx raftpb.Index)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fn(b.mu.next)
	b.mu.next++
}

// Range reads from the store.
func (b *StoreBackend) Range(ctx context.Context, r *mvcc.RangeRequest) (*mvcc.RangeResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b.store.Range(r)
}

// Put applies r as the next index.
func (b *StoreBackend) Put(ctx context.Context, r *mvcc.PutRequest) (resp *mvcc.PutResponse, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.write(func(idx raftpb.Index) { resp, err = b.store.Put(idx, r) })
	return resp, err
}

// DeleteRange applies r as the next index.
func (b *StoreBackend) DeleteRange(ctx context.Context, r *mvcc.DeleteRangeRequest) (resp *mvcc.DeleteRangeResponse, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.write(func(idx raftpb.Index) { resp, err = b.store.DeleteRange(idx, r) })
	return resp, err
}

// Txn applies r as the next index (read-only txns too: it keeps the
// code path single, and mvcc does not bump the revision for them).
func (b *StoreBackend) Txn(ctx context.Context, r *mvcc.TxnRequest) (resp *mvcc.TxnResponse, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.write(func(idx raftpb.Index) { resp, err = b.store.Txn(idx, r) })
	return resp, err
}

// Compact compacts at rev as the next index. physical is ignored: mvcc's
// answers at or above rev are the same before and after the sweep.
func (b *StoreBackend) Compact(ctx context.Context, rev int64, physical bool) (resp *mvcc.CompactResponse, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.write(func(idx raftpb.Index) { resp, err = b.store.Compact(idx, rev) })
	return resp, err
}

// Status reports the store's counters as a single, always-leader member.
func (b *StoreBackend) Status(ctx context.Context) (StatusInfo, error) {
	if err := ctx.Err(); err != nil {
		return StatusInfo{}, err
	}
	st := b.store.Status()
	return StatusInfo{
		Revision:         int64(st.Revision),
		Version:          b.version,
		DBSize:           st.SizeTotal,
		DBSizeInUse:      st.SizeInUse,
		Leader:           b.hdr.MemberID,
		RaftIndex:        uint64(st.AppliedIndex),
		RaftTerm:         b.hdr.RaftTerm,
		RaftAppliedIndex: uint64(st.AppliedIndex),
	}, nil
}

// Header returns the identity given to NewStoreBackend.
func (b *StoreBackend) Header() HeaderInfo { return b.hdr }
