package server

import (
	"reflect"
	"testing"

	"github.com/shelf-kv/shelf/mvcc"
)

func TestRequestRoundTrip(t *testing.T) {
	for _, r := range []*request{
		{ID: 7, Put: &mvcc.PutRequest{Key: []byte("k"), Value: []byte("v"), Lease: 9, PrevKv: true, IgnoreLease: true}},
		{ID: 1 << 60, Put: &mvcc.PutRequest{Key: []byte("only-key"), Value: []byte{}, IgnoreValue: true}},
		{ID: 8, DeleteRange: &mvcc.DeleteRangeRequest{Key: []byte("a"), RangeEnd: []byte("b"), PrevKv: true}},
		{ID: 9, Txn: &mvcc.TxnRequest{
			Compare: []*mvcc.Compare{{Key: []byte("a"), Target: mvcc.CompareValue, Value: []byte("x")}},
			Success: []*mvcc.RequestOp{{RequestPut: &mvcc.PutRequest{Key: []byte("a"), Value: []byte("y")}}},
		}},
		{Compact: &compactRequest{Revision: 5}},
		{ID: 3, LeaseGrant: &leaseGrantRequest{ID: 77, TTL: 10}},
		{ID: 4, LeaseRevoke: &leaseRevokeRequest{ID: 77}},
	} {
		data, err := r.encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRequest(data)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if r.Put != nil && len(r.Put.Value) == 0 {
			got.Put.Value = r.Put.Value // nil and empty are the same value
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip: got %+v, want %+v", got, r)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, r := range []*request{
		{ID: 7, Put: &mvcc.PutRequest{Key: []byte("k"), Value: []byte("v")}},
		{ID: 8, DeleteRange: &mvcc.DeleteRangeRequest{Key: []byte("a")}},
	} {
		data, _ := r.encode()
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte{kindPut, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRequest(data)
		if err != nil {
			return
		}
		again, err := r.encode()
		if err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
		if _, err := decodeRequest(again); err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
	})
}
