package raft

import (
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// StateType is a node's role.
type StateType uint8

const (
	StateFollower StateType = iota
	StateCandidate
	StateLeader
	StatePreCandidate
)

func (s StateType) String() string {
	switch s {
	case StateFollower:
		return "StateFollower"
	case StateCandidate:
		return "StateCandidate"
	case StateLeader:
		return "StateLeader"
	case StatePreCandidate:
		return "StatePreCandidate"
	}
	return fmt.Sprintf("StateType(%d)", uint8(s))
}

// SoftState is volatile state that need not be persisted: who leads, and this
// node's role.
type SoftState struct {
	Lead      raftpb.NodeID
	RaftState StateType
}

// ReadState answers a ReadIndex request: once the application has applied up
// to Index, a read of its state machine is linearizable with respect to every
// write acknowledged before the request was made. RequestCtx is the context
// passed to ReadIndex, unchanged.
type ReadState struct {
	Index      raftpb.Index
	RequestCtx []byte
}

// Ready is a batch of work for the driver: state to persist, messages to send,
// entries to apply. Obtain it with RawNode.Ready and hand it back with Advance.
//
// DURABILITY CONTRACT (the simulation in raft/rafttest enforces it):
//
//  1. Persist Snapshot (if not empty), then Entries, then HardState (if not
//     empty), with one fsync if MustSync, BEFORE sending Messages.
//     Exception: if this node was leader when Ready() was called
//     (SoftState.RaftState, or Status().RaftState, is StateLeader), messages
//     of type MsgApp, MsgHeartbeat and MsgSnap may be sent while the persist
//     runs. This is safe because the leader counts its own log toward
//     commitment only for entries persisted by a completed Advance: the
//     leader's own Match advances in Advance, never when it appends.
//  2. CommittedEntries only ever contain entries this node has already
//     persisted (acknowledged by an earlier Advance). Apply them in order;
//     for an EntryConfChange entry decode the raftpb.ConfChange and call
//     RawNode.ApplyConfChange. Apply Snapshot (if not empty) before them.
//  3. Call Advance(rd) after persisting and applying, before the next Ready.
//
// A node that restarts is rebuilt with NewRawNode from exactly what it
// persisted (its Storage) and Config.Applied set to what the application had
// durably applied.
type Ready struct {
	// SoftState is set when the leader or the role changed since the last
	// Ready; nil otherwise. Not to be persisted.
	SoftState *SoftState
	// HardState is the state to persist, or the zero value if unchanged.
	HardState raftpb.HardState
	// ReadStates answer ReadIndex requests (see ReadState).
	ReadStates []ReadState
	// Entries are to be appended to durable storage (an entry at an index
	// already stored replaces it and every entry after it).
	Entries []raftpb.Entry
	// Snapshot is to be persisted and applied (a follower catching up);
	// empty (IsEmpty) if none.
	Snapshot raftpb.Snapshot
	// CommittedEntries are to be applied to the state machine, in order.
	CommittedEntries []raftpb.Entry
	// Messages are to be sent to their To after the persist (see the contract).
	Messages []raftpb.Message
	// MustSync says whether the persist needs an fsync: Entries are present,
	// or the term or vote changed. A change of Commit alone does not need
	// one (a lost commit index is recovered from the leader).
	MustSync bool
}

// containsUpdates reports whether rd carries anything for the driver.
func (rd *Ready) containsUpdates() bool {
	return rd.SoftState != nil || !rd.HardState.IsEmpty() || !rd.Snapshot.IsEmpty() ||
		len(rd.Entries) > 0 || len(rd.CommittedEntries) > 0 || len(rd.Messages) > 0 ||
		len(rd.ReadStates) > 0
}

// mustSync implements Ready.MustSync.
func mustSync(st, prev raftpb.HardState, entsNum int) bool {
	return entsNum != 0 || st.Vote != prev.Vote || st.Term != prev.Term
}
