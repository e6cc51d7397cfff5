package transport

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

func encodeFrame(t frameType, p []byte) []byte {
	var b bytes.Buffer
	writeFrame(&b, t, p)
	return b.Bytes()
}

// TestFrameRoundTrip: frames of every type and several sizes decode to
// what was written, in order, and the stream ends with a clean io.EOF.
func TestFrameRoundTrip(t *testing.T) {
	m := raftpb.Message{Type: raftpb.MsgApp, From: 1, To: 2, Term: 5, Index: 9,
		Entries: []raftpb.Entry{{Term: 5, Index: 10, Data: []byte("x")}}}
	frames := []struct {
		t frameType
		p []byte
	}{
		{frameMessage, m.Marshal()},
		{framePing, []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{frameSnapEnd, nil},
		{frameSnapChunk, bytes.Repeat([]byte{0xab}, 3<<20)}, // larger than readGrowStep
		{frameSnapResult, []byte{0, 'o', 'k'}},
	}
	var stream bytes.Buffer
	for _, f := range frames {
		if err := writeFrame(&stream, f.t, f.p); err != nil {
			t.Fatal(err)
		}
	}
	fr := newFrameReader(&stream, 4<<20)
	for i, f := range frames {
		typ, p, n, err := fr.next()
		if err != nil || typ != f.t || !bytes.Equal(p, f.p) || n != frameHeaderSize+len(f.p) {
			t.Fatalf("frame %d: got %s %d bytes (n=%d) err=%v, want %s %d bytes", i, typ, len(p), n, err, f.t, len(f.p))
		}
	}
	if _, _, _, err := fr.next(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

// TestFrameRejects: each kind of damage gives its sentinel error.
func TestFrameRejects(t *testing.T) {
	good := encodeFrame(frameMessage, []byte("hello, peer"))
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x10
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{"payload bit flip", flip(frameHeaderSize + 3), 1 << 10, ErrChecksum},
		{"type changed to another valid type", func() []byte { b := bytes.Clone(good); b[4] = byte(framePing); return b }(), 1 << 10, ErrChecksum},
		{"crc bit flip", flip(6), 1 << 10, ErrChecksum},
		{"unknown type", func() []byte { b := bytes.Clone(good); b[4] = 0xee; return b }(), 1 << 10, ErrCorruptFrame},
		{"type zero", func() []byte { b := bytes.Clone(good); b[4] = 0; return b }(), 1 << 10, ErrCorruptFrame},
		{"too large", good, 5, ErrFrameTooLarge},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0}, 64 << 20, ErrFrameTooLarge},
		{"truncated header", good[:5], 1 << 10, ErrCorruptFrame},
		{"truncated payload", good[:len(good)-1], 1 << 10, io.ErrUnexpectedEOF},
	} {
		_, _, _, err := newFrameReader(bytes.NewReader(tc.in), tc.max).next()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// FuzzFrameReader: the decoder never panics, never returns a payload over
// the limit, and whatever it accepts re-encodes to exactly the bytes it
// consumed (so a frame is accepted only with a matching CRC32C).
func FuzzFrameReader(f *testing.F) {
	f.Add(encodeFrame(frameMessage, (&raftpb.Message{Type: raftpb.MsgHeartbeat, From: 1, To: 2}).Marshal()))
	f.Add(append(encodeFrame(framePing, []byte("12345678")), encodeFrame(frameSnapEnd, nil)...))
	f.Add([]byte{0, 0, 0, 1, 5, 0, 0, 0, 0, 'x'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 16
		fr := newFrameReader(bytes.NewReader(data), max)
		off := 0
		for {
			typ, p, n, err := fr.next()
			if err != nil {
				return
			}
			if len(p) > max {
				t.Fatalf("payload of %d bytes over the limit %d", len(p), max)
			}
			if enc := encodeFrame(typ, p); !bytes.Equal(enc, data[off:off+n]) {
				t.Fatalf("accepted frame at %d does not re-encode to its input", off)
			}
			off += n
			if typ == frameMessage {
				var m raftpb.Message
				_ = m.Unmarshal(p) // must not panic either
			}
		}
	})
}

// FuzzHandshake: parsing never panics and accepted handshakes round-trip.
func FuzzHandshake(f *testing.F) {
	f.Add(handshake{Kind: streamApp, ClusterID: 7, From: 1, To: 2}.marshal())
	f.Add([]byte("SHLF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseHandshake(data)
		if err != nil {
			if !errors.Is(err, ErrHandshake) {
				t.Fatalf("error %v does not wrap ErrHandshake", err)
			}
			return
		}
		if !bytes.Equal(h.marshal(), data) {
			t.Fatalf("handshake %+v does not round-trip", h)
		}
	})
}

func TestHandshakeParse(t *testing.T) {
	good := handshake{Kind: streamSnap, ClusterID: 0xabc, From: 3, To: 4}.marshal()
	if h, err := parseHandshake(good); err != nil || h != (handshake{Kind: streamSnap, ClusterID: 0xabc, From: 3, To: 4}) {
		t.Fatalf("round trip: %+v %v", h, err)
	}
	mut := func(i int, v byte) []byte { b := bytes.Clone(good); b[i] = v; return b }
	for name, in := range map[string][]byte{
		"bad magic":     mut(0, 'X'),
		"version 2":     mut(4, 2),
		"kind 0":        mut(5, 0),
		"kind 4":        mut(5, 4),
		"short":         good[:20],
		"trailing byte": append(bytes.Clone(good), 0),
	} {
		if _, err := parseHandshake(in); !errors.Is(err, ErrHandshake) {
			t.Errorf("%s: got %v, want ErrHandshake", name, err)
		}
	}
}
