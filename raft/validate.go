package raft

import (
	"errors"
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// ErrInvalidMessage is wrapped by RawNode.Step when a message from the network
// is malformed in a way the protocol could never produce. Such a message is
// dropped before it reaches the state machine, so a buggy or hostile peer
// cannot make a node panic or corrupt its log.
var ErrInvalidMessage = errors.New("raft: invalid message")

// validateMessage checks the structural rules of a message received from the
// network. It does not check anything that depends on this node's state.
func validateMessage(m *raftpb.Message) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s from %d: "+format, append([]any{ErrInvalidMessage, m.Type, m.From}, args...)...)
	}
	if !m.Type.Valid() {
		return bad("unknown type %d", uint8(m.Type))
	}
	if m.Type.IsLocal() {
		return fmt.Errorf("%w: %s", ErrStepLocalMsg, m.Type)
	}
	switch m.Type {
	case raftpb.MsgApp:
		// Entries follow Index contiguously, with non-decreasing terms
		// starting at or above LogTerm and never above the sender's term.
		if m.Index+raftpb.Index(len(m.Entries)) < m.Index {
			return bad("index %d overflows with %d entries", m.Index, len(m.Entries))
		}
		prev := m.LogTerm
		for i := range m.Entries {
			e := &m.Entries[i]
			if e.Index != m.Index+1+raftpb.Index(i) {
				return bad("entry %d has index %d, want %d", i, e.Index, m.Index+1+raftpb.Index(i))
			}
			if e.Term < prev || e.Term > m.Term {
				return bad("entry %d has term %d (previous %d, message term %d)", i, e.Term, prev, m.Term)
			}
			if e.Type > raftpb.EntryEmpty {
				return bad("entry %d has unknown type %d", i, uint8(e.Type))
			}
			prev = e.Term
		}
		if m.LogTerm > m.Term {
			return bad("log term %d above message term %d", m.LogTerm, m.Term)
		}
	case raftpb.MsgSnap:
		if m.Snapshot == nil || m.Snapshot.IsEmpty() {
			return bad("no snapshot")
		}
		if m.Snapshot.Metadata.Term > m.Term {
			return bad("snapshot term %d above message term %d", m.Snapshot.Metadata.Term, m.Term)
		}
	case raftpb.MsgProp:
		if len(m.Entries) == 0 {
			return bad("no entries")
		}
		for i := range m.Entries {
			if t := m.Entries[i].Type; t != raftpb.EntryNormal && t != raftpb.EntryConfChange {
				return bad("entry %d of type %s cannot be proposed", i, t)
			}
		}
	}
	// Only forwarded proposals and read requests travel without a term;
	// raft.Step treats term-0 messages as local, so anything else without
	// a term would bypass the term rules.
	if m.Term == 0 && m.Type != raftpb.MsgProp && m.Type != raftpb.MsgReadIndex {
		return bad("no term")
	}
	return nil
}
