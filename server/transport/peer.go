package transport

import (
	"context"
	"sync/atomic"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// peer is the outbound side of one remote member: two stream writers and at
// most one snapshot transfer at a time. Its fields are set at creation and
// never change (UpdatePeer replaces the whole peer).
type peer struct {
	id   raftpb.NodeID
	addr string
	// ctx is cancelled by stop (RemovePeer, UpdatePeer) or by Stop.
	ctx    context.Context
	cancel context.CancelFunc
	// app carries MsgApp; msg carries everything else plus pings. Two
	// connections, so a heartbeat never waits behind a large append.
	app, msg *streamWriter
	// snapBusy is true while a snapshot transfer to this peer runs.
	snapBusy atomic.Bool
}

// startPeerLocked creates a peer and starts its two stream writers.
// t.mu must be held and Stop not begun (the wg.Add must precede Stop's Wait).
func (t *Transport) startPeerLocked(id raftpb.NodeID, addr string) *peer {
	ctx, cancel := context.WithCancel(t.ctx)
	p := &peer{id: id, addr: addr, ctx: ctx, cancel: cancel}
	p.app = newStreamWriter(t, p, streamApp, t.cfg.AppQueueSize)
	p.msg = newStreamWriter(t, p, streamMsg, t.cfg.MsgQueueSize)
	t.wg.Add(2)
	go p.app.run()
	go p.msg.run()
	return p
}

// stop cancels the peer's context: its writers close their connections,
// drop their queues and end. It does not wait.
func (p *peer) stop() { p.cancel() }
