package client

import (
	"context"
	"fmt"
)

// CompareTarget is what a Cmp looks at.
type CompareTarget int

const (
	CompareVersion CompareTarget = iota
	CompareCreate
	CompareMod
	CompareValue
	CompareLease
)

// Cmp is one condition of a Txn. Build it with Compare(Value(k), "=", v)
// and friends; a malformed Cmp fails the Commit with ErrInvalidOp.
type Cmp struct {
	target   CompareTarget
	key, end []byte
	result   string // "=", "!=", ">", "<"
	value    []byte
	num      int64
	err      error
}

// Value, Version, CreateRevision, ModRevision and LeaseValue name what
// of key a Compare looks at.
func Value(key string) Cmp          { return Cmp{target: CompareValue, key: []byte(key)} }
func Version(key string) Cmp        { return Cmp{target: CompareVersion, key: []byte(key)} }
func CreateRevision(key string) Cmp { return Cmp{target: CompareCreate, key: []byte(key)} }
func ModRevision(key string) Cmp    { return Cmp{target: CompareMod, key: []byte(key)} }
func LeaseValue(key string) Cmp     { return Cmp{target: CompareLease, key: []byte(key)} }

// WithRangeEnd makes the Cmp hold for every key in [key, end).
func (c Cmp) WithRangeEnd(end string) Cmp { c.end = []byte(end); return c }

// WithPrefix makes the Cmp hold for every key with the Cmp's key as prefix.
func (c Cmp) WithPrefix() Cmp { c.end = prefixEnd(c.key); return c }

// Compare sets the operator ("=", "!=", ">", "<") and the operand: a
// string or []byte for Value, an integer for the other targets.
func Compare(c Cmp, result string, v any) Cmp {
	switch result {
	case "=", "!=", ">", "<":
		c.result = result
	default:
		c.err = fmt.Errorf("%w: compare operator %q (want =, !=, > or <)", ErrInvalidOp, result)
		return c
	}
	switch x := v.(type) {
	case string:
		c.value = []byte(x)
	case []byte:
		c.value = x
	case int:
		c.num = int64(x)
	case int64:
		c.num = x
	default:
		c.err = fmt.Errorf("%w: compare operand of type %T (want string, []byte, int or int64)", ErrInvalidOp, v)
		return c
	}
	_, isNum := v.(int)
	_, isNum64 := v.(int64)
	if (c.target == CompareValue) == (isNum || isNum64) {
		c.err = fmt.Errorf("%w: compare operand %T does not fit the target", ErrInvalidOp, v)
	}
	return c
}

// wire converts the Cmp, or returns the error Compare recorded.
func (c *Cmp) wire() (*wireCompare, error) {
	if c.err != nil {
		return nil, c.err
	}
	if c.result == "" {
		return nil, fmt.Errorf("%w: Cmp without operator (build it with Compare)", ErrInvalidOp)
	}
	w := &wireCompare{Key: c.key, RangeEnd: c.end}
	switch c.result { // Compare admitted only these four
	case "=":
		w.Result = "EQUAL"
	case "!=":
		w.Result = "NOT_EQUAL"
	case ">":
		w.Result = "GREATER"
	case "<":
		w.Result = "LESS"
	}
	n := i64(c.num)
	switch c.target {
	case CompareVersion:
		w.Target, w.Version = "VERSION", &n
	case CompareCreate:
		w.Target, w.CreateRevision = "CREATE", &n
	case CompareMod:
		w.Target, w.ModRevision = "MOD", &n
	case CompareValue:
		w.Target, w.Value = "VALUE", c.value
		if w.Value == nil {
			w.Value = []byte{}
		}
	case CompareLease:
		w.Target, w.Lease = "LEASE", &n
	}
	return w, nil
}

// maxTxnDepth bounds nesting on the client side, well above what any
// member accepts, only so a cyclic build cannot recurse forever.
const maxTxnDepth = 64

