package client

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Wire shapes of etcd's v3 JSON gateway. Requests are written the way
// jsonpb writes them (int64 as decimal strings, bytes as base64, enums by
// name); responses accept int64 as a string or a number, as jsonpb does.

// i64 is an int64 carried as a JSON string (or number, when decoding).
type i64 int64

func (v i64) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(v), 10) + `"`), nil
}

func (v *i64) UnmarshalJSON(b []byte) error {
	s, err := unquote(b)
	if err != nil || s == "" {
		return err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("client: bad int64 %q in response", s)
	}
	*v = i64(n)
	return nil
}

// u64 is a uint64 carried as a JSON string (or number, when decoding).
type u64 uint64

func (v u64) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatUint(uint64(v), 10) + `"`), nil
}

func (v *u64) UnmarshalJSON(b []byte) error {
	s, err := unquote(b)
	if err != nil || s == "" {
		return err
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("client: bad uint64 %q in response", s)
	}
	*v = u64(n)
	return nil
}

// unquote returns the text of a JSON string or the raw number; null is "".
func unquote(b []byte) (string, error) {
	if string(b) == "null" {
		return "", nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", fmt.Errorf("client: bad number in response: %w", err)
		}
		return s, nil
	}
	return string(b), nil
}

// Requests. omitempty keeps the bodies as small as etcdctl's.

// wireRange is etcd's RangeRequest.
type wireRange struct {
	Key               []byte `json:"key,omitempty"`
	RangeEnd          []byte `json:"range_end,omitempty"`
	Limit             i64    `json:"limit,omitempty"`
	Revision          i64    `json:"revision,omitempty"`
	SortOrder         string `json:"sort_order,omitempty"`
	SortTarget        string `json:"sort_target,omitempty"`
	Serializable      bool   `json:"serializable,omitempty"`
	KeysOnly          bool   `json:"keys_only,omitempty"`
	CountOnly         bool   `json:"count_only,omitempty"`
	MinModRevision    i64    `json:"min_mod_revision,omitempty"`
	MaxModRevision    i64    `json:"max_mod_revision,omitempty"`
	MinCreateRevision i64    `json:"min_create_revision,omitempty"`
	MaxCreateRevision i64    `json:"max_create_revision,omitempty"`
}

// wirePut is etcd's PutRequest.
type wirePut struct {
	Key         []byte `json:"key,omitempty"`
	Value       []byte `json:"value,omitempty"`
	Lease       i64    `json:"lease,omitempty"`
	PrevKv      bool   `json:"prev_kv,omitempty"`
	IgnoreValue bool   `json:"ignore_value,omitempty"`
	IgnoreLease bool   `json:"ignore_lease,omitempty"`
}

// wireDelete is etcd's DeleteRangeRequest.
type wireDelete struct {
	Key      []byte `json:"key,omitempty"`
	RangeEnd []byte `json:"range_end,omitempty"`
	PrevKv   bool   `json:"prev_kv,omitempty"`
}

// wireCompare is etcd's Compare. The target_union fields are pointers so
// that a comparison with 0 (Version = 0: "the key does not exist") is
// sent rather than omitted.
type wireCompare struct {
	Result         string `json:"result,omitempty"`
	Target         string `json:"target,omitempty"`
	Key            []byte `json:"key,omitempty"`
	RangeEnd       []byte `json:"range_end,omitempty"`
	Version        *i64   `json:"version,omitempty"`
	CreateRevision *i64   `json:"create_revision,omitempty"`
	ModRevision    *i64   `json:"mod_revision,omitempty"`
	Value          []byte `json:"value,omitempty"`
	Lease          *i64   `json:"lease,omitempty"`
}

// wireRequestOp is etcd's RequestOp: exactly one field set.
type wireRequestOp struct {
	RequestRange       *wireRange  `json:"request_range,omitempty"`
	RequestPut         *wirePut    `json:"request_put,omitempty"`
	RequestDeleteRange *wireDelete `json:"request_delete_range,omitempty"`
	RequestTxn         *wireTxn    `json:"request_txn,omitempty"`
}

// wireTxn is etcd's TxnRequest.
type wireTxn struct {
	Compare []*wireCompare   `json:"compare,omitempty"`
	Success []*wireRequestOp `json:"success,omitempty"`
	Failure []*wireRequestOp `json:"failure,omitempty"`
}

// wireCompaction is etcd's CompactionRequest.
type wireCompaction struct {
	Revision i64  `json:"revision,omitempty"`
	Physical bool `json:"physical,omitempty"`
}

