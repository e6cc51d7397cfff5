package raftpb

import "fmt"

// MessageType names the kind of a Message. Values are written on the wire by
// the peer transport (see Marshal): never renumber, only append.
type MessageType uint8

const (
	// MsgHup is local: it asks the node to start an election (or pre-election).
	MsgHup MessageType = 0
	// MsgBeat is local: it asks a leader to broadcast heartbeats.
	MsgBeat MessageType = 1
	// MsgProp carries proposed entries; a follower forwards it to its leader.
	MsgProp MessageType = 2
	// MsgApp carries log entries (possibly none) from the leader.
	MsgApp MessageType = 3
	// MsgAppResp acknowledges (or rejects) a MsgApp or MsgSnap.
	MsgAppResp MessageType = 4
	// MsgVote requests a vote in an election.
	MsgVote MessageType = 5
	// MsgVoteResp answers a MsgVote.
	MsgVoteResp MessageType = 6
	// MsgSnap carries a snapshot from the leader to a lagging follower.
	MsgSnap MessageType = 7
	// MsgHeartbeat is the leader's periodic liveness message.
	MsgHeartbeat MessageType = 8
	// MsgHeartbeatResp answers a MsgHeartbeat.
	MsgHeartbeatResp MessageType = 9
	// MsgUnreachable is local: the transport could not reach a peer.
	MsgUnreachable MessageType = 10
	// MsgSnapStatus is local: the outcome of sending a snapshot to a peer.
	MsgSnapStatus MessageType = 11
	// MsgCheckQuorum is local: the leader checks it still hears from a quorum.
	MsgCheckQuorum MessageType = 12
	// MsgTransferLeader asks the leader to hand leadership to From.
	MsgTransferLeader MessageType = 13
	// MsgTimeoutNow tells the transfer target to campaign immediately.
	MsgTimeoutNow MessageType = 14
	// MsgReadIndex asks for a linearizable read index.
	MsgReadIndex MessageType = 15
	// MsgReadIndexResp answers a forwarded MsgReadIndex.
	MsgReadIndexResp MessageType = 16
	// MsgPreVote asks whether a vote would be granted, without bumping terms.
	MsgPreVote MessageType = 17
	// MsgPreVoteResp answers a MsgPreVote.
	MsgPreVoteResp MessageType = 18

	// msgTypeCount is one past the highest valid MessageType.
	msgTypeCount = 19
)

var msgTypeNames = [msgTypeCount]string{
	"MsgHup", "MsgBeat", "MsgProp", "MsgApp", "MsgAppResp", "MsgVote",
	"MsgVoteResp", "MsgSnap", "MsgHeartbeat", "MsgHeartbeatResp",
	"MsgUnreachable", "MsgSnapStatus", "MsgCheckQuorum", "MsgTransferLeader",
	"MsgTimeoutNow", "MsgReadIndex", "MsgReadIndexResp", "MsgPreVote",
	"MsgPreVoteResp",
}

func (t MessageType) String() string {
	if int(t) < len(msgTypeNames) {
		return msgTypeNames[t]
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// Valid reports whether t is a known message type.
func (t MessageType) Valid() bool { return t < msgTypeCount }

// IsLocal reports whether t is only ever generated inside a node (never sent
// over the network). raft.RawNode.Step rejects these.
func (t MessageType) IsLocal() bool {
	switch t {
	case MsgHup, MsgBeat, MsgUnreachable, MsgSnapStatus, MsgCheckQuorum:
		return true
	}
	return false
}

// IsResponse reports whether t answers another message.
func (t MessageType) IsResponse() bool {
	switch t {
	case MsgAppResp, MsgVoteResp, MsgHeartbeatResp, MsgUnreachable,
		MsgReadIndexResp, MsgPreVoteResp:
		return true
	}
	return false
}

// Message is the unit of communication between raft nodes (and between the
// driver and its own node for local types). Which fields are meaningful
// depends on Type; unused fields are zero.
type Message struct {
	Type MessageType
	To   NodeID
	From NodeID
	// Term is the sender's term, or 0 for messages that carry no term
	// (MsgProp, MsgReadIndex forwarded by followers, local messages).
	Term Term
	// LogTerm is the term of the entry at Index (MsgApp), or the term of the
	// sender's last entry (MsgVote/MsgPreVote), or a rejection hint term
	// (MsgAppResp with Reject).
	LogTerm Term
	// Index is the index preceding Entries (MsgApp), the last index of the
	// sender (votes), the acknowledged index (MsgAppResp), or a read index.
	Index   Index
	Entries []Entry
	// Commit is the sender's commit index (MsgApp, MsgHeartbeat).
	Commit Index
	// Snapshot is set only on MsgSnap.
	Snapshot *Snapshot
	// Reject is set on a negative response.
	Reject bool
	// RejectHint is the follower's last index, a hint for the leader's probe.
	RejectHint Index
	// Context is opaque: the read request context (ReadIndex), the campaign
	// kind for a transfer vote, or the heartbeat's read-only context.
	Context []byte
}

func (m Message) String() string {
	return fmt.Sprintf("%s %x->%x term=%d logterm=%d index=%d commit=%d entries=%d reject=%v hint=%d",
		m.Type, uint64(m.From), uint64(m.To), m.Term, m.LogTerm, m.Index, m.Commit,
		len(m.Entries), m.Reject, m.RejectHint)
}
