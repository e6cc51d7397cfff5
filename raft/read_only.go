package raft

import "github.com/shelf-kv/shelf/raft/raftpb"

// readIndexStatus is one pending ReadIndex request on the leader: the commit
// index when it arrived, and who acknowledged the heartbeat round for it.
type readIndexStatus struct {
	req   raftpb.Message
	index raftpb.Index
	acks  map[raftpb.NodeID]bool
}

// readOnly tracks the leader's pending ReadIndex requests (ReadOnlySafe).
// Requests are keyed by their context, which callers make unique per request;
// a request whose context is already pending is ignored (it is answered with
// the first one).
//
// A heartbeat round confirms leadership for its own request and for every
// request queued before it (a later quorum ack implies the earlier ones).
type readOnly struct {
	option  ReadOnlyOption
	pending map[string]*readIndexStatus
	queue   []string
}

// newReadOnly returns an empty queue of pending reads.
func newReadOnly(option ReadOnlyOption) *readOnly {
	return &readOnly{option: option, pending: map[string]*readIndexStatus{}}
}

// addRequest queues m, to be answered with index once confirmed.
func (ro *readOnly) addRequest(index raftpb.Index, m raftpb.Message) {
	ctx := string(m.Context)
	if _, ok := ro.pending[ctx]; ok {
		return
	}
	ro.pending[ctx] = &readIndexStatus{req: m, index: index, acks: map[raftpb.NodeID]bool{}}
	ro.queue = append(ro.queue, ctx)
}

// recvAck records that id acknowledged the heartbeat carrying ctx and returns
// the acks so far (nil if ctx is unknown).
func (ro *readOnly) recvAck(id raftpb.NodeID, ctx []byte) map[raftpb.NodeID]bool {
	rs, ok := ro.pending[string(ctx)]
	if !ok {
		return nil
	}
	rs.acks[id] = true
	return rs.acks
}

// advance dequeues and returns every request up to and including the one
// with m's context.
func (ro *readOnly) advance(m raftpb.Message) []*readIndexStatus {
	ctx := string(m.Context)
	i := -1
	for j, c := range ro.queue {
		if c == ctx {
			i = j
			break
		}
	}
	if i < 0 {
		return nil
	}
	out := make([]*readIndexStatus, 0, i+1)
	for _, c := range ro.queue[:i+1] {
		out = append(out, ro.pending[c])
		delete(ro.pending, c)
	}
	ro.queue = append([]string(nil), ro.queue[i+1:]...)
	return out
}

// lastPendingRequestCtx returns the context of the newest pending request, to
// piggyback on the periodic heartbeat.
func (ro *readOnly) lastPendingRequestCtx() []byte {
	if len(ro.queue) == 0 {
		return nil
	}
	return []byte(ro.queue[len(ro.queue)-1])
}
