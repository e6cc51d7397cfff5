package v3http

import (
	"encoding/json"
	"fmt"

	"github.com/shelf-kv/shelf/mvcc"
)

// Request decoders, one per etcd request message. Each decodes its fields
// in protobuf field order (see json_decode.go for why) and returns the
// first error; the handler reports it as InvalidArgument with its text.

// Enum descriptions, with etcd's generated names (they appear in errors).
var (
	sortOrderEnum  = enumType{"etcdserverpb.RangeRequest_SortOrder", []string{"NONE", "ASCEND", "DESCEND"}}
	sortTargetEnum = enumType{"etcdserverpb.RangeRequest_SortTarget", []string{"KEY", "VERSION", "CREATE", "MOD", "VALUE"}}
	cmpResultEnum  = enumType{"etcdserverpb.Compare_CompareResult", []string{"EQUAL", "GREATER", "LESS", "NOT_EQUAL"}}
	cmpTargetEnum  = enumType{"etcdserverpb.Compare_CompareTarget", []string{"VERSION", "CREATE", "MOD", "VALUE", "LEASE"}}
)

// maxDecodeDepth caps txn nesting while decoding. Each level re-reads the
// bytes below it, so without a cap a deeply nested body would cost time
// quadratic in its size. mvcc refuses anything deeper than its own,
// smaller MaxTxnDepth anyway.
const maxDecodeDepth = 64

// decodeRange decodes etcd's RangeRequest. Unknown enum numbers and
// negative revisions are kept as given: mvcc and lenientRange decide.
func decodeRange(raw json.RawMessage) (*mvcc.RangeRequest, error) {
	r := &mvcc.RangeRequest{}
	f := newFields(raw)
	f.bytes("key", "key", &r.Key)
	f.bytes("range_end", "rangeEnd", &r.RangeEnd)
	f.int64("limit", "limit", &r.Limit)
	f.int64("revision", "revision", &r.Revision)
	enumField(f, "sort_order", "sortOrder", &r.SortOrder, sortOrderEnum)
	enumField(f, "sort_target", "sortTarget", &r.SortTarget, sortTargetEnum)
	f.bool("serializable", "serializable", &r.Serializable)
	f.bool("keys_only", "keysOnly", &r.KeysOnly)
	f.bool("count_only", "countOnly", &r.CountOnly)
	f.int64("min_mod_revision", "minModRevision", &r.MinModRevision)
	f.int64("max_mod_revision", "maxModRevision", &r.MaxModRevision)
	f.int64("min_create_revision", "minCreateRevision", &r.MinCreateRevision)
	f.int64("max_create_revision", "maxCreateRevision", &r.MaxCreateRevision)
	return r, f.err
}

// decodePut decodes etcd's PutRequest. Value and key are fresh slices
// owned by the request.
func decodePut(raw json.RawMessage) (*mvcc.PutRequest, error) {
	r := &mvcc.PutRequest{}
	f := newFields(raw)
	f.bytes("key", "key", &r.Key)
	f.bytes("value", "value", &r.Value)
	f.int64("lease", "lease", &r.Lease)
	f.bool("prev_kv", "prevKv", &r.PrevKv)
	f.bool("ignore_value", "ignoreValue", &r.IgnoreValue)
	f.bool("ignore_lease", "ignoreLease", &r.IgnoreLease)
	return r, f.err
}

// decodeDeleteRange decodes etcd's DeleteRangeRequest.
func decodeDeleteRange(raw json.RawMessage) (*mvcc.DeleteRangeRequest, error) {
	r := &mvcc.DeleteRangeRequest{}
	f := newFields(raw)
	f.bytes("key", "key", &r.Key)
	f.bytes("range_end", "rangeEnd", &r.RangeEnd)
	f.bool("prev_kv", "prevKv", &r.PrevKv)
	return r, f.err
}

// compactionRequest is etcd's CompactionRequest. mvcc has no request type
// for it (Compact takes the revision), so it is declared here.
type compactionRequest struct {
	Revision int64
	Physical bool
}

// decodeCompaction decodes etcd's CompactionRequest.
func decodeCompaction(raw json.RawMessage) (*compactionRequest, error) {
	r := &compactionRequest{}
	f := newFields(raw)
	f.int64("revision", "revision", &r.Revision)
	f.bool("physical", "physical", &r.Physical)
	return r, f.err
}

// decodeStatus decodes etcd's StatusRequest, which has no fields: only
// the JSON syntax and the object shape are checked.
func decodeStatus(raw json.RawMessage) error {
	return newFields(raw).err
}

// decodeTxn decodes etcd's TxnRequest; depth is 1 for the outermost txn.
// A null element of compare, success or failure is an empty message (etcd
// 3.4 crashes the request instead; see doc.go).
func decodeTxn(raw json.RawMessage, depth int) (*mvcc.TxnRequest, error) {
	if depth > maxDecodeDepth {
		return nil, fmt.Errorf("%w: deeper than %d while decoding", mvcc.ErrTxnTooDeep, maxDecodeDepth)
	}
	r := &mvcc.TxnRequest{}
	f := newFields(raw)
	f.repeated("compare", "compare", func(el json.RawMessage) error {
		c, err := decodeCompare(el)
		r.Compare = append(r.Compare, c)
		return err
	})
	for _, branch := range []struct {
		name string
		dst  *[]*mvcc.RequestOp
	}{{"success", &r.Success}, {"failure", &r.Failure}} {
		f.repeated(branch.name, branch.name, func(el json.RawMessage) error {
			op, err := decodeRequestOp(el, depth)
			*branch.dst = append(*branch.dst, op)
			return err
		})
	}
	return r, f.err
}

// decodeCompare decodes etcd's Compare. The target_union fields are all
// kept; mvcc only reads the one Target names.
func decodeCompare(raw json.RawMessage) (*mvcc.Compare, error) {
	c := &mvcc.Compare{}
	f := newFields(raw)
	enumField(f, "result", "result", &c.Result, cmpResultEnum)
	enumField(f, "target", "target", &c.Target, cmpTargetEnum)
	f.bytes("key", "key", &c.Key)
	f.bytes("range_end", "rangeEnd", &c.RangeEnd)
	// target_union, after the regular fields as in jsonpb.
	f.int64("version", "version", &c.Version)
	f.int64("create_revision", "createRevision", &c.CreateRevision)
	f.int64("mod_revision", "modRevision", &c.ModRevision)
	f.bytes("value", "value", &c.Value)
	f.int64("lease", "lease", &c.Lease)
	return c, f.err
}

// decodeRequestOp decodes etcd's RequestOp inside a txn at depth. Setting
// more than one request is kept as is, for mvcc to refuse.
func decodeRequestOp(raw json.RawMessage, depth int) (*mvcc.RequestOp, error) {
	op := &mvcc.RequestOp{}
	f := newFields(raw)
	f.message("request_range", "requestRange", func(raw json.RawMessage) (err error) {
		op.RequestRange, err = decodeRange(raw)
		return err
	})
	f.message("request_put", "requestPut", func(raw json.RawMessage) (err error) {
		op.RequestPut, err = decodePut(raw)
		return err
	})
	f.message("request_delete_range", "requestDeleteRange", func(raw json.RawMessage) (err error) {
		op.RequestDeleteRange, err = decodeDeleteRange(raw)
		return err
	})
	f.message("request_txn", "requestTxn", func(raw json.RawMessage) (err error) {
		op.RequestTxn, err = decodeTxn(raw, depth+1)
		return err
	})
	return op, f.err
}
