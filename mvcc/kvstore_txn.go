package mvcc

import (
	"bytes"
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// txnPath records, for a txn and each nested txn of the branch it takes,
// whether its compares held. It is evaluated before any write, against the
// state before the txn (as etcd does, nested compares included).
type txnPath struct {
	ok     bool
	nested []*txnPath // one per RequestTxn in the chosen branch, in order
}

// branch returns the ops of r that this path runs.
func (p *txnPath) branch(r *TxnRequest) []*RequestOp {
	if p.ok {
		return r.Success
	}
	return r.Failure
}

// Txn applies etcd's Txn as the raft entry idx: compares, then the Success
// or Failure ops, all in one revision (none if nothing is written). Errors
// (bad input, duplicate keys, missing lease, ignore_* on a missing key,
// a range at a compacted or future revision) change no data but still
// record idx as applied.
func (s *Store) Txn(idx raftpb.Index, r *TxnRequest) (*TxnResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginApplyLocked(idx); err != nil {
		return nil, err
	}
	return s.txnLocked(r, false)
}

// ReadTxn runs a txn that contains no put or delete (at any depth) without
// going through raft, under the read lock; a txn with writes is
// ErrInvalidOp.
func (s *Store) ReadTxn(r *TxnRequest) (*TxnResponse, error) {
	if err := s.validateTxn(r); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.txnLocked(r, true)
}

// txnLocked validates, evaluates and executes r. With readOnly, a txn
// whose chosen path would write is refused before anything runs.
func (s *Store) txnLocked(r *TxnRequest, readOnly bool) (*TxnResponse, error) {
	if err := s.validateTxn(r); err != nil {
		return nil, err
	}
	if readOnly && !txnReadOnly(r) {
		return nil, fmt.Errorf("%w: read-only txn contains writes", ErrInvalidOp)
	}
	// Like etcd: decide every branch, then check the chosen path, then
	// execute; a check failure writes nothing.
	path := s.comparePathLocked(r, s.mu.rev)
	if err := s.checkTxnLocked(r, path); err != nil {
		return nil, err
	}
	tw := s.beginWriteLocked()
	resp, err := tw.execTxn(r, path)
	if err != nil {
		// Unreachable after checkTxnLocked; report rather than panic.
		return nil, fmt.Errorf("mvcc: txn failed after its checks passed: %w", err)
	}
	resp.Header.Revision = tw.end()
	return resp, nil
}

// txnReadOnly reports whether r contains no put or delete at any depth.
func txnReadOnly(r *TxnRequest) bool {
	for _, ops := range [][]*RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			if op.RequestPut != nil || op.RequestDeleteRange != nil {
				return false
			}
			if op.RequestTxn != nil && !txnReadOnly(op.RequestTxn) {
				return false
			}
		}
	}
	return true
}

// comparePathLocked evaluates the compares of r and of the nested txns of
// the branch it takes, at revision rev.
func (s *Store) comparePathLocked(r *TxnRequest, rev int64) *txnPath {
	p := &txnPath{ok: true}
	for _, c := range r.Compare {
		if !s.compareLocked(c, rev) {
			p.ok = false
			break
		}
	}
	for _, op := range p.branch(r) {
		if op.RequestTxn != nil {
			p.nested = append(p.nested, s.comparePathLocked(op.RequestTxn, rev))
		}
	}
	return p
}

// compareLocked is etcd's applyCompare: every key in the range must satisfy
// the compare; on an empty range a VALUE compare fails and the others
// compare against a zero KeyValue.
func (s *Store) compareLocked(c *Compare, rev int64) bool {
	kr, _ := parseRange("compare", c.Key, c.RangeEnd) // validated earlier
	any, ok := false, true
	kr.ascend(s.mu.tree, func(it keyItem) bool {
		cur := it.live(rev)
		if cur == nil {
			return true
		}
		any = true
		ok = compareKV(c, cur.value, cur.version, cur.create, cur.main, cur.lease)
		return ok
	})
	if !any {
		if c.Target == CompareValue {
			return false
		}
		return compareKV(c, nil, 0, 0, 0, 0)
	}
	return ok
}

// compareKV is etcd's compareKV on one version of a key (zero values for
// a missing key). Only the field named by c.Target is compared.
func compareKV(c *Compare, value []byte, version, create, mod, lease int64) bool {
	var res int
	switch c.Target {
	case CompareValue:
		res = bytes.Compare(value, c.Value)
	case CompareVersion:
		res = cmpInt(version, c.Version)
	case CompareCreate:
		res = cmpInt(create, c.CreateRevision)
	case CompareMod:
		res = cmpInt(mod, c.ModRevision)
	case CompareLease:
		res = cmpInt(lease, c.Lease)
	}
	switch c.Result {
	case CompareEqual:
		return res == 0
	case CompareNotEqual:
		return res != 0
	case CompareGreater:
		return res > 0
	case CompareLess:
		return res < 0
	}
	return true
}

// cmpInt is a three-way comparison.
func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkTxnLocked is etcd's checkTxn: on the chosen path, ranges must be at
// a readable revision and puts must find their key (ignore_*) and lease,
// all judged against the state before the txn.
func (s *Store) checkTxnLocked(r *TxnRequest, p *txnPath) error {
	n := 0
	for _, op := range p.branch(r) {
		switch {
		case op.RequestRange != nil:
			if rev := op.RequestRange.Revision; rev != 0 {
				if err := s.checkRevLocked(rev, s.mu.rev); err != nil {
					return err
				}
			}
		case op.RequestPut != nil:
			pr := op.RequestPut
			if pr.IgnoreValue || pr.IgnoreLease {
				it, ok := s.mu.tree.Get(keyItem{key: string(pr.Key)})
				if !ok || it.live(s.mu.rev) == nil {
					return ErrKeyNotFound
				}
			}
			if pr.Lease != 0 && !s.mu.lessor.exists(pr.Lease) {
				return ErrLeaseNotFound
			}
		case op.RequestTxn != nil:
			if err := s.checkTxnLocked(op.RequestTxn, p.nested[n]); err != nil {
				return err
			}
			n++
		}
	}
	return nil
}

// execTxn runs the chosen branch of r inside tw. A nested TxnResponse keeps
// revision 0 in its header, as in etcd.
func (tw *writeTxn) execTxn(r *TxnRequest, p *txnPath) (*TxnResponse, error) {
	ops := p.branch(r)
	resp := &TxnResponse{Succeeded: p.ok, Responses: make([]*ResponseOp, len(ops))}
	n := 0
	for i, op := range ops {
		ro := &ResponseOp{}
		switch {
		case op.RequestRange != nil:
			kr, _ := validateRange(op.RequestRange)
			rr, err := tw.s.rangeLocked(kr, op.RequestRange, tw.readRev())
			if err != nil {
				return nil, err
			}
			ro.ResponseRange = rr
		case op.RequestPut != nil:
			pr, err := tw.putOp(op.RequestPut)
			if err != nil {
				return nil, err
			}
			ro.ResponsePut = pr
		case op.RequestDeleteRange != nil:
			kr, _ := validateDelete(op.RequestDeleteRange)
			ro.ResponseDeleteRange = tw.deleteOp(kr, op.RequestDeleteRange)
		case op.RequestTxn != nil:
			tr, err := tw.execTxn(op.RequestTxn, p.nested[n])
			if err != nil {
				return nil, err
			}
			n++
			ro.ResponseTxn = tr
		}
		resp.Responses[i] = ro
	}
	return resp, nil
}
