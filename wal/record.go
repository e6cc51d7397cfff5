package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// RecordType says what a frame holds. The values are written to disk.
// Never renumber, never reuse a retired value: old logs must stay readable.
type RecordType uint8

const (
	// recordInvalid is the zero value; a frame of type 0 is always rejected,
	// so a zero-filled tail never decodes as a record.
	recordInvalid RecordType = 0
	// RecordEntryNormal is a raft entry of type EntryNormal; payload = Data.
	RecordEntryNormal RecordType = 1
	// RecordEntryConfChange is a raft entry of type EntryConfChange;
	// payload = Data.
	RecordEntryConfChange RecordType = 2
	// RecordEntryEmpty is a raft entry of type EntryEmpty; payload is empty.
	RecordEntryEmpty RecordType = 3
	// RecordHardState is a hard state: Term = HardState.Term, Index =
	// HardState.Commit, payload = Vote as 8 bytes little endian.
	RecordHardState RecordType = 4
	// RecordTruncate cuts the log after Index (entries > Index are gone);
	// Term is the term of Index. Payload is empty.
	RecordTruncate RecordType = 5
	// RecordCompact drops entries <= Index and records Term as the term of
	// Index (the "dummy entry" of etcd's MemoryStorage). Entries > Index are
	// kept. Payload is empty.
	RecordCompact RecordType = 6
	// RecordReset empties the log: afterwards FirstIndex = Index+1,
	// LastIndex = Index, Term(Index) = Term. Payload is empty.
	RecordReset RecordType = 7
)

func (t RecordType) String() string {
	switch t {
	case RecordEntryNormal:
		return "EntryNormal"
	case RecordEntryConfChange:
		return "EntryConfChange"
	case RecordEntryEmpty:
		return "EntryEmpty"
	case RecordHardState:
		return "HardState"
	case RecordTruncate:
		return "Truncate"
	case RecordCompact:
		return "Compact"
	case RecordReset:
		return "Reset"
	}
	return fmt.Sprintf("RecordType(%d)", uint8(t))
}

// isEntry reports whether frames of type t carry a raft entry.
func (t RecordType) isEntry() bool {
	return t == RecordEntryNormal || t == RecordEntryConfChange || t == RecordEntryEmpty
}

// Frame layout constants. Never change: they define the on-disk format
// documented in doc.go.
const (
	// FrameHeaderSize is the size of the fixed frame header in bytes.
	FrameHeaderSize = 28
	// MaxPayload is the largest payload a frame may carry (64 MiB). A longer
	// length field is treated as corruption rather than trusted.
	MaxPayload = 64 << 20

	offType     = 0  // 1 byte RecordType
	offReserved = 1  // 3 bytes, always zero
	offLength   = 4  // uint32 LE payload length
	offTerm     = 8  // uint64 LE term
	offIndex    = 16 // uint64 LE index
	offCRC      = 24 // uint32 LE CRC32C of bytes [0,24) and the payload
	hsPayload   = 8  // payload size of a RecordHardState (the vote)
)

// castagnoli is the CRC32C table. It is immutable after construction, so
// sharing it is not mutable package state.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Frame is one decoded record. For entry records Term/Index are the entry's;
// for RecordHardState they are HardState.Term and HardState.Commit and the
// payload is the vote; for markers they are the cut point and its term.
type Frame struct {
	Type    RecordType
	Term    raftpb.Term
	Index   raftpb.Index
	Payload []byte
}

// Size returns the encoded size of f in bytes.
func (f Frame) Size() int { return FrameHeaderSize + len(f.Payload) }

// checkPayload enforces the per-type payload rules shared by the encoder and
// the decoder, so that only canonical frames exist.
func (f Frame) checkPayload() error {
	switch {
	case f.Type == RecordEntryNormal || f.Type == RecordEntryConfChange:
	case f.Type == RecordHardState:
		if len(f.Payload) != hsPayload {
			return fmt.Errorf("%w: hard state payload is %d bytes, want %d", ErrBadFrame, len(f.Payload), hsPayload)
		}
	case f.Type == RecordEntryEmpty || f.Type == RecordTruncate || f.Type == RecordCompact || f.Type == RecordReset:
		if len(f.Payload) != 0 {
			return fmt.Errorf("%w: %s frame carries %d payload bytes, want 0", ErrBadFrame, f.Type, len(f.Payload))
		}
	default:
		return fmt.Errorf("%w: unknown record type %d", ErrBadFrame, uint8(f.Type))
	}
	if len(f.Payload) > MaxPayload {
		return fmt.Errorf("%w: payload of %d bytes exceeds MaxPayload %d", ErrBadFrame, len(f.Payload), MaxPayload)
	}
	return nil
}

