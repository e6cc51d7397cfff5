package v3http

import (
	"strconv"

	"github.com/shelf-kv/shelf/mvcc"
)

// Response shapes: hand-written mirrors of etcd's messages whose json tags
// give etcd's field names in protobuf field order (encoding/json writes
// struct fields in declaration order, which is the order etcd writes).
// omitempty drops zero values as jsonpb does; message fields are pointers
// so that a present but empty message still prints as {} (the header of a
// nested txn).

// i64 is an int64 written as a decimal JSON string, as jsonpb writes int64.
type i64 int64

func (v i64) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendInt(b, int64(v), 10)
	return append(b, '"'), nil
}

// u64 is a uint64 written as a decimal JSON string.
type u64 uint64

func (v u64) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendUint(b, uint64(v), 10)
	return append(b, '"'), nil
}

// jsonHeader is etcd's ResponseHeader. Top-level responses fill all four
// fields (topHeader); responses nested in a txn only Revision
// (nestedHeader), and a nested txn's header is empty: {}.
type jsonHeader struct {
	ClusterID u64 `json:"cluster_id,omitempty"`
	MemberID  u64 `json:"member_id,omitempty"`
	Revision  i64 `json:"revision,omitempty"`
	RaftTerm  u64 `json:"raft_term,omitempty"`
}

// jsonKV is etcd's mvccpb.KeyValue. Key and Value alias the store's
// slices (read-only); an empty value and lease 0 are omitted.
type jsonKV struct {
	Key            []byte `json:"key,omitempty"`
	CreateRevision i64    `json:"create_revision,omitempty"`
	ModRevision    i64    `json:"mod_revision,omitempty"`
	Version        i64    `json:"version,omitempty"`
	Value          []byte `json:"value,omitempty"`
	Lease          i64    `json:"lease,omitempty"`
}

// jsonRangeResponse is etcd's RangeResponse: no kvs, more=false and
// count=0 are omitted, so a miss is just the header.
type jsonRangeResponse struct {
	Header *jsonHeader `json:"header,omitempty"`
	Kvs    []*jsonKV   `json:"kvs,omitempty"`
	More   bool        `json:"more,omitempty"`
	Count  i64         `json:"count,omitempty"`
}

// jsonPutResponse is etcd's PutResponse; prev_kv only when asked for and
// the key existed.
type jsonPutResponse struct {
	Header *jsonHeader `json:"header,omitempty"`
	PrevKv *jsonKV     `json:"prev_kv,omitempty"`
}

// jsonDeleteRangeResponse is etcd's DeleteRangeResponse; prev_kvs only
// when asked for and something was deleted.
type jsonDeleteRangeResponse struct {
	Header  *jsonHeader `json:"header,omitempty"`
	Deleted i64         `json:"deleted,omitempty"`
	PrevKvs []*jsonKV   `json:"prev_kvs,omitempty"`
}

// jsonTxnResponse is etcd's TxnResponse: one response per op of the
// branch taken, in order; succeeded is omitted when the failure branch ran.
type jsonTxnResponse struct {
	Header    *jsonHeader       `json:"header,omitempty"`
	Succeeded bool              `json:"succeeded,omitempty"`
	Responses []*jsonResponseOp `json:"responses,omitempty"`
}

// jsonResponseOp is etcd's ResponseOp: exactly one field is set, the one
// matching the request op.
type jsonResponseOp struct {
	ResponseRange       *jsonRangeResponse       `json:"response_range,omitempty"`
	ResponsePut         *jsonPutResponse         `json:"response_put,omitempty"`
	ResponseDeleteRange *jsonDeleteRangeResponse `json:"response_delete_range,omitempty"`
	ResponseTxn         *jsonTxnResponse         `json:"response_txn,omitempty"`
}

// jsonCompactionResponse is etcd's CompactionResponse: only a header.
type jsonCompactionResponse struct {
	Header *jsonHeader `json:"header,omitempty"`
}

// jsonStatusResponse is etcd's StatusResponse; its .proto names the fields
// in camelCase, so that is what etcd writes.
type jsonStatusResponse struct {
	Header           *jsonHeader `json:"header,omitempty"`
	Version          string      `json:"version,omitempty"`
	DBSize           i64         `json:"dbSize,omitempty"`
	Leader           u64         `json:"leader,omitempty"`
	RaftIndex        u64         `json:"raftIndex,omitempty"`
	RaftTerm         u64         `json:"raftTerm,omitempty"`
	RaftAppliedIndex u64         `json:"raftAppliedIndex,omitempty"`
	Errors           []string    `json:"errors,omitempty"`
	DBSizeInUse      i64         `json:"dbSizeInUse,omitempty"`
	IsLearner        bool        `json:"isLearner,omitempty"`
}

