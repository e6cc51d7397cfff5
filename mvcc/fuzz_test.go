package mvcc

import (
	"testing"
)

// FuzzRequests decodes arbitrary bytes into (mostly malformed) requests
// and applies them: the store must answer each with a response or an
// error, never a panic, and keep its revision invariants.
func FuzzRequests(f *testing.F) {
	f.Add([]byte{0, 1, 'a', 0, 2, 3, 4, 5})
	f.Add([]byte{3, 200, 0, 0, 1, 9, 9, 9, 9})
	f.Add([]byte{2, 2, 'b', 'a', 1, 0, 3, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newTestStore(t, Config{MaxTxnDepth: 3, MaxTxnOps: 3})
		p := &byteReader{b: data}
		for p.more() {
			rev := s.Rev()
			switch p.n(6) {
			case 0:
				_, _ = s.Range(p.rangeReq())
			case 1:
				_, _ = s.Put(s.next(), p.putReq())
			case 2:
				_, _ = s.DeleteRange(s.next(), &DeleteRangeRequest{Key: p.bytes(), RangeEnd: p.bytes(), PrevKv: p.n(2) == 0})
			case 3:
				_, _ = s.Txn(s.next(), p.txn(0))
			case 4:
				_, _ = s.Compact(s.next(), int64(p.n(8))-2)
			default:
				_, _ = s.LeaseGrant(s.next(), int64(p.n(4)), int64(p.n(8))-1)
			}
			if got := s.Rev(); got != rev && got != rev+1 {
				t.Fatalf("revision jumped from %d to %d", rev, got)
			}
		}
	})
}

type byteReader struct {
	b []byte
	i int
}

func (p *byteReader) more() bool { return p.i < len(p.b) }

func (p *byteReader) n(m int) int {
	if !p.more() {
		return 0
	}
	p.i++
	return int(p.b[p.i-1]) % m
}

func (p *byteReader) bytes() []byte {
	switch p.n(5) {
	case 0:
		return nil
	case 1:
		return []byte{0}
	}
	return []byte{byte('a' + p.n(4))}
}

func (p *byteReader) rangeReq() *RangeRequest {
	if p.n(10) == 0 {
		return nil
	}
	return &RangeRequest{Key: p.bytes(), RangeEnd: p.bytes(), Limit: int64(p.n(4)) - 1,
		Revision: int64(p.n(6)) - 1, SortOrder: SortOrder(p.n(5) - 1), SortTarget: SortTarget(p.n(7) - 1),
		KeysOnly: p.n(2) == 0, CountOnly: p.n(2) == 0, MinModRevision: int64(p.n(4)), MaxCreateRevision: int64(p.n(4))}
}

func (p *byteReader) putReq() *PutRequest {
	if p.n(10) == 0 {
		return nil
	}
	return &PutRequest{Key: p.bytes(), Value: p.bytes(), Lease: int64(p.n(3)),
		PrevKv: p.n(2) == 0, IgnoreValue: p.n(3) == 0, IgnoreLease: p.n(3) == 0}
}

func (p *byteReader) txn(depth int) *TxnRequest {
	if p.n(12) == 0 {
		return nil
	}
	r := &TxnRequest{}
	for i := p.n(3); i > 0; i-- {
		r.Compare = append(r.Compare, &Compare{Key: p.bytes(), RangeEnd: p.bytes(),
			Target: CompareTarget(p.n(7) - 1), Result: CompareResult(p.n(6) - 1), Value: p.bytes(), Version: int64(p.n(3))})
	}
	ops := func() []*RequestOp {
		var out []*RequestOp
		for i := p.n(4); i > 0; i-- {
			op := &RequestOp{}
			switch p.n(6) {
			case 0:
				op.RequestRange = p.rangeReq()
			case 1:
				op.RequestPut = p.putReq()
			case 2:
				op.RequestDeleteRange = &DeleteRangeRequest{Key: p.bytes(), RangeEnd: p.bytes()}
			case 3:
				if depth < 5 {
					op.RequestTxn = p.txn(depth + 1)
				}
			case 4:
				op = nil
			}
			out = append(out, op)
		}
		return out
	}
	r.Success, r.Failure = ops(), ops()
	return r
}
