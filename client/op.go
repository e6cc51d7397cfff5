package client

import (
	"fmt"
)

// SortOrder is etcd's RangeRequest.SortOrder. Values are sent by name, so
// their numbering is local to this package.
type SortOrder int

// Sort orders. SortNone returns keys in key order, as etcd does.
const (
	SortNone SortOrder = iota
	SortAscend
	SortDescend
)

// SortTarget is what a sorted Get sorts by (etcd's RangeRequest.SortTarget).
type SortTarget int

// Sort targets.
const (
	SortByKey SortTarget = iota
	SortByVersion
	SortByCreateRevision
	SortByModRevision
	SortByValue
)

// opKind is which request an Op builds.
type opKind int

const (
	opGet opKind = iota + 1
	opPut
	opDelete
	opTxn
	opWatch // Watch (client/watch.go)
)

// Op is one request, for Get/Put/Delete or as a step of a Txn. Build it
// with OpGet, OpPut, OpDelete or OpTxn; the zero Op is invalid.
type Op struct {
	kind     opKind
	key, end []byte
	value    []byte
	err      error // first invalid option; reported when the Op is sent

	// Range options (opGet only; zero means "not set", as in etcd).
	rev, limit           int64
	sortOrder            SortOrder
	sortTarget           SortTarget
	serializable         bool
	keysOnly, countOnly  bool
	minMod, maxMod       int64
	minCreate, maxCreate int64
	prefix, fromKey      bool // resolved into end by newOp
	// Write options (opPut, and prevKV for opDelete).
	prevKV                   bool
	lease                    int64
	ignoreValue, ignoreLease bool

	// Watch options (opWatch only; watch.go).
	progressNotify, filterPut, filterDelete bool

	// Txn (opTxn only): conditions and the two branches.
	cmps      []Cmp
	then, els []Op
}

// OpOption changes an Op. Options that do not apply to the Op's kind
// (WithLease on a Get, say) make the call fail with ErrInvalidOp.
type OpOption func(*Op)

// OpGet is a range read of key (one key unless WithPrefix/WithRange/WithFromKey).
func OpGet(key string, opts ...OpOption) Op { return newOp(opGet, key, nil, opts) }

// OpPut writes key=val.
func OpPut(key, val string, opts ...OpOption) Op { return newOp(opPut, key, []byte(val), opts) }

// OpDelete deletes key (or a range with WithPrefix/WithRange/WithFromKey).
func OpDelete(key string, opts ...OpOption) Op { return newOp(opDelete, key, nil, opts) }

// OpTxn is a nested transaction, for use inside Txn's Then or Else.
func OpTxn(cmps []Cmp, then, els []Op) Op {
	return Op{kind: opTxn, cmps: cmps, then: then, els: els}
}

func newOp(kind opKind, key string, val []byte, opts []OpOption) Op {
	op := Op{kind: kind, key: []byte(key), value: val}
	for _, o := range opts {
		o(&op)
	}
	if op.prefix {
		op.end = prefixEnd(op.key)
	}
	if op.fromKey {
		op.end = []byte{0}
	}
	// An empty key with a prefix or from-key range means "every key";
	// etcd refuses an empty key, so send "\x00", the smallest one.
	if (op.prefix || op.fromKey) && len(op.key) == 0 {
		op.key = []byte{0}
	}
	return op
}

// prefixEnd is the range end that covers every key starting with p: p
// with its last byte below 0xff incremented, or "\x00" (to the end of
// the keyspace) when p is empty or all 0xff.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0}
}

// only records an error on op unless its kind is one of kinds.
func only(op *Op, name string, kinds ...opKind) bool {
	for _, k := range kinds {
		if op.kind == k {
			return true
		}
	}
	if op.err == nil {
		op.err = fmt.Errorf("%w: %s does not apply to this operation", ErrInvalidOp, name)
	}
	return false
}

// WithPrefix: every key starting with the key.
func WithPrefix() OpOption {
	return func(op *Op) {
		if only(op, "WithPrefix", opGet, opDelete, opWatch) {
			op.prefix = true
		}
	}
}

// WithFromKey: every key >= the key.
func WithFromKey() OpOption {
	return func(op *Op) {
		if only(op, "WithFromKey", opGet, opDelete, opWatch) {
			op.fromKey = true
		}
	}
}

// WithRange: keys in [key, end).
func WithRange(end string) OpOption {
	return func(op *Op) {
		if only(op, "WithRange", opGet, opDelete, opWatch) {
			op.end = []byte(end)
		}
	}
}

// WithRev reads at revision rev (0 = latest).
func WithRev(rev int64) OpOption {
	return func(op *Op) {
		if only(op, "WithRev", opGet, opWatch) {
			op.rev = rev
		}
	}
}

// WithLimit returns at most n keys (0 = no limit).
func WithLimit(n int64) OpOption {
	return func(op *Op) {
		if only(op, "WithLimit", opGet) {
			op.limit = n
		}
	}
}

// WithSort sorts the result by target in order.
func WithSort(target SortTarget, order SortOrder) OpOption {
	return func(op *Op) {
		if only(op, "WithSort", opGet) {
			op.sortTarget, op.sortOrder = target, order
		}
	}
}

// WithSerializable reads the answering member's local state, without a
// round through the leader: faster, possibly stale.
func WithSerializable() OpOption {
	return func(op *Op) {
		if only(op, "WithSerializable", opGet) {
			op.serializable = true
		}
	}
}

