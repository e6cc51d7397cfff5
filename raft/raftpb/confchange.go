package raftpb

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ConfChangeType says what a ConfChange does. Written to disk inside
// EntryConfChange entries: never renumber.
type ConfChangeType uint8

const (
	// ConfChangeAddNode adds a voter, or promotes an existing learner.
	ConfChangeAddNode ConfChangeType = 0
	// ConfChangeRemoveNode removes a voter or a learner.
	ConfChangeRemoveNode ConfChangeType = 1
	// ConfChangeAddLearnerNode adds a learner (a non-voting member).
	ConfChangeAddLearnerNode ConfChangeType = 2
)

func (t ConfChangeType) String() string {
	switch t {
	case ConfChangeAddNode:
		return "AddNode"
	case ConfChangeRemoveNode:
		return "RemoveNode"
	case ConfChangeAddLearnerNode:
		return "AddLearnerNode"
	}
	return fmt.Sprintf("ConfChangeType(%d)", uint8(t))
}

// ConfChange is a one-at-a-time membership change, carried in the Data of an
// EntryConfChange entry (encoded with Marshal).
type ConfChange struct {
	Type    ConfChangeType
	NodeID  NodeID
	Context []byte
}

func (c ConfChange) String() string {
	return fmt.Sprintf("%s %x", c.Type, uint64(c.NodeID))
}

// ErrCorrupt is returned (wrapped) by every Unmarshal in this package when the
// input is not a valid encoding.
var ErrCorrupt = errors.New("raftpb: corrupt encoding")

// confChangeVersion is the first byte of an encoded ConfChange. Never change
// the meaning of an existing version.
const confChangeVersion = 1

// Marshal encodes c as: version byte, type byte, uvarint NodeID, uvarint
// len(Context), Context bytes.
func (c ConfChange) Marshal() []byte {
	b := make([]byte, 0, 2+2*binary.MaxVarintLen64+len(c.Context))
	b = append(b, confChangeVersion, byte(c.Type))
	b = binary.AppendUvarint(b, uint64(c.NodeID))
	b = binary.AppendUvarint(b, uint64(len(c.Context)))
	return append(b, c.Context...)
}

// Unmarshal decodes data produced by Marshal into c. It never panics; on
// malformed input it returns an error wrapping ErrCorrupt and leaves c unchanged.
func (c *ConfChange) Unmarshal(data []byte) error {
	d := decoder{b: data}
	if v := d.byte("confchange version"); d.err == nil && v != confChangeVersion {
		return fmt.Errorf("%w: confchange version %d, want %d", ErrCorrupt, v, confChangeVersion)
	}
	typ := ConfChangeType(d.byte("confchange type"))
	id := NodeID(d.uvarint("confchange node id"))
	ctx := d.bytes("confchange context")
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes after confchange", ErrCorrupt, len(d.b))
	}
	if d.err == nil && typ > ConfChangeAddLearnerNode {
		d.err = fmt.Errorf("%w: unknown confchange type %d", ErrCorrupt, uint8(typ))
	}
	if d.err != nil {
		return d.err
	}
	*c = ConfChange{Type: typ, NodeID: id, Context: ctx}
	return nil
}