// jsonError is the gateway's error body. Error and Message carry the same
// text (grpc-gateway 1.x's errorBody keeps both).
type jsonError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Code    Code   `json:"code"`
}

// topHeader is the header of a top-level response: the store's revision
// plus the Backend's identity and term.
func topHeader(rev int64, h HeaderInfo) *jsonHeader {
	return &jsonHeader{ClusterID: u64(h.ClusterID), MemberID: u64(h.MemberID), Revision: i64(rev), RaftTerm: u64(h.RaftTerm)}
}

// nestedHeader is the header of a response inside a txn: revision only.
func nestedHeader(h mvcc.ResponseHeader) *jsonHeader { return &jsonHeader{Revision: i64(h.Revision)} }

// toKV converts one key-value; nil stays nil (an absent prev_kv).
func toKV(kv *mvcc.KeyValue) *jsonKV {
	if kv == nil {
		return nil
	}
	return &jsonKV{Key: kv.Key, CreateRevision: i64(kv.CreateRevision), ModRevision: i64(kv.ModRevision),
		Version: i64(kv.Version), Value: kv.Value, Lease: i64(kv.Lease)}
}

// toKVs converts a list; an empty list becomes nil so it is omitted.
func toKVs(kvs []*mvcc.KeyValue) []*jsonKV {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]*jsonKV, len(kvs))
	for i, kv := range kvs {
		out[i] = toKV(kv)
	}
	return out
}

// The to* converters take the header to use, so the same code serves top
// level (topHeader) and txn-nested (nestedHeader) responses.

func toRange(r *mvcc.RangeResponse, h *jsonHeader) *jsonRangeResponse {
	return &jsonRangeResponse{Header: h, Kvs: toKVs(r.Kvs), More: r.More, Count: i64(r.Count)}
}

func toPut(r *mvcc.PutResponse, h *jsonHeader) *jsonPutResponse {
	return &jsonPutResponse{Header: h, PrevKv: toKV(r.PrevKv)}
}

func toDeleteRange(r *mvcc.DeleteRangeResponse, h *jsonHeader) *jsonDeleteRangeResponse {
	return &jsonDeleteRangeResponse{Header: h, Deleted: i64(r.Deleted), PrevKvs: toKVs(r.PrevKvs)}
}

func toTxn(r *mvcc.TxnResponse, h *jsonHeader) *jsonTxnResponse {
	out := &jsonTxnResponse{Header: h, Succeeded: r.Succeeded}
	if len(r.Responses) > 0 {
		out.Responses = make([]*jsonResponseOp, len(r.Responses))
	}
	for i, op := range r.Responses {
		jo := &jsonResponseOp{}
		switch {
		case op == nil:
		case op.ResponseRange != nil:
			jo.ResponseRange = toRange(op.ResponseRange, nestedHeader(op.ResponseRange.Header))
		case op.ResponsePut != nil:
			jo.ResponsePut = toPut(op.ResponsePut, nestedHeader(op.ResponsePut.Header))
		case op.ResponseDeleteRange != nil:
			jo.ResponseDeleteRange = toDeleteRange(op.ResponseDeleteRange, nestedHeader(op.ResponseDeleteRange.Header))
		case op.ResponseTxn != nil:
			jo.ResponseTxn = toTxn(op.ResponseTxn, nestedHeader(op.ResponseTxn.Header))
		}
		out.Responses[i] = jo
	}
	return out
}

// toStatus converts a Backend's StatusInfo; its Revision goes into the
// header, as etcd reports the store's revision there.
func toStatus(s StatusInfo, h HeaderInfo) *jsonStatusResponse {
	return &jsonStatusResponse{
		Header:           topHeader(s.Revision, h),
		Version:          s.Version,
		DBSize:           i64(s.DBSize),
		Leader:           u64(s.Leader),
		RaftIndex:        u64(s.RaftIndex),
		RaftTerm:         u64(s.RaftTerm),
		RaftAppliedIndex: u64(s.RaftAppliedIndex),
		Errors:           s.Errors,
		DBSizeInUse:      i64(s.DBSizeInUse),
		IsLearner:        s.IsLearner,
	}
}
