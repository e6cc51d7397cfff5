// Package raftpb holds the plain data types that cross the boundary of the raft
// state machine: log entries, hard state, membership and snapshot metadata, and
// (added by the raft package) the messages members exchange.
//
// These types are shared by raft/, wal/, snapshot/ and server/. They carry no
// behaviour beyond formatting; their on-disk and on-wire encodings belong to the
// packages that write them (wal/ frames entries, the peer transport frames
// messages).
package raftpb

import "fmt"

// Term is a raft term: a monotonically increasing election epoch.
// Never change the underlying type: it is written to disk by wal/.
type Term uint64

// Index is the position of an entry in the raft log. The first real entry has
// index 1; index 0 means "no entry".
// Never change the underlying type: it is written to disk by wal/.
type Index uint64

// NodeID identifies a member of a raft group. None (0) means "nobody".
type NodeID uint64

// None is the NodeID that names no node (no vote cast, no known leader).
const None NodeID = 0

func (t Term) String() string   { return fmt.Sprintf("%d", uint64(t)) }
func (i Index) String() string  { return fmt.Sprintf("%d", uint64(i)) }
func (n NodeID) String() string { return fmt.Sprintf("%x", uint64(n)) }

// EntryType says how the data of an entry is to be interpreted.
// Never renumber: the values are written to disk by wal/.
type EntryType uint8

const (
	// EntryNormal carries an application command in Data.
	EntryNormal EntryType = 0
	// EntryConfChange carries an encoded membership change in Data.
	EntryConfChange EntryType = 1
	// EntryEmpty is the no-op a new leader appends to commit entries of
	// earlier terms. Data is always empty.
	EntryEmpty EntryType = 2
)

func (t EntryType) String() string {
	switch t {
	case EntryNormal:
		return "Normal"
	case EntryConfChange:
		return "ConfChange"
	case EntryEmpty:
		return "Empty"
	}
	return fmt.Sprintf("EntryType(%d)", uint8(t))
}

// Entry is one record of the replicated log.
type Entry struct {
	Term  Term
	Index Index
	Type  EntryType
	Data  []byte
}

func (e Entry) String() string {
	return fmt.Sprintf("%d/%d %s %q", e.Term, e.Index, e.Type, e.Data)
}

// HardState is the part of a member's raft state that must survive a crash:
// the current term, the vote cast in it, and the highest index known committed.
type HardState struct {
	Term   Term
	Vote   NodeID
	Commit Index
}

// IsEmpty reports whether h is the zero HardState (nothing persisted yet).
func (h HardState) IsEmpty() bool { return h == HardState{} }

// ConfState is the membership of a raft group at some point in the log.
// VotersOutgoing is non-empty only while a joint-consensus change is in flight.
type ConfState struct {
	Voters         []NodeID
	Learners       []NodeID
	VotersOutgoing []NodeID
	LearnersNext   []NodeID
	AutoLeave      bool
}

// SnapshotMetadata says which log position and membership a snapshot covers.
type SnapshotMetadata struct {
	ConfState ConfState
	Index     Index
	Term      Term
}

// Snapshot is an application-supplied image of the state machine at
// Metadata.Index. Data is opaque to raft.
type Snapshot struct {
	Data     []byte
	Metadata SnapshotMetadata
}

// IsEmpty reports whether s carries no snapshot.
func (s Snapshot) IsEmpty() bool { return s.Metadata.Index == 0 }
