package wal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

func TestFrameRoundTrip(t *testing.T) {
	for _, f := range []Frame{
		{Type: RecordEntryNormal, Term: 1, Index: 1, Payload: []byte("hello")},
		{Type: RecordEntryConfChange, Term: 1 << 60, Index: 1<<64 - 1, Payload: []byte{0}},
		{Type: RecordEntryEmpty, Term: 3, Index: 9},
		hardStateFrame(raftpb.HardState{Term: 5, Vote: 2, Commit: 7}),
		{Type: RecordTruncate, Term: 2, Index: 4},
		{Type: RecordCompact, Term: 2, Index: 4},
		{Type: RecordReset, Term: 2, Index: 4},
	} {
		b, err := AppendFrame(nil, f)
		if err != nil {
			t.Fatalf("AppendFrame(%v): %v", f, err)
		}
		if len(b) != f.Size() {
			t.Fatalf("%s: encoded %d bytes, Size() = %d", f.Type, len(b), f.Size())
		}
		g, err := DecodeFrame(b)
		if err != nil || g.Type != f.Type || g.Term != f.Term || g.Index != f.Index || !bytes.Equal(g.Payload, f.Payload) {
			t.Fatalf("round trip of %v = %v, %v", f, g, err)
		}
	}
	for _, bad := range []Frame{
		{Type: 0}, {Type: 8}, {Type: RecordEntryEmpty, Payload: []byte("x")},
		{Type: RecordHardState, Payload: []byte("short")}, {Type: RecordReset, Payload: []byte{1}},
	} {
		if _, err := AppendFrame(nil, bad); !errors.Is(err, ErrBadFrame) {
			t.Errorf("AppendFrame(%v): err = %v, want ErrBadFrame", bad, err)
		}
	}
	if _, err := DecodeFrame(make([]byte, 4096)); !errors.Is(err, ErrBadFrame) {
		t.Errorf("zeros decode: %v", err)
	}
	if RecordCompact.String() != "Compact" || RecordType(42).String() != "RecordType(42)" {
		t.Errorf("RecordType.String: %q, %q", RecordCompact, RecordType(42))
	}
}

// FuzzDecodeFrame: the decoder never panics, and anything it accepts
// re-encodes to exactly the same bytes (frames are canonical).
func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range []Frame{
		{Type: RecordEntryNormal, Term: 1, Index: 1, Payload: []byte("hello")},
		{Type: RecordEntryEmpty, Term: 3, Index: 9},
		hardStateFrame(raftpb.HardState{Term: 5, Vote: 2, Commit: 7}),
		{Type: RecordCompact, Term: 2, Index: 4},
	} {
		b, _ := AppendFrame(nil, fr)
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{})
	f.Add(make([]byte, FrameHeaderSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("error %v does not wrap ErrBadFrame", err)
			}
			return
		}
		re, err := AppendFrame(nil, fr)
		if err != nil {
			t.Fatalf("re-encoding a decoded frame: %v", err)
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("re-encoded %x, decoded from %x", re, b)
		}
	})
}

// FuzzScanSegment: the segment scanner and tail check never panic on
// arbitrary bytes, and the valid prefix it reports re-scans cleanly.
func FuzzScanSegment(f *testing.F) {
	var seg []byte
	for i := 1; i <= 3; i++ {
		b, _ := AppendFrame(nil, Frame{Type: RecordEntryNormal, Term: 1, Index: raftpb.Index(i), Payload: []byte("abc")})
		seg = append(seg, byte(len(b)))
		seg = append(seg, b...)
	}
	f.Add(seg)
	f.Add(append(append([]byte{}, seg...), make([]byte, 64)...))
	f.Add(seg[:len(seg)-5])
	f.Fuzz(func(t *testing.T, data []byte) {
		sf := segmentFile{name: "x", path: "x", first: 1}
		n, bad, err := scanSegment(sf, data, func(Frame, int64, uint64) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if bad == nil {
			return
		}
		_ = validFrameAfter(data, bad.off)
		n2, bad2, _ := scanSegment(sf, data[:bad.off], func(Frame, int64, uint64) error { return nil })
		if bad2 != nil || n2 != n {
			t.Fatalf("prefix rescan: %d records, bad %v; first scan %d", n2, bad2, n)
		}
	})
}