// wireTxnOf converts one txn level.
func wireTxnOf(cmps []Cmp, then, els []Op, depth int) (*wireTxn, error) {
	if depth > maxTxnDepth {
		return nil, fmt.Errorf("%w: txn nested deeper than %d", ErrInvalidOp, maxTxnDepth)
	}
	w := &wireTxn{}
	for i := range cmps {
		wc, err := cmps[i].wire()
		if err != nil {
			return nil, err
		}
		w.Compare = append(w.Compare, wc)
	}
	for _, b := range []struct {
		ops []Op
		dst *[]*wireRequestOp
	}{{then, &w.Success}, {els, &w.Failure}} {
		for i := range b.ops {
			wo, err := b.ops[i].wireOp(depth)
			if err != nil {
				return nil, err
			}
			*b.dst = append(*b.dst, wo)
		}
	}
	return w, nil
}

// Txn is a transaction being built: If(...).Then(...).Else(...).Commit().
// A Txn is used by one goroutine and committed once.
type Txn struct {
	c         *Client
	ctx       context.Context
	cmps      []Cmp
	then, els []Op
}

// Txn starts a transaction bound to ctx.
func (c *Client) Txn(ctx context.Context) *Txn { return &Txn{c: c, ctx: ctx} }

// If adds conditions; all must hold for Then to run.
func (t *Txn) If(cmps ...Cmp) *Txn { t.cmps = append(t.cmps, cmps...); return t }

// Then adds the ops run when every condition holds.
func (t *Txn) Then(ops ...Op) *Txn { t.then = append(t.then, ops...); return t }

// Else adds the ops run otherwise.
func (t *Txn) Else(ops ...Op) *Txn { t.els = append(t.els, ops...); return t }

// TxnResponse is the answer to a Txn: which branch ran, and one response
// per op of that branch, in order.
type TxnResponse struct {
	Header    Header
	Succeeded bool
	Responses []*ResponseOp
}

// ResponseOp is the answer to one op of a txn: exactly one field is set.
// Headers of nested responses carry only Revision.
type ResponseOp struct {
	Get    *GetResponse
	Put    *PutResponse
	Delete *DeleteResponse
	Txn    *TxnResponse
}

func (r *wireTxnResponse) typed() *TxnResponse {
	out := &TxnResponse{Header: r.Header.typed(), Succeeded: r.Succeeded}
	for _, op := range r.Responses {
		ro := &ResponseOp{}
		switch {
		case op == nil:
		case op.ResponseRange != nil:
			ro.Get = op.ResponseRange.typed()
		case op.ResponsePut != nil:
			ro.Put = op.ResponsePut.typed()
		case op.ResponseDeleteRange != nil:
			ro.Delete = op.ResponseDeleteRange.typed()
		case op.ResponseTxn != nil:
			ro.Txn = op.ResponseTxn.typed()
		}
		out.Responses = append(out.Responses, ro)
	}
	return out
}

// txnWrites reports whether any op at any depth changes the store.
func txnWrites(then, els []Op) bool {
	for _, ops := range [][]Op{then, els} {
		for i := range ops {
			switch ops[i].kind {
			case opPut, opDelete:
				return true
			case opTxn:
				if txnWrites(ops[i].then, ops[i].els) {
					return true
				}
			}
		}
	}
	return false
}

// Commit sends the transaction. A txn with any Put or Delete (at any
// depth) is a write for the retry rule; a read-only txn is a read.
func (t *Txn) Commit() (*TxnResponse, error) {
	w, err := wireTxnOf(t.cmps, t.then, t.els, 1)
	if err != nil {
		return nil, err
	}
	kind := kindRead
	if txnWrites(t.then, t.els) {
		kind = kindWrite
	}
	var out wireTxnResponse
	if err := t.c.call(t.ctx, "/v3/kv/txn", kind, w, &out); err != nil {
		return nil, err
	}
	return out.typed(), nil
}
