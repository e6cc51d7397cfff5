package server

import (
	"fmt"
	"io"
	"net"
	"net/url"

	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/server/transport"
)

// transporter is what the server needs of the peer transport
// (*transport.Transport; tests may substitute).
type transporter interface {
	AddPeer(id raftpb.NodeID, addr string) error
	RemovePeer(id raftpb.NodeID) error
	Send(msgs []raftpb.Message)
	SendSnapshot(m raftpb.Message, body io.ReadCloser, size int64)
	Reachable(id raftpb.NodeID) bool
	Serve(l net.Listener) error
	Stop()
}

var _ transporter = (*transport.Transport)(nil)

// peerTransport adapts a transporter to the server's use: peers are added
// by URL.
type peerTransport struct {
	transporter
	s *Server
}

// AddPeer adds (or re-adds) a peer by its first peer URL.
func (p peerTransport) AddPeer(id raftpb.NodeID, urls []string) {
	if len(urls) == 0 {
		return
	}
	addr, err := hostPort(urls[0])
	if err != nil {
		p.s.log.Warn("bad peer URL", "peer", id.String(), "err", err)
		return
	}
	_ = p.transporter.RemovePeer(id)
	if err := p.transporter.AddPeer(id, addr); err != nil {
		p.s.log.Warn("adding peer", "peer", id.String(), "err", err)
	}
}

// RemovePeer forgets a peer.
func (p peerTransport) RemovePeer(id raftpb.NodeID) { _ = p.transporter.RemovePeer(id) }

func hostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Host == "" {
		return "", fmt.Errorf("URL %q has no host", raw)
	}
	return u.Host, nil
}

// sendAll hands messages to the transport; snapshots go on their own
// stream with the file as body.
func (s *Server) sendAll(msgs []raftpb.Message) {
	if len(msgs) == 0 {
		return
	}
	batch := msgs[:0:0]
	for _, m := range msgs {
		if m.Type == raftpb.MsgSnap {
			s.sendSnapshot(m)
			continue
		}
		batch = append(batch, m)
	}
	if len(batch) > 0 {
		s.tr.Send(batch)
	}
}

// The transport.Handler side: deliveries from transport goroutines go to
// the raft loop through channels.

// Process hands a received message to the raft loop, blocking while its
// queue is full (back-pressure on that peer's stream) until the member stops.
func (s *Server) Process(m raftpb.Message) {
	select {
	case s.recvc <- m:
	case <-s.stopc:
	}
}

// ReportUnreachable tells raft a message to id was lost.
func (s *Server) ReportUnreachable(id raftpb.NodeID) {
	select {
	case s.unreachc <- id:
	default: // raft learns it again from the next failure
	}
}

// ReportSnapshot tells raft how sending a snapshot to id ended.
func (s *Server) ReportSnapshot(id raftpb.NodeID, ok bool) { s.reportSnapshot(id, ok) }

var _ transport.Handler = (*Server)(nil)