// wireMemberRequest is the body of every /v3/cluster/member/* call; each
// call reads only its own fields (ID for remove/promote, PeerURLs and
// IsLearner for add).
type wireMemberRequest struct {
	ID        u64      `json:"ID,omitempty"`
	PeerURLs  []string `json:"peerURLs,omitempty"`
	IsLearner bool     `json:"isLearner,omitempty"`
}

// Responses.

// wireHeader is etcd's ResponseHeader. Nested txn responses carry only
// the revision; member responses carry no revision.
type wireHeader struct {
	ClusterID u64 `json:"cluster_id"`
	MemberID  u64 `json:"member_id"`
	Revision  i64 `json:"revision"`
	RaftTerm  u64 `json:"raft_term"`
}

// typed converts; a missing header is the zero Header.
func (h *wireHeader) typed() Header {
	if h == nil {
		return Header{}
	}
	return Header{ClusterID: uint64(h.ClusterID), MemberID: uint64(h.MemberID),
		Revision: int64(h.Revision), RaftTerm: uint64(h.RaftTerm)}
}

// wireKV is etcd's mvccpb.KeyValue; omitted fields decode as zero.
type wireKV struct {
	Key            []byte `json:"key"`
	CreateRevision i64    `json:"create_revision"`
	ModRevision    i64    `json:"mod_revision"`
	Version        i64    `json:"version"`
	Value          []byte `json:"value"`
	Lease          i64    `json:"lease"`
}

// typed converts; nil stays nil (an absent prev_kv).
func (kv *wireKV) typed() *KeyValue {
	if kv == nil {
		return nil
	}
	return &KeyValue{Key: kv.Key, Value: kv.Value, CreateRevision: int64(kv.CreateRevision),
		ModRevision: int64(kv.ModRevision), Version: int64(kv.Version), Lease: int64(kv.Lease)}
}

// typedKVs converts a list, dropping null elements.
func typedKVs(in []*wireKV) []*KeyValue {
	out := make([]*KeyValue, 0, len(in))
	for _, kv := range in {
		if kv != nil {
			out = append(out, kv.typed())
		}
	}
	return out
}

// wireRangeResponse is etcd's RangeResponse.
type wireRangeResponse struct {
	Header *wireHeader `json:"header"`
	Kvs    []*wireKV   `json:"kvs"`
	More   bool        `json:"more"`
	Count  i64         `json:"count"`
}

// wirePutResponse is etcd's PutResponse.
type wirePutResponse struct {
	Header *wireHeader `json:"header"`
	PrevKv *wireKV     `json:"prev_kv"`
}

// wireDeleteResponse is etcd's DeleteRangeResponse.
type wireDeleteResponse struct {
	Header  *wireHeader `json:"header"`
	Deleted i64         `json:"deleted"`
	PrevKvs []*wireKV   `json:"prev_kvs"`
}

// wireResponseOp is etcd's ResponseOp.
type wireResponseOp struct {
	ResponseRange       *wireRangeResponse  `json:"response_range"`
	ResponsePut         *wirePutResponse    `json:"response_put"`
	ResponseDeleteRange *wireDeleteResponse `json:"response_delete_range"`
	ResponseTxn         *wireTxnResponse    `json:"response_txn"`
}

// wireTxnResponse is etcd's TxnResponse.
type wireTxnResponse struct {
	Header    *wireHeader       `json:"header"`
	Succeeded bool              `json:"succeeded"`
	Responses []*wireResponseOp `json:"responses"`
}

// wireStatusResponse is etcd's StatusResponse (camelCase names, as its .proto has them).
type wireStatusResponse struct {
	Header           *wireHeader `json:"header"`
	Version          string      `json:"version"`
	DBSize           i64         `json:"dbSize"`
	Leader           u64         `json:"leader"`
	RaftIndex        u64         `json:"raftIndex"`
	RaftTerm         u64         `json:"raftTerm"`
	RaftAppliedIndex u64         `json:"raftAppliedIndex"`
	Errors           []string    `json:"errors"`
	DBSizeInUse      i64         `json:"dbSizeInUse"`
	IsLearner        bool        `json:"isLearner"`
}

// wireMember is etcd's Member (the cluster API uses proto names: ID, peerURLs).
type wireMember struct {
	ID         u64      `json:"ID"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
	IsLearner  bool     `json:"isLearner"`
}

// wireMemberResponse is etcd's Member{List,Add,Remove,Promote}Response.
type wireMemberResponse struct {
	Header  *wireHeader   `json:"header"`
	Member  *wireMember   `json:"member"`
	Members []*wireMember `json:"members"`
}

// wireError is the gateway's error body.
type wireError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Code    Code   `json:"code"`
}
