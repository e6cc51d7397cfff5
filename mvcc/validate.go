package mvcc

import (
	"fmt"
)

// ErrInvalidOp: a txn RequestOp sets more than one request.
var ErrInvalidOp = fmt.Errorf("mvcc: invalid request op")

// parseRange validates key/range_end with etcd's conventions: empty
// range_end = the single key, "\x00" = to the end of the keyspace. what
// names the request in errors.
func parseRange(what string, key, end []byte) (keyRange, error) {
	if len(key) == 0 {
		return keyRange{}, fmt.Errorf("%w (%s)", ErrEmptyKey, what)
	}
	switch {
	case len(end) == 0:
		return keyRange{start: string(key), point: true}, nil
	case len(end) == 1 && end[0] == 0:
		return keyRange{start: string(key), all: true}, nil
	case string(end) < string(key):
		return keyRange{}, fmt.Errorf("%w (%s: key %q, range_end %q)", ErrInvalidRangeEnd, what, key, end)
	}
	return keyRange{start: string(key), end: string(end)}, nil
}

// validateRange checks a RangeRequest the way etcd's gRPC layer does, plus
// shelf's stricter rules (documented in doc.go).
func validateRange(r *RangeRequest) (keyRange, error) {
	if r == nil {
		return keyRange{}, fmt.Errorf("%w: range", ErrNilRequest)
	}
	kr, err := parseRange("range", r.Key, r.RangeEnd)
	if err != nil {
		return kr, err
	}
	if r.SortOrder < SortNone || r.SortOrder > SortDescend {
		return kr, fmt.Errorf("%w: sort order %d", ErrInvalidSortOption, r.SortOrder)
	}
	if r.SortTarget < SortByKey || r.SortTarget > SortByValue {
		return kr, fmt.Errorf("%w: sort target %d", ErrInvalidSortOption, r.SortTarget)
	}
	if r.Revision < 0 {
		return kr, fmt.Errorf("%w: range revision %d", ErrNegativeRevision, r.Revision)
	}
	return kr, nil
}

// validatePut checks a PutRequest like etcd's gRPC layer.
func validatePut(r *PutRequest) error {
	if r == nil {
		return fmt.Errorf("%w: put", ErrNilRequest)
	}
	if len(r.Key) == 0 {
		return fmt.Errorf("%w (put)", ErrEmptyKey)
	}
	if r.IgnoreValue && len(r.Value) != 0 {
		return ErrValueProvided
	}
	if r.IgnoreLease && r.Lease != 0 {
		return ErrLeaseProvided
	}
	return nil
}

// validateDelete checks a DeleteRangeRequest.
func validateDelete(r *DeleteRangeRequest) (keyRange, error) {
	if r == nil {
		return keyRange{}, fmt.Errorf("%w: delete_range", ErrNilRequest)
	}
	return parseRange("delete_range", r.Key, r.RangeEnd)
}

// validateCompare checks one compare of a txn.
func validateCompare(c *Compare) error {
	if c == nil {
		return fmt.Errorf("%w: compare", ErrNilRequest)
	}
	if _, err := parseRange("compare", c.Key, c.RangeEnd); err != nil {
		return err
	}
	if c.Target < CompareVersion || c.Target > CompareLease {
		return fmt.Errorf("%w: target %d", ErrInvalidCompare, c.Target)
	}
	if c.Result < CompareEqual || c.Result > CompareNotEqual {
		return fmt.Errorf("%w: result %d", ErrInvalidCompare, c.Result)
	}
	return nil
}

// validateTxn checks a txn recursively: op counts with etcd's budget rule
// (a nested txn may use what its parent left), depth, every op, and then
// etcd's duplicate-key rule.
func (s *Store) validateTxn(r *TxnRequest) error {
	if err := s.validateTxnShape(r, s.cfg.MaxTxnOps, 1); err != nil {
		return err
	}
	_, _, err := checkIntervals(r.Success)
	if err != nil {
		return err
	}
	_, _, err = checkIntervals(r.Failure)
	return err
}

