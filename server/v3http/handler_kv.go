package v3http

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/shelf-kv/shelf/mvcc"
)

// The endpoints. Each decodes its request (a decoding error is
// InvalidArgument with the decoder's text), applies etcd's size limits,
// brings back the lenient etcd rules that mvcc deliberately does not have
// (see lenient*), calls the Backend and converts the answer.

// serveRange is POST /v3/kv/range. Ranges never go through raft in etcd,
// so only the gRPC receive limit applies. The top-level header carries the
// revision the read was served at.
func (h *Handler) serveRange(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decodeRange(raw)
	if err != nil {
		return nil, invalidArgument(err)
	}
	if err := h.checkSize(rangeSize(r), false, nil); err != nil {
		return nil, err
	}
	lenientRange(r)
	resp, err := h.cfg.Backend.Range(ctx, r)
	if err != nil {
		return nil, err
	}
	return toRange(resp, topHeader(resp.Header.Revision, h.cfg.Backend.Header())), nil
}

// servePut is POST /v3/kv/put: a raft write, so both size limits apply,
// with etcd's put validation (precheckPut) between them.
func (h *Handler) servePut(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decodePut(raw)
	if err != nil {
		return nil, invalidArgument(err)
	}
	if err := h.checkSize(putSize(r), true, func() error { return precheckPut(r) }); err != nil {
		return nil, err
	}
	resp, err := h.cfg.Backend.Put(ctx, r)
	if err != nil {
		return nil, err
	}
	return toPut(resp, topHeader(resp.Header.Revision, h.cfg.Backend.Header())), nil
}

// serveDeleteRange is POST /v3/kv/deleterange: a raft write. Deleting
// nothing answers the current revision and deleted 0 (omitted).
func (h *Handler) serveDeleteRange(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decodeDeleteRange(raw)
	if err != nil {
		return nil, invalidArgument(err)
	}
	precheck := func() error {
		if len(r.Key) == 0 {
			return mvcc.ErrEmptyKey
		}
		return nil
	}
	if err := h.checkSize(deleteRangeSize(r), true, precheck); err != nil {
		return nil, err
	}
	r.RangeEnd = lenientEnd(r.Key, r.RangeEnd)
	resp, err := h.cfg.Backend.DeleteRange(ctx, r)
	if err != nil {
		return nil, err
	}
	return toDeleteRange(resp, topHeader(resp.Header.Revision, h.cfg.Backend.Header())), nil
}

// serveTxn is POST /v3/kv/txn. A txn with a put or delete anywhere in it
// is a raft write (both size limits); a read-only one only has the gRPC
// limit, as in etcd. Responses nested in it carry revision-only headers.
func (h *Handler) serveTxn(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decodeTxn(raw, 1)
	if err != nil {
		return nil, invalidArgument(err)
	}
	if err := h.checkSize(txnSize(r), txnWrites(r), nil); err != nil {
		return nil, err
	}
	lenientTxn(r)
	resp, err := h.cfg.Backend.Txn(ctx, r)
	if err != nil {
		return nil, err
	}
	return toTxn(resp, topHeader(resp.Header.Revision, h.cfg.Backend.Header())), nil
}

// serveCompaction is POST /v3/kv/compaction: a raft write of a tiny
// request. Its header carries the current revision, not the compacted one.
func (h *Handler) serveCompaction(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decodeCompaction(raw)
	if err != nil {
		return nil, invalidArgument(err)
	}
	if err := h.checkSize(compactionSize(r), true, nil); err != nil {
		return nil, err
	}
	// etcd answers "compacted" for every revision <= the compact revision,
	// negative ones included; mvcc calls negatives a separate error.
	rev := max(r.Revision, 0)
	resp, err := h.cfg.Backend.Compact(ctx, rev, r.Physical)
	if err != nil {
		return nil, err
	}
	return &jsonCompactionResponse{Header: topHeader(resp.Header.Revision, h.cfg.Backend.Header())}, nil
}

// serveStatus is POST /v3/maintenance/status. Its body must still be valid
// JSON (etcd decodes the empty StatusRequest and reports syntax errors).
func (h *Handler) serveStatus(ctx context.Context, raw json.RawMessage) (any, error) {
	if err := decodeStatus(raw); err != nil {
		return nil, invalidArgument(err)
	}
	st, err := h.cfg.Backend.Status(ctx)
	if err != nil {
		return nil, err
	}
	return toStatus(st, h.cfg.Backend.Header()), nil
}

// precheckPut is etcd's checkPutRequest, run before refusing a put as too
// large so that a malformed huge put gets the same error as in etcd.
func precheckPut(r *mvcc.PutRequest) error {
	switch {
	case len(r.Key) == 0:
		return mvcc.ErrEmptyKey
	case r.IgnoreValue && len(r.Value) != 0:
		return mvcc.ErrValueProvided
	case r.IgnoreLease && r.Lease != 0:
		return mvcc.ErrLeaseProvided
	}
	return nil
}

// lenientEnd returns the range_end mvcc should see for etcd's answer: a
// range_end sorting before key (other than "\x00", "to the end") selects
// nothing in etcd, which is the empty range [key, key) in mvcc (mvcc
// itself refuses the inverted range).
func lenientEnd(key, end []byte) []byte {
	if len(end) == 0 || (len(end) == 1 && end[0] == 0) || bytes.Compare(end, key) >= 0 {
		return end
	}
	return key
}

// lenientRange applies etcd's leniency to a range: a negative revision
// reads at the current revision, and an inverted range is empty.
func lenientRange(r *mvcc.RangeRequest) {
	r.Revision = max(r.Revision, 0)
	r.RangeEnd = lenientEnd(r.Key, r.RangeEnd)
}

// lenientTxn applies lenientEnd to every range, delete and compare of a
// txn, at every depth.
func lenientTxn(r *mvcc.TxnRequest) {
	for _, c := range r.Compare {
		if c != nil {
			c.RangeEnd = lenientEnd(c.Key, c.RangeEnd)
		}
	}
	for _, ops := range [][]*mvcc.RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			if op == nil {
				continue
			}
			if rr := op.RequestRange; rr != nil {
				// Not the revision: etcd judges a negative revision in a
				// txn against its compact revision (compacted once any
				// compaction ran), which only mvcc knows; mvcc refuses it.
				rr.RangeEnd = lenientEnd(rr.Key, rr.RangeEnd)
			}
			if op.RequestDeleteRange != nil {
				d := op.RequestDeleteRange
				d.RangeEnd = lenientEnd(d.Key, d.RangeEnd)
			}
			if op.RequestTxn != nil {
				lenientTxn(op.RequestTxn)
			}
		}
	}
}
