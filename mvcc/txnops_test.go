package mvcc

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// TestCheckTxnOpsAgreesWithValidation: the member's pre-proposal check
// (CheckTxnOps) refuses exactly the txns the store's own validation refuses
// for their op count, on random read-only txns nested up to three deep.
func TestCheckTxnOpsAgreesWithValidation(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var gen func(depth int) *TxnRequest
	gen = func(depth int) *TxnRequest {
		tx := &TxnRequest{}
		for range r.IntN(5) {
			tx.Compare = append(tx.Compare, &Compare{Key: []byte("k"), Target: CompareVersion, Result: CompareEqual})
		}
		for _, ops := range []*[]*RequestOp{&tx.Success, &tx.Failure} {
			for range r.IntN(5) {
				if depth < 3 && r.IntN(3) == 0 {
					*ops = append(*ops, &RequestOp{RequestTxn: gen(depth + 1)})
				} else {
					*ops = append(*ops, &RequestOp{RequestRange: &RangeRequest{Key: []byte("k")}})
				}
			}
		}
		return tx
	}
	refusedBoth, acceptedBoth := 0, 0
	for limit := 1; limit <= 6; limit++ {
		s, err := New(Config{Clock: newFakeClock(), MaxTxnOps: limit})
		if err != nil {
			t.Fatal(err)
		}
		for range 300 {
			tx := gen(1)
			_, verr := s.ReadTxn(tx)
			storeRefuses := errors.Is(verr, ErrTooManyOps)
			checkRefuses := errors.Is(CheckTxnOps(tx, limit), ErrTooManyOps)
			if storeRefuses != checkRefuses {
				t.Fatalf("limit %d: store refuses %v (%v), CheckTxnOps refuses %v for %+v", limit, storeRefuses, verr, checkRefuses, tx)
			}
			if storeRefuses {
				refusedBoth++
			} else {
				acceptedBoth++
			}
		}
		s.Close()
	}
	if refusedBoth < 100 || acceptedBoth < 100 {
		t.Fatalf("the generator is lopsided: %d refused, %d accepted", refusedBoth, acceptedBoth)
	}
}
