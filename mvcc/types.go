package mvcc

import (
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Revision is a main revision of the keyspace: the logical clock that every
// changing request advances by exactly one.
// Never change the underlying type: it is written into snapshots.
type Revision int64

// String formats the revision as a decimal number.
func (r Revision) String() string { return fmt.Sprintf("%d", int64(r)) }

// KeyValue is one version of a key, shaped like etcd's mvccpb.KeyValue.
// Slices in a KeyValue returned by the store are shared with the store and
// must not be modified by the caller.
type KeyValue struct {
	Key []byte
	// CreateRevision is the revision of the put that started this
	// generation of the key; 0 in a DELETE event.
	CreateRevision int64
	// ModRevision is the revision of the last change to the key.
	ModRevision int64
	// Version counts puts in this generation, starting at 1; 0 = deleted.
	Version int64
	Value   []byte
	// Lease is the attached lease ID, 0 for none.
	Lease int64
}

// ResponseHeader carries the store revision a response was produced at.
// The server adds cluster id, member id and raft term.
type ResponseHeader struct {
	Revision int64
}

// SortOrder is etcd's RangeRequest.SortOrder.
type SortOrder int32

// SortTarget is etcd's RangeRequest.SortTarget.
type SortTarget int32

// Sort orders and targets, numbered as in etcd's protobuf.
const (
	SortNone    SortOrder = 0
	SortAscend  SortOrder = 1
	SortDescend SortOrder = 2

	SortByKey     SortTarget = 0
	SortByVersion SortTarget = 1
	SortByCreate  SortTarget = 2
	SortByMod     SortTarget = 3
	SortByValue   SortTarget = 4
)

// RangeRequest is etcd's RangeRequest. RangeEnd empty = the single Key;
// RangeEnd "\x00" = every key >= Key; otherwise [Key, RangeEnd).
type RangeRequest struct {
	Key, RangeEnd []byte
	// Limit > 0 caps the number of returned keys (More reports the rest).
	Limit int64
	// Revision to read at; 0 = current.
	Revision          int64
	SortOrder         SortOrder
	SortTarget        SortTarget
	Serializable      bool // ignored here: the server decides how to read
	KeysOnly          bool
	CountOnly         bool
	MinModRevision    int64
	MaxModRevision    int64
	MinCreateRevision int64
	MaxCreateRevision int64
}

// RangeResponse is etcd's RangeResponse. Count is the number of keys in the
// range at the revision before limit and before the min/max filters.
type RangeResponse struct {
	Header ResponseHeader
	Kvs    []*KeyValue
	More   bool
	Count  int64
}

// PutRequest is etcd's PutRequest.
type PutRequest struct {
	Key, Value  []byte
	Lease       int64
	PrevKv      bool
	IgnoreValue bool
	IgnoreLease bool
}

// PutResponse is etcd's PutResponse.
type PutResponse struct {
	Header ResponseHeader
	PrevKv *KeyValue
}

// DeleteRangeRequest is etcd's DeleteRangeRequest (same key/range rules as
// RangeRequest).
type DeleteRangeRequest struct {
	Key, RangeEnd []byte
	PrevKv        bool
}

// DeleteRangeResponse is etcd's DeleteRangeResponse.
type DeleteRangeResponse struct {
	Header  ResponseHeader
	Deleted int64
	PrevKvs []*KeyValue
}

// CompareResult is etcd's Compare.CompareResult.
type CompareResult int32

// CompareTarget is etcd's Compare.CompareTarget.
type CompareTarget int32

// Compare results and targets, numbered as in etcd's protobuf.
const (
	CompareEqual    CompareResult = 0
	CompareGreater  CompareResult = 1
	CompareLess     CompareResult = 2
	CompareNotEqual CompareResult = 3

	CompareVersion CompareTarget = 0
	CompareCreate  CompareTarget = 1
	CompareMod     CompareTarget = 2
	CompareValue   CompareTarget = 3
	CompareLease   CompareTarget = 4
)

// Compare is etcd's Compare. Only the field named by Target is used (etcd's
// target_union); the others are ignored.
type Compare struct {
	Result         CompareResult
	Target         CompareTarget
	Key            []byte
	RangeEnd       []byte
	Version        int64
	CreateRevision int64
	ModRevision    int64
	Value          []byte
	Lease          int64
}

// RequestOp is etcd's RequestOp: exactly one field must be set.
type RequestOp struct {
	RequestRange       *RangeRequest
	RequestPut         *PutRequest
	RequestDeleteRange *DeleteRangeRequest
	RequestTxn         *TxnRequest
}

// ResponseOp is etcd's ResponseOp: the field matching the request is set.
type ResponseOp struct {
	ResponseRange       *RangeResponse
	ResponsePut         *PutResponse
	ResponseDeleteRange *DeleteRangeResponse
	ResponseTxn         *TxnResponse
}

// TxnRequest is etcd's TxnRequest: if every Compare holds, Success runs,
// otherwise Failure; the whole txn is one revision.
type TxnRequest struct {
	Compare []*Compare
	Success []*RequestOp
	Failure []*RequestOp
}

// TxnResponse is etcd's TxnResponse. As in etcd, the header of a nested
// TxnResponse carries revision 0; only the outermost one is filled.
type TxnResponse struct {
	Header    ResponseHeader
	Succeeded bool
	Responses []*ResponseOp
}

// EventType is etcd's mvccpb.Event_EventType.
type EventType int32

// Event types, numbered as in etcd.
const (
	EventPut    EventType = 0
	EventDelete EventType = 1
)

// String returns etcd's name of the event type.
func (t EventType) String() string {
	if t == EventDelete {
		return "DELETE"
	}
	return "PUT"
}

// Event is one change of one key. A DELETE event's Kv holds only Key and
// ModRevision (as in etcd). PrevKv is set only for watchers that asked for
// it, and only when the previous version is still readable.
type Event struct {
	Type   EventType
	Kv     *KeyValue
	PrevKv *KeyValue
}

// CompactResponse is the answer to Compact.
type CompactResponse struct {
	Header ResponseHeader
}

// Status is a consistent snapshot of the store's counters.
type Status struct {
	Revision        Revision
	CompactRevision Revision
	AppliedIndex    raftpb.Index
	// SizeInUse estimates the bytes of every retained revision (keys,
	// values and per-revision overhead).
	SizeInUse int64
	// SizeTotal adds the watch history log to SizeInUse: the memory the
	// keyspace holds, for etcd_mvcc_db_total_size_in_bytes.
	SizeTotal int64
	// Keys is the number of keys with at least one retained revision.
	Keys int
}
