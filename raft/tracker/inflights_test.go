package tracker

import (
	"testing"
	"testing/quick"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// refInflights is the simple reference: a plain slice.
type refInflights struct {
	idx   []raftpb.Index
	bytes []uint64
	size  int
	max   uint64
}

func (r *refInflights) total() (s uint64) {
	for _, b := range r.bytes {
		s += b
	}
	return s
}

func (r *refInflights) full() bool {
	return len(r.idx) == r.size || (r.max != 0 && r.total() >= r.max)
}

func (r *refInflights) freeLE(to raftpb.Index) {
	i := 0
	for i < len(r.idx) && r.idx[i] <= to {
		i++
	}
	r.idx, r.bytes = r.idx[i:], r.bytes[i:]
}

// TestInflightsMatchesReference drives Inflights and the reference with the
// same random operations (add when not full, free up to some index).
func TestInflightsMatchesReference(t *testing.T) {
	f := func(size uint8, maxBytes uint8, ops []uint16) bool {
		n := int(size%8) + 1
		in := NewInflights(n, uint64(maxBytes%64))
		ref := &refInflights{size: n, max: uint64(maxBytes % 64)}
		var next raftpb.Index = 1
		for _, op := range ops {
			if op%3 != 0 {
				if in.Full() != ref.full() {
					t.Logf("Full mismatch: %v vs %v", in.Full(), ref.full())
					return false
				}
				if in.Full() {
					continue
				}
				b := uint64(op % 13)
				in.Add(next, b)
				ref.idx = append(ref.idx, next)
				ref.bytes = append(ref.bytes, b)
				next += raftpb.Index(op%4) + 1
			} else {
				to := raftpb.Index(op) % (next + 1)
				in.FreeLE(to)
				ref.freeLE(to)
			}
			if in.Count() != len(ref.idx) || in.Bytes() != ref.total() || in.Full() != ref.full() {
				t.Logf("count %d/%d bytes %d/%d", in.Count(), len(ref.idx), in.Bytes(), ref.total())
				return false
			}
		}
		return true
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 3000}); err != nil {
		t.Fatal(err)
	}
}

func TestInflightsWrapAndReset(t *testing.T) {
	in := NewInflights(4, 0)
	for i := raftpb.Index(1); i <= 4; i++ {
		in.Add(i, 1)
	}
	if !in.Full() {
		t.Fatal("window of 4 not full after 4 adds")
	}
	in.FreeLE(2)
	in.Add(5, 1)
	in.Add(6, 1) // wraps around the ring
	if !in.Full() || in.Count() != 4 {
		t.Fatalf("after wrap: full=%v count=%d", in.Full(), in.Count())
	}
	in.FreeLE(5)
	if in.Count() != 1 {
		t.Fatalf("count %d after FreeLE(5), want 1", in.Count())
	}
	c := in.Clone()
	in.Reset()
	if in.Count() != 0 || c.Count() != 1 {
		t.Fatalf("Reset/Clone: %d %d", in.Count(), c.Count())
	}
}

func TestInflightsByteLimit(t *testing.T) {
	in := NewInflights(100, 10)
	in.Add(1, 6)
	if in.Full() {
		t.Fatal("6 of 10 bytes: not full")
	}
	in.Add(2, 6)
	if !in.Full() {
		t.Fatal("12 of 10 bytes: full")
	}
	in.FreeLE(1)
	if in.Full() || in.Bytes() != 6 {
		t.Fatalf("after free: full=%v bytes=%d", in.Full(), in.Bytes())
	}
}