// WithKeysOnly returns keys without values.
func WithKeysOnly() OpOption {
	return func(op *Op) {
		if only(op, "WithKeysOnly", opGet) {
			op.keysOnly = true
		}
	}
}

// WithCountOnly returns only the count of matching keys.
func WithCountOnly() OpOption {
	return func(op *Op) {
		if only(op, "WithCountOnly", opGet) {
			op.countOnly = true
		}
	}
}

// WithMinModRev keeps keys whose ModRevision >= rev (0 = no bound).
func WithMinModRev(rev int64) OpOption {
	return func(op *Op) {
		if only(op, "WithMinModRev", opGet) {
			op.minMod = rev
		}
	}
}

// WithMaxModRev keeps keys whose ModRevision <= rev (0 = no bound).
func WithMaxModRev(rev int64) OpOption {
	return func(op *Op) {
		if only(op, "WithMaxModRev", opGet) {
			op.maxMod = rev
		}
	}
}

// WithMinCreateRev keeps keys whose CreateRevision >= rev (0 = no bound).
func WithMinCreateRev(rev int64) OpOption {
	return func(op *Op) {
		if only(op, "WithMinCreateRev", opGet) {
			op.minCreate = rev
		}
	}
}

// WithMaxCreateRev keeps keys whose CreateRevision <= rev (0 = no bound).
func WithMaxCreateRev(rev int64) OpOption {
	return func(op *Op) {
		if only(op, "WithMaxCreateRev", opGet) {
			op.maxCreate = rev
		}
	}
}

// WithPrevKV returns the previous key-value(s) of a Put or Delete.
func WithPrevKV() OpOption {
	return func(op *Op) {
		if only(op, "WithPrevKV", opPut, opDelete, opWatch) {
			op.prevKV = true
		}
	}
}

// WithLease attaches the key to lease id.
func WithLease(id int64) OpOption {
	return func(op *Op) {
		if only(op, "WithLease", opPut) {
			op.lease = id
		}
	}
}

// WithIgnoreValue keeps the key's current value (the key must exist).
func WithIgnoreValue() OpOption {
	return func(op *Op) {
		if only(op, "WithIgnoreValue", opPut) {
			op.ignoreValue = true
		}
	}
}

// WithIgnoreLease keeps the key's current lease (the key must exist).
func WithIgnoreLease() OpOption {
	return func(op *Op) {
		if only(op, "WithIgnoreLease", opPut) {
			op.ignoreLease = true
		}
	}
}

// Wire conversion. Each converter copies nothing: the request aliases the
// Op's slices, which is safe because the body is encoded before the call
// returns and Ops are not mutated after construction.

// wireRange is op as a RangeRequest.
func (op *Op) wireRange() *wireRange {
	return &wireRange{Key: op.key, RangeEnd: op.end, Limit: i64(op.limit), Revision: i64(op.rev),
		SortOrder: sortOrderName(op.sortOrder), SortTarget: sortTargetName(op.sortTarget),
		Serializable: op.serializable, KeysOnly: op.keysOnly, CountOnly: op.countOnly,
		MinModRevision: i64(op.minMod), MaxModRevision: i64(op.maxMod),
		MinCreateRevision: i64(op.minCreate), MaxCreateRevision: i64(op.maxCreate)}
}

// wirePut is op as a PutRequest.
func (op *Op) wirePut() *wirePut {
	return &wirePut{Key: op.key, Value: op.value, Lease: i64(op.lease), PrevKv: op.prevKV,
		IgnoreValue: op.ignoreValue, IgnoreLease: op.ignoreLease}
}

// wireDelete is op as a DeleteRangeRequest.
func (op *Op) wireDelete() *wireDelete {
	return &wireDelete{Key: op.key, RangeEnd: op.end, PrevKv: op.prevKV}
}

// sortOrderName is the enum name etcd's JSON uses; "" (omitted) for the default.
func sortOrderName(o SortOrder) string {
	switch o {
	case SortAscend:
		return "ASCEND"
	case SortDescend:
		return "DESCEND"
	}
	return ""
}

// sortTargetName is the enum name etcd's JSON uses; "" (omitted) for KEY.
func sortTargetName(t SortTarget) string {
	switch t {
	case SortByVersion:
		return "VERSION"
	case SortByCreateRevision:
		return "CREATE"
	case SortByModRevision:
		return "MOD"
	case SortByValue:
		return "VALUE"
	}
	return ""
}

// wireOp converts op for a txn body, or returns its error.
func (op *Op) wireOp(depth int) (*wireRequestOp, error) {
	if op.err != nil {
		return nil, op.err
	}
	switch op.kind {
	case opGet:
		return &wireRequestOp{RequestRange: op.wireRange()}, nil
	case opPut:
		return &wireRequestOp{RequestPut: op.wirePut()}, nil
	case opDelete:
		return &wireRequestOp{RequestDeleteRange: op.wireDelete()}, nil
	case opTxn:
		t, err := wireTxnOf(op.cmps, op.then, op.els, depth+1)
		if err != nil {
			return nil, err
		}
		return &wireRequestOp{RequestTxn: t}, nil
	}
	return nil, fmt.Errorf("%w: zero Op (build it with OpGet, OpPut, OpDelete or OpTxn)", ErrInvalidOp)
}