// AppendFrame appends the encoding of f to dst and returns the extended
// slice. It returns an error (and dst unchanged) if f is not canonical: an
// unknown type, a payload where none is allowed, or a payload too large.
func AppendFrame(dst []byte, f Frame) ([]byte, error) {
	if err := f.checkPayload(); err != nil {
		return dst, err
	}
	var h [FrameHeaderSize]byte
	h[offType] = byte(f.Type)
	binary.LittleEndian.PutUint32(h[offLength:], uint32(len(f.Payload)))
	binary.LittleEndian.PutUint64(h[offTerm:], uint64(f.Term))
	binary.LittleEndian.PutUint64(h[offIndex:], uint64(f.Index))
	crc := crc32.Update(0, castagnoli, h[:offCRC])
	crc = crc32.Update(crc, castagnoli, f.Payload)
	binary.LittleEndian.PutUint32(h[offCRC:], crc)
	dst = append(dst, h[:]...)
	return append(dst, f.Payload...), nil
}

// DecodeFrame decodes b, which must be exactly one frame. The returned
// Payload aliases b. Any deviation (short input, trailing bytes, nonzero
// reserved bytes, unknown type, a payload that breaks the type's rule, CRC
// mismatch) returns an error wrapping ErrBadFrame; it never panics.
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) < FrameHeaderSize {
		return Frame{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrBadFrame, len(b), FrameHeaderSize)
	}
	if b[offReserved] != 0 || b[offReserved+1] != 0 || b[offReserved+2] != 0 {
		return Frame{}, fmt.Errorf("%w: reserved header bytes are not zero", ErrBadFrame)
	}
	n := binary.LittleEndian.Uint32(b[offLength:])
	if uint64(n) != uint64(len(b)-FrameHeaderSize) {
		return Frame{}, fmt.Errorf("%w: length field says %d payload bytes, record has %d", ErrBadFrame, n, len(b)-FrameHeaderSize)
	}
	f := Frame{
		Type:    RecordType(b[offType]),
		Term:    raftpb.Term(binary.LittleEndian.Uint64(b[offTerm:])),
		Index:   raftpb.Index(binary.LittleEndian.Uint64(b[offIndex:])),
		Payload: b[FrameHeaderSize:],
	}
	if err := f.checkPayload(); err != nil {
		return Frame{}, err
	}
	crc := crc32.Update(0, castagnoli, b[:offCRC])
	crc = crc32.Update(crc, castagnoli, f.Payload)
	if want := binary.LittleEndian.Uint32(b[offCRC:]); crc != want {
		return Frame{}, fmt.Errorf("%w: crc32c mismatch: computed %08x, stored %08x", ErrBadFrame, crc, want)
	}
	return f, nil
}

// entryFrame converts a raft entry to its frame. Data is aliased, not copied.
func entryFrame(e raftpb.Entry) (Frame, error) {
	var t RecordType
	switch e.Type {
	case raftpb.EntryNormal:
		t = RecordEntryNormal
	case raftpb.EntryConfChange:
		t = RecordEntryConfChange
	case raftpb.EntryEmpty:
		t = RecordEntryEmpty
		if len(e.Data) != 0 {
			return Frame{}, fmt.Errorf("%w: entry %d of type Empty carries %d data bytes", ErrInvalid, e.Index, len(e.Data))
		}
	default:
		return Frame{}, fmt.Errorf("%w: entry %d has unknown type %s", ErrInvalid, e.Index, e.Type)
	}
	if len(e.Data) > MaxPayload {
		return Frame{}, fmt.Errorf("%w: entry %d has %d data bytes, more than MaxPayload %d", ErrInvalid, e.Index, len(e.Data), MaxPayload)
	}
	return Frame{Type: t, Term: e.Term, Index: e.Index, Payload: e.Data}, nil
}

// entry converts an entry frame back to a raft entry. If copyData, Data is
// a copy (so the entry does not alias a segment buffer), else it aliases
// the payload. An empty payload yields nil Data.
func (f Frame) entry(copyData bool) raftpb.Entry {
	e := raftpb.Entry{Term: f.Term, Index: f.Index}
	switch f.Type {
	case RecordEntryConfChange:
		e.Type = raftpb.EntryConfChange
	case RecordEntryEmpty:
		e.Type = raftpb.EntryEmpty
	default:
		e.Type = raftpb.EntryNormal
	}
	switch {
	case len(f.Payload) == 0:
	case copyData:
		e.Data = append([]byte(nil), f.Payload...)
	default:
		e.Data = f.Payload
	}
	return e
}

// hardStateFrame encodes hs as a frame.
func hardStateFrame(hs raftpb.HardState) Frame {
	p := make([]byte, hsPayload)
	binary.LittleEndian.PutUint64(p, uint64(hs.Vote))
	return Frame{Type: RecordHardState, Term: hs.Term, Index: hs.Commit, Payload: p}
}

// hardState decodes a RecordHardState frame (already validated).
func (f Frame) hardState() raftpb.HardState {
	return raftpb.HardState{Term: f.Term, Commit: f.Index, Vote: raftpb.NodeID(binary.LittleEndian.Uint64(f.Payload))}
}
