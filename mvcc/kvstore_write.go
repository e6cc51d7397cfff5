package mvcc

import (
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Put applies etcd's Put as the raft entry idx. The value is copied. Errors
// (bad input, missing lease, ignore_* on a missing key) change no data but
// still record idx as applied; ErrIndexApplied means idx was ignored.
func (s *Store) Put(idx raftpb.Index, r *PutRequest) (*PutResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginApplyLocked(idx); err != nil {
		return nil, err
	}
	if err := validatePut(r); err != nil {
		return nil, err
	}
	// etcd checks the lease before looking at ignore_value/ignore_lease.
	if r.Lease != 0 && !s.mu.lessor.exists(r.Lease) {
		return nil, ErrLeaseNotFound
	}
	tw := s.beginWriteLocked()
	resp, err := tw.putOp(r)
	tw.end()
	return resp, err
}

// DeleteRange applies etcd's DeleteRange as the raft entry idx: every key
// in the range gets a tombstone in one revision. Deleting nothing does not
// bump the revision. Errors still record idx as applied.
func (s *Store) DeleteRange(idx raftpb.Index, r *DeleteRangeRequest) (*DeleteRangeResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginApplyLocked(idx); err != nil {
		return nil, err
	}
	kr, err := validateDelete(r)
	if err != nil {
		return nil, err
	}
	tw := s.beginWriteLocked()
	resp := tw.deleteOp(kr, r)
	tw.end()
	return resp, nil
}

// putOp is etcd's put inside a write txn (standalone or part of a Txn).
// The caller has validated r and checked its lease.
func (tw *writeTxn) putOp(r *PutRequest) (*PutResponse, error) {
	key := string(r.Key)
	// The previous version, as seen inside the txn (its own earlier
	// writes included): needed for ignore_* and prev_kv only.
	var prev *rec
	if r.IgnoreValue || r.IgnoreLease || r.PrevKv {
		if it, ok := tw.s.mu.tree.Get(keyItem{key: key}); ok {
			prev = it.live(tw.readRev())
		}
	}
	if (r.IgnoreValue || r.IgnoreLease) && prev == nil {
		return nil, ErrKeyNotFound
	}
	// Copy: the caller (the server's decode buffer) may reuse r.Value.
	// Values are immutable once stored, so ignore_value shares prev's.
	var value []byte
	if len(r.Value) > 0 {
		value = append([]byte(nil), r.Value...)
	}
	lease := r.Lease
	if r.IgnoreValue {
		value = prev.value
	}
	if r.IgnoreLease {
		lease = prev.lease
	}
	resp := &PutResponse{Header: ResponseHeader{Revision: tw.rev}}
	if r.PrevKv && prev != nil {
		resp.PrevKv = prev.toKV(key)
	}
	tw.put(key, value, lease)
	return resp, nil
}

// deleteOp is etcd's deleteRange inside a write txn.
func (tw *writeTxn) deleteOp(kr keyRange, r *DeleteRangeRequest) *DeleteRangeResponse {
	resp := &DeleteRangeResponse{}
	if r.PrevKv {
		rr := tw.readRev()
		resp.PrevKvs = []*KeyValue{}
		kr.ascend(tw.s.mu.tree, func(it keyItem) bool {
			if cur := it.live(rr); cur != nil {
				resp.PrevKvs = append(resp.PrevKvs, cur.toKV(it.key))
			}
			return true
		})
	}
	resp.Deleted = tw.deleteRange(kr)
	// etcd: the txn's revision once anything in it was written, the
	// current one otherwise.
	resp.Header.Revision = tw.readRev()
	return resp
}
