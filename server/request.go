package server

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shelf-kv/shelf/mvcc"
)

// request is what a member proposes to raft: one write to the keyspace,
// tagged with the proposer's request ID so the proposer can hand the result
// of applying it to the waiting client. Every member applies the same
// requests in the same order.
type request struct {
	// ID is unique per proposing member (member ID in the high bits of the
	// generator, a counter in the low bits); 0 for requests nobody waits on.
	ID uint64

	Put         *mvcc.PutRequest         `json:",omitempty"`
	DeleteRange *mvcc.DeleteRangeRequest `json:",omitempty"`
	Txn         *mvcc.TxnRequest         `json:",omitempty"`
	Compact     *compactRequest          `json:",omitempty"`
	LeaseGrant  *leaseGrantRequest       `json:",omitempty"`
	LeaseRevoke *leaseRevokeRequest      `json:",omitempty"`
	// Publish records a member's name and client URLs (each member
	// publishes its own once it has started, as etcd does).
	Publish *memberInfo `json:",omitempty"`
	// Alarm lists, raises or clears an alarm (server/alarm.go);
	// MemberUpdate changes a member's peer URLs (server/maintenance.go).
	Alarm        *alarmRequest `json:",omitempty"`
	MemberUpdate *memberInfo   `json:",omitempty"`
}

type compactRequest struct{ Revision int64 }

type leaseGrantRequest struct{ ID, TTL int64 }

type leaseRevokeRequest struct{ ID int64 }

// Encoding kinds: the first byte of an entry's data. Never renumber: they
// are in the WAL and in snapshots' raft logs.
const (
	// kindPut is the hot path: a compact binary encoding of a put.
	kindPut byte = 1
	// kindJSON is every other request, JSON-encoded.
	kindJSON byte = 2
)

var errBadRequest = errors.New("server: undecodable request entry")

// encode returns the entry data for r.
func (r *request) encode() ([]byte, error) {
	if p := r.Put; p != nil && r.DeleteRange == nil && r.Txn == nil && r.Compact == nil && r.LeaseGrant == nil && r.LeaseRevoke == nil && r.Publish == nil && r.Alarm == nil && r.MemberUpdate == nil {
		b := make([]byte, 0, 1+8+8+3*binary.MaxVarintLen64+len(p.Key)+len(p.Value)+1)
		b = append(b, kindPut)
		b = binary.BigEndian.AppendUint64(b, r.ID)
		b = binary.AppendVarint(b, p.Lease)
		var flags byte
		for i, f := range []bool{p.PrevKv, p.IgnoreValue, p.IgnoreLease} {
			if f {
				flags |= 1 << i
			}
		}
		b = append(b, flags)
		b = binary.AppendUvarint(b, uint64(len(p.Key)))
		b = append(b, p.Key...)
		return append(b, p.Value...), nil
	}
	j, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("server: encode request: %w", err)
	}
	return append([]byte{kindJSON}, j...), nil
}

// decodeRequest is the inverse of encode. It never panics on bad input.
func decodeRequest(data []byte) (*request, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", errBadRequest)
	}
	switch data[0] {
	case kindPut:
		b := data[1:]
		if len(b) < 8 {
			return nil, fmt.Errorf("%w: short put", errBadRequest)
		}
		r := &request{ID: binary.BigEndian.Uint64(b), Put: &mvcc.PutRequest{}}
		b = b[8:]
		lease, n := binary.Varint(b)
		if n <= 0 || len(b) < n+1 {
			return nil, fmt.Errorf("%w: bad put lease", errBadRequest)
		}
		r.Put.Lease = lease
		flags := b[n]
		r.Put.PrevKv, r.Put.IgnoreValue, r.Put.IgnoreLease = flags&1 != 0, flags&2 != 0, flags&4 != 0
		b = b[n+1:]
		kl, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < kl {
			return nil, fmt.Errorf("%w: bad put key length", errBadRequest)
		}
		b = b[n:]
		r.Put.Key = b[:kl:kl]
		r.Put.Value = b[kl:]
		return r, nil
	case kindJSON:
		r := &request{}
		if err := json.Unmarshal(data[1:], r); err != nil {
			return nil, fmt.Errorf("%w: %v", errBadRequest, err)
		}
		return r, nil
	}
	return nil, fmt.Errorf("%w: unknown kind %d", errBadRequest, data[0])
}
