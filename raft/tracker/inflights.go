package tracker

import "github.com/shelf-kv/shelf/raft/raftpb"

// inflight is one MsgApp sent and not yet acknowledged: the last index it
// carried and the byte size of its entries.
type inflight struct {
	index raftpb.Index
	bytes uint64
}

// Inflights is the flow-control window of one follower: the MsgApps sent to it
// and not yet acknowledged, bounded by a count and (optionally) a byte total.
// Invariant: the indexes in the window are strictly increasing.
type Inflights struct {
	// buf is a ring of count entries starting at start; it grows lazily up
	// to size.
	buf   []inflight
	start int
	count int
	bytes uint64

	size     int    // max number of messages in flight
	maxBytes uint64 // max bytes in flight; 0 means no byte limit
}

// NewInflights returns a window of at most size messages and maxBytes bytes
// (0 = no byte limit).
func NewInflights(size int, maxBytes uint64) *Inflights {
	return &Inflights{size: size, maxBytes: maxBytes}
}

// Clone returns an independent copy of in.
func (in *Inflights) Clone() *Inflights {
	c := *in
	c.buf = append([]inflight(nil), in.buf...)
	return &c
}

// Add records a MsgApp whose last entry is index and whose entries total
// bytes. The caller must check Full first; adding to a full window, or an
// index not above the last one added, is a broken invariant and panics.
func (in *Inflights) Add(index raftpb.Index, bytes uint64) {
	if in.Full() {
		panic("tracker: Inflights.Add on a full window")
	}
	if in.count > 0 {
		last := in.buf[(in.start+in.count-1)%len(in.buf)].index
		if index <= last {
			panic("tracker: Inflights.Add with a non-increasing index")
		}
	}
	next := in.start + in.count
	if next >= in.size {
		next -= in.size
	}
	if next >= len(in.buf) {
		in.grow()
	}
	in.buf[next] = inflight{index: index, bytes: bytes}
	in.count++
	in.bytes += bytes
}

// grow doubles the ring (up to size). Only called while the ring has not
// wrapped (len(buf) < size means start+count never exceeded len(buf)).
func (in *Inflights) grow() {
	n := 2 * len(in.buf)
	if n == 0 {
		n = 1
	}
	if n > in.size {
		n = in.size
	}
	nb := make([]inflight, n)
	copy(nb, in.buf)
	in.buf = nb
}

// FreeLE frees every message whose last index is <= to (the follower
// acknowledged up to to).
func (in *Inflights) FreeLE(to raftpb.Index) {
	if in.count == 0 {
		return
	}
	idx := in.start
	var i int
	var bytes uint64
	for i = 0; i < in.count; i++ {
		if in.buf[idx].index > to {
			break
		}
		bytes += in.buf[idx].bytes
		if idx++; idx >= in.size {
			idx -= in.size
		}
	}
	in.count -= i
	in.bytes -= bytes
	in.start = idx
	if in.count == 0 {
		in.start = 0 // keep the ring compact while it is empty
	}
}

// Full reports whether no more messages may be sent: the count limit is
// reached, or the byte limit is set and reached.
func (in *Inflights) Full() bool {
	return in.count == in.size || (in.maxBytes != 0 && in.bytes >= in.maxBytes)
}

// Count returns the number of messages in flight.
func (in *Inflights) Count() int { return in.count }

// Bytes returns the entry bytes in flight.
func (in *Inflights) Bytes() uint64 { return in.bytes }

// Reset empties the window.
func (in *Inflights) Reset() {
	in.start, in.count, in.bytes = 0, 0, 0
}
