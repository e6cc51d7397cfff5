package client

import (
	"context"
	"fmt"
)

// Header is etcd's ResponseHeader: which cluster and member answered, the
// store's revision when it answered, and the raft term.
type Header struct {
	ClusterID uint64
	MemberID  uint64
	Revision  int64
	RaftTerm  uint64
}

// KeyValue is one key with its metadata (etcd's mvccpb.KeyValue).
type KeyValue struct {
	Key            []byte
	Value          []byte
	CreateRevision int64 // revision of the last creation of the key
	ModRevision    int64 // revision of the last change
	Version        int64 // changes since creation (1 after creation)
	Lease          int64 // attached lease, 0 for none
}

// GetResponse is the answer to Get. Count is the number of keys in the
// range (before Limit); More says whether Limit cut the list.
type GetResponse struct {
	Header Header
	Kvs    []*KeyValue
	More   bool
	Count  int64
}

// PutResponse is the answer to Put; PrevKv is set only WithPrevKV and
// when the key existed.
type PutResponse struct {
	Header Header
	PrevKv *KeyValue
}

// DeleteResponse is the answer to Delete; PrevKvs only WithPrevKV.
type DeleteResponse struct {
	Header  Header
	Deleted int64
	PrevKvs []*KeyValue
}

// CompactResponse is the answer to Compact.
type CompactResponse struct {
	Header Header
}

func (r *wireRangeResponse) typed() *GetResponse {
	return &GetResponse{Header: r.Header.typed(), Kvs: typedKVs(r.Kvs), More: r.More, Count: int64(r.Count)}
}

func (r *wirePutResponse) typed() *PutResponse {
	return &PutResponse{Header: r.Header.typed(), PrevKv: r.PrevKv.typed()}
}

func (r *wireDeleteResponse) typed() *DeleteResponse {
	return &DeleteResponse{Header: r.Header.typed(), Deleted: int64(r.Deleted), PrevKvs: typedKVs(r.PrevKvs)}
}

// Get reads key (or a range, with options). It is a read: retried on
// another member on any failure until the deadline.
func (c *Client) Get(ctx context.Context, key string, opts ...OpOption) (*GetResponse, error) {
	op := OpGet(key, opts...)
	if op.err != nil {
		return nil, op.err
	}
	var out wireRangeResponse
	if err := c.call(ctx, "/v3/kv/range", kindRead, op.wireRange(), &out); err != nil {
		return nil, err
	}
	return out.typed(), nil
}

// Put writes key=val. It is a write: retried only when the failure
// proves it was not applied (doc.go). After any other failure the write
// may or may not have been applied.
func (c *Client) Put(ctx context.Context, key, val string, opts ...OpOption) (*PutResponse, error) {
	op := OpPut(key, val, opts...)
	if op.err != nil {
		return nil, op.err
	}
	var out wirePutResponse
	if err := c.call(ctx, "/v3/kv/put", kindWrite, op.wirePut(), &out); err != nil {
		return nil, err
	}
	return out.typed(), nil
}

// Delete deletes key (or a range, with options). A write, like Put.
func (c *Client) Delete(ctx context.Context, key string, opts ...OpOption) (*DeleteResponse, error) {
	op := OpDelete(key, opts...)
	if op.err != nil {
		return nil, op.err
	}
	var out wireDeleteResponse
	if err := c.call(ctx, "/v3/kv/deleterange", kindWrite, op.wireDelete(), &out); err != nil {
		return nil, err
	}
	return out.typed(), nil
}

// CompactOption changes a Compact.
type CompactOption func(*wireCompaction)

// WithPhysical makes Compact return only once the compaction has been
// applied to the store (etcd's physical flag).
func WithPhysical() CompactOption { return func(w *wireCompaction) { w.Physical = true } }

// Compact drops the history before rev. A write, like Put (compacting
// twice to the same revision fails with ErrCompacted the second time).
func (c *Client) Compact(ctx context.Context, rev int64, opts ...CompactOption) (*CompactResponse, error) {
	if rev <= 0 {
		return nil, fmt.Errorf("%w: compact revision must be positive, got %d", ErrInvalidOp, rev)
	}
	in := &wireCompaction{Revision: i64(rev)}
	for _, o := range opts {
		o(in)
	}
	var out struct {
		Header *wireHeader `json:"header"`
	}
	if err := c.call(ctx, "/v3/kv/compaction", kindWrite, in, &out); err != nil {
		return nil, err
	}
	return &CompactResponse{Header: out.Header.typed()}, nil
}