// CheckTxnOps checks r against a limit of maxOps compares, success ops and
// failure ops (etcd's --max-txn-ops), with etcd's budget rule: a nested txn
// may use what its parent left. A member checks it before proposing, so
// the limit is a property of the member that took the request and never
// of the apply step every member must agree on.
func CheckTxnOps(r *TxnRequest, maxOps int) error {
	if r == nil {
		return nil
	}
	opc := max(len(r.Compare), len(r.Success), len(r.Failure))
	if opc > maxOps {
		return fmt.Errorf("%w: %d > %d", ErrTooManyOps, opc, maxOps)
	}
	for _, ops := range [][]*RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			if op != nil && op.RequestTxn != nil {
				if err := CheckTxnOps(op.RequestTxn, maxOps-opc); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// validateTxnShape checks r at nesting depth with maxOps left in the op
// budget; duplicates are checked separately (checkIntervals).
func (s *Store) validateTxnShape(r *TxnRequest, maxOps, depth int) error {
	if r == nil {
		return fmt.Errorf("%w: txn", ErrNilRequest)
	}
	if depth > s.cfg.MaxTxnDepth {
		return fmt.Errorf("%w: depth %d > %d", ErrTxnTooDeep, depth, s.cfg.MaxTxnDepth)
	}
	opc := max(len(r.Compare), len(r.Success), len(r.Failure))
	if opc > maxOps {
		return fmt.Errorf("%w: %d > %d", ErrTooManyOps, opc, maxOps)
	}
	for _, c := range r.Compare {
		if err := validateCompare(c); err != nil {
			return err
		}
	}
	for _, ops := range [][]*RequestOp{r.Success, r.Failure} {
		for i, op := range ops {
			if err := s.validateOp(op, i, maxOps-opc, depth); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateOp checks that op i sets exactly one request and that the
// request is well formed.
func (s *Store) validateOp(op *RequestOp, i, maxOps, depth int) error {
	if op == nil {
		return fmt.Errorf("%w: txn op %d is empty", ErrKeyNotFound, i)
	}
	n := 0
	var err error
	if op.RequestRange != nil {
		n++
		_, err = validateRange(op.RequestRange)
	}
	if op.RequestPut != nil {
		n++
		err = validatePut(op.RequestPut)
	}
	if op.RequestDeleteRange != nil {
		n++
		_, err = validateDelete(op.RequestDeleteRange)
	}
	if op.RequestTxn != nil {
		n++
		err = s.validateTxnShape(op.RequestTxn, maxOps, depth+1)
	}
	switch {
	case n == 0:
		return fmt.Errorf("%w: txn op %d is empty", ErrKeyNotFound, i)
	case n > 1:
		return fmt.Errorf("%w: txn op %d sets %d requests", ErrInvalidOp, i, n)
	}
	return err
}

// interval is a delete range in etcd's duplicate check: [start, end), the
// single key when point, every key >= start when toEnd. etcd treats a
// range_end of "\x00" as an interval containing no key, which lets a txn
// delete a key and put it again in one revision (and makes etcd panic on an
// ignore_value put after such a delete); shelf rejects those txns instead.
type interval struct {
	start, end string
	point      bool
	toEnd      bool
}

// has reports whether key k lies in iv.
func (iv interval) has(k string) bool {
	switch {
	case iv.point:
		return k == iv.start
	case iv.toEnd:
		return iv.start <= k
	}
	return iv.start <= k && k < iv.end
}

type intervals []interval

// has reports whether any interval contains k (linear: txns are small).
func (ivs intervals) has(k string) bool {
	for _, iv := range ivs {
		if iv.has(k) {
			return true
		}
	}
	return false
}

// checkIntervals is etcd's rule for "duplicate key given in txn request":
// within one branch (including its nested txns) a key may be put once and
// may not be put inside a range deleted in the same branch; the then and
// else branches of a nested txn may put the same key.
func checkIntervals(reqs []*RequestOp) (map[string]struct{}, intervals, error) {
	var dels intervals
	for _, op := range reqs {
		if d := op.RequestDeleteRange; d != nil {
			switch {
			case len(d.RangeEnd) == 1 && d.RangeEnd[0] == 0:
				dels = append(dels, interval{start: string(d.Key), toEnd: true})
			case len(d.RangeEnd) != 0:
				dels = append(dels, interval{start: string(d.Key), end: string(d.RangeEnd)})
			default:
				dels = append(dels, interval{start: string(d.Key), point: true})
			}
		}
	}
	puts := make(map[string]struct{})
	for _, op := range reqs {
		t := op.RequestTxn
		if t == nil {
			continue
		}
		putsThen, delsThen, err := checkIntervals(t.Success)
		if err != nil {
			return nil, nil, err
		}
		putsElse, delsElse, err := checkIntervals(t.Failure)
		if err != nil {
			return nil, nil, err
		}
		for k := range putsThen {
			if _, ok := puts[k]; ok || dels.has(k) {
				return nil, nil, fmt.Errorf("%w: %q", ErrDuplicateKey, k)
			}
			puts[k] = struct{}{}
		}
		for k := range putsElse {
			if _, ok := puts[k]; ok {
				if _, safe := putsThen[k]; !safe {
					return nil, nil, fmt.Errorf("%w: %q", ErrDuplicateKey, k)
				}
			}
			if dels.has(k) {
				return nil, nil, fmt.Errorf("%w: %q", ErrDuplicateKey, k)
			}
			puts[k] = struct{}{}
		}
		dels = append(dels, delsThen...)
		dels = append(dels, delsElse...)
	}
	for _, op := range reqs {
		p := op.RequestPut
		if p == nil {
			continue
		}
		k := string(p.Key)
		if _, ok := puts[k]; ok || dels.has(k) {
			return nil, nil, fmt.Errorf("%w: %q", ErrDuplicateKey, k)
		}
		puts[k] = struct{}{}
	}
	return puts, dels, nil
}
