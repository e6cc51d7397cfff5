package raftpb

import (
	"encoding/binary"
	"fmt"
)

// Wire format of a Message (all integers are unsigned varints unless noted):
//
//	+---------+------+----+------+------+---------+-------+--------+------------+-------+
//	| version | type | to | from | term | logterm | index | commit | rejecthint | flags |
//	| 1 byte  | byte |    |      |      |         |       |        |            | byte  |
//	+---------+------+----+------+------+---------+-------+--------+------------+-------+
//	| len(context) context | n entries { term index type(byte) len(data) data }        |
//	| [snapshot, iff flags&flagSnapshot: index term confstate len(data) data]            |
//	+-------------------------------------------------------------------------------------+
//
// confstate = four id lists {count ids...} (voters, learners, voters outgoing,
// learners next) and one byte autoleave. Every length is checked against the
// bytes that remain, so a decoder never allocates more than its input implies.

// messageVersion is the first byte of every encoded Message. Never change the
// meaning of an existing version; a new layout gets a new number.
const messageVersion = 1

const (
	flagReject   = 1 << 0
	flagSnapshot = 1 << 1
	flagMask     = flagReject | flagSnapshot
)

// Marshal encodes m for the peer transport. See the wire format above.
func (m *Message) Marshal() []byte {
	n := 2 + 9*binary.MaxVarintLen64 + len(m.Context)
	for i := range m.Entries {
		n += 3*binary.MaxVarintLen64 + 1 + len(m.Entries[i].Data)
	}
	if m.Snapshot != nil {
		n += 64 + len(m.Snapshot.Data)
	}
	b := make([]byte, 0, n)
	b = append(b, messageVersion, byte(m.Type))
	for _, v := range [...]uint64{uint64(m.To), uint64(m.From), uint64(m.Term),
		uint64(m.LogTerm), uint64(m.Index), uint64(m.Commit), uint64(m.RejectHint)} {
		b = binary.AppendUvarint(b, v)
	}
	var flags byte
	if m.Reject {
		flags |= flagReject
	}
	if m.Snapshot != nil {
		flags |= flagSnapshot
	}
	b = append(b, flags)
	b = appendBytes(b, m.Context)
	b = binary.AppendUvarint(b, uint64(len(m.Entries)))
	for i := range m.Entries {
		b = appendEntry(b, &m.Entries[i])
	}
	if m.Snapshot != nil {
		s := m.Snapshot
		b = binary.AppendUvarint(b, uint64(s.Metadata.Index))
		b = binary.AppendUvarint(b, uint64(s.Metadata.Term))
		cs := &s.Metadata.ConfState
		for _, ids := range [][]NodeID{cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext} {
			b = binary.AppendUvarint(b, uint64(len(ids)))
			for _, id := range ids {
				b = binary.AppendUvarint(b, uint64(id))
			}
		}
		if cs.AutoLeave {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = appendBytes(b, s.Data)
	}
	return b
}

// Unmarshal decodes data produced by Marshal into m. It never panics; on
// malformed input (unknown version or type, truncated field, a length larger
// than the input, trailing bytes) it returns an error wrapping ErrCorrupt that
// names the field, and leaves m unchanged. The decoded slices do not alias data.
func (m *Message) Unmarshal(data []byte) error {
	d := decoder{b: data}
	if v := d.byte("message version"); d.err == nil && v != messageVersion {
		return fmt.Errorf("%w: message version %d, want %d", ErrCorrupt, v, messageVersion)
	}
	var out Message
	out.Type = MessageType(d.byte("message type"))
	if d.err == nil && !out.Type.Valid() {
		return fmt.Errorf("%w: unknown message type %d", ErrCorrupt, uint8(out.Type))
	}
	out.To = NodeID(d.uvarint("to"))
	out.From = NodeID(d.uvarint("from"))
	out.Term = Term(d.uvarint("term"))
	out.LogTerm = Term(d.uvarint("logterm"))
	out.Index = Index(d.uvarint("index"))
	out.Commit = Index(d.uvarint("commit"))
	out.RejectHint = Index(d.uvarint("rejecthint"))
	flags := d.byte("flags")
	if d.err == nil && flags&^flagMask != 0 {
		return fmt.Errorf("%w: unknown message flags %#x", ErrCorrupt, flags)
	}
	out.Reject = flags&flagReject != 0
	out.Context = d.bytes("context")
	// Each entry takes at least 4 bytes, which bounds the count by the input.
	if n := d.count("entries", 4); n > 0 {
		out.Entries = make([]Entry, n)
		for i := range out.Entries {
			e := &out.Entries[i]
			e.Term = Term(d.uvarint("entry term"))
			e.Index = Index(d.uvarint("entry index"))
			e.Type = EntryType(d.byte("entry type"))
			if d.err == nil && e.Type > EntryEmpty {
				return fmt.Errorf("%w: entry %d has unknown type %d", ErrCorrupt, i, uint8(e.Type))
			}
			e.Data = d.bytes("entry data")
		}
	}
	if flags&flagSnapshot != 0 {
		s := &Snapshot{}
		s.Metadata.Index = Index(d.uvarint("snapshot index"))
		s.Metadata.Term = Term(d.uvarint("snapshot term"))
		cs := &s.Metadata.ConfState
		for _, p := range []*[]NodeID{&cs.Voters, &cs.Learners, &cs.VotersOutgoing, &cs.LearnersNext} {
			if n := d.count("confstate ids", 1); n > 0 {
				*p = make([]NodeID, n)
				for j := range *p {
					(*p)[j] = NodeID(d.uvarint("confstate id"))
				}
			}
		}
		switch al := d.byte("autoleave"); {
		case d.err != nil:
		case al > 1:
			d.err = fmt.Errorf("%w: autoleave byte %d", ErrCorrupt, al)
		default:
			cs.AutoLeave = al == 1
		}
		s.Data = d.bytes("snapshot data")
		out.Snapshot = s
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes after message", ErrCorrupt, len(d.b))
	}
	if d.err != nil {
		return d.err
	}
	*m = out
	return nil
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendEntry(b []byte, e *Entry) []byte {
	b = binary.AppendUvarint(b, uint64(e.Term))
	b = binary.AppendUvarint(b, uint64(e.Index))
	b = append(b, byte(e.Type))
	return appendBytes(b, e.Data)
}

// decoder reads fields from b, remembering the first error; after an error
// every read returns a zero value, so callers check err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.err = fmt.Errorf("%w: truncated at %s", ErrCorrupt, field)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad varint at %s", ErrCorrupt, field)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads an element count and checks that count*minSize bytes remain.
func (d *decoder) count(field string, minSize int) int {
	n := d.uvarint(field + " count")
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)/minSize) {
		d.err = fmt.Errorf("%w: %s count %d exceeds the %d bytes left", ErrCorrupt, field, n, len(d.b))
		return 0
	}
	return int(n)
}

// bytes reads a length-prefixed byte string, copied out of the input. A zero
// length decodes as nil.
func (d *decoder) bytes(field string) []byte {
	n := d.uvarint(field + " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: %s length %d exceeds the %d bytes left", ErrCorrupt, field, n, len(d.b))
		return nil
	}
	if n == 0 {
		return nil
	}
	p := make([]byte, n)
	copy(p, d.b[:n])
	d.b = d.b[n:]
	return p
}
