package transport

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// handleInbound runs one accepted connection: TLS, handshake, admission,
// then the stream it asked for. It owns conn (already tracked by Serve)
// and closes it on return.
func (t *Transport) handleInbound(raw net.Conn) {
	defer t.wg.Done()
	defer func() {
		t.mu.Lock()
		delete(t.mu.inbound, raw)
		for k, c := range t.mu.current {
			if c == raw {
				delete(t.mu.current, k)
			}
		}
		t.mu.Unlock()
		raw.Close()
	}()
	remote := raw.RemoteAddr().String()
	// conn is what we read and write (the TLS layer, if any); raw is what
	// Stop and RemovePeer close, which also ends the TLS layer's I/O.
	conn := raw
	// Until the handshake is accepted, the peer is a stranger: it gets
	// DialTimeout for TLS plus handshake, then the connection is dropped.
	if err := conn.SetDeadline(t.cfg.Now().Add(t.cfg.DialTimeout)); err != nil {
		return
	}
	if t.cfg.TLS != nil {
		// With ClientAuth = RequireAndVerifyClientCert this is where a
		// certificate from another CA is refused.
		tc := tls.Server(raw, t.cfg.TLS)
		if err := tc.HandshakeContext(t.ctx); err != nil {
			t.log.Warn("refused peer connection: TLS handshake failed", "remote", remote, "err", err)
			return
		}
		conn = tc
	}
	hs, err := readHandshake(conn)
	if err != nil {
		// Best effort: tell a misconfigured shelf peer why, then hang up.
		t.log.Warn("refused peer connection: bad handshake", "remote", remote, "err", err)
		conn.Write(marshalReply(statusBadHandshake, err.Error()))
		return
	}
	status, reason := t.admit(raw, hs)
	// The dialler reads the reply before sending frames, so a refused peer
	// learns the reason and nothing it sends is ever processed.
	if _, err := conn.Write(marshalReply(status, reason)); err != nil || status != statusOK {
		if status != statusOK {
			t.log.Warn("refused peer connection", "remote", remote, "from", hs.From.String(),
				"to", hs.To.String(), "cluster", fmt.Sprintf("%x", hs.ClusterID), "stream", hs.Kind.String(), "reason", reason)
		}
		return
	}
	// Accepted streams are long-lived and may be idle: no read deadline. A
	// dead peer is noticed by TCP (RST/FIN) or by Stop/RemovePeer closing raw.
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return
	}
	t.log.Debug("accepted peer stream", "remote", remote, "from", hs.From.String(), "stream", hs.Kind.String())
	switch hs.Kind {
	case streamApp, streamMsg:
		t.readStream(conn, hs)
	case streamSnap:
		t.receiveSnapshot(conn, hs)
	}
}

// admit decides whether a handshake is acceptable and, if so, records the
// connection as coming from hs.From (so RemovePeer can close it). The
// reasons are checked in a fixed order (shutting down, cluster, recipient,
// membership) so the reply names the most fundamental mismatch. The
// returned reason is logged here and sent to the dialler.
func (t *Transport) admit(raw net.Conn, hs handshake) (status byte, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.mu.stopped:
		return statusShuttingDown, "member is shutting down"
	case hs.ClusterID != t.cfg.ClusterID:
		return statusCluster, fmt.Sprintf("%v: peer is in cluster %x, this member in %x", ErrClusterMismatch, hs.ClusterID, t.cfg.ClusterID)
	case hs.To != t.cfg.ID:
		return statusWrongTo, fmt.Sprintf("%v: handshake is for member %s, this is member %s", ErrWrongRecipient, hs.To, t.cfg.ID)
	}
	if _, ok := t.mu.peers[hs.From]; !ok {
		return statusUnknownPeer, fmt.Sprintf("%v: member %s is not a peer of member %s", ErrUnknownPeer, hs.From, t.cfg.ID)
	}
	t.mu.inbound[raw] = hs.From
	if hs.Kind != streamSnap {
		k := streamKey{from: hs.From, kind: hs.Kind}
		if old, ok := t.mu.current[k]; ok {
			// Closing a raw TCP conn does not block; its goroutine ends
			// on its own and removes its map entries.
			old.Close()
		}
		t.mu.current[k] = raw
	}
	return statusOK, ""
}

// readStream delivers the messages of an accepted app or msg stream to the
// Handler, in order, and answers pings. It returns when the connection ends
// or breaks the protocol; the caller closes it.
func (t *Transport) readStream(conn net.Conn, hs handshake) {
	from := peerLabel(hs.From)
	// One frameReader per connection: its buffer is reused frame to frame.
	fr := newFrameReader(conn, t.cfg.MaxFrameSize)
	for {
		err := t.readOne(conn, fr, hs)
		if err == nil {
			continue
		}
		// Closing is normal (Stop, RemovePeer, the peer restarting); any
		// other error is the peer's or the network's fault: count it. The
		// dialler notices the closed connection and redials.
		if t.ctx.Err() != nil || isClosedErr(err) {
			t.log.Debug("peer stream closed", "from", from, "stream", hs.Kind.String(), "err", err)
			return
		}
		t.met.recvFailures.WithLabelValues(from).Inc()
		t.log.Warn("peer stream failed", "from", from, "stream", hs.Kind.String(), "err", err)
		return
	}
}

// readOne reads and handles one frame of an accepted stream: it answers a
// ping in place (so the RTT includes this member's read loop, like etcd's
// probe) or validates a message and hands it to Handler.Process. Process
// runs on this goroutine: while it blocks, this stream is not read and TCP
// flow control slows the sender of this stream only. A message whose
// addressing or type does not match the handshake is a protocol error that
// closes the stream rather than being silently dropped.
func (t *Transport) readOne(conn net.Conn, fr *frameReader, hs handshake) error {
	typ, p, n, err := fr.next()
	if err != nil {
		return err
	}
	t.met.recvBytes.WithLabelValues(peerLabel(hs.From)).Add(float64(n))
	switch typ {
	case framePing:
		if err := conn.SetWriteDeadline(t.cfg.Now().Add(t.cfg.WriteTimeout)); err != nil {
			return err
		}
		return writeFrame(conn, framePong, p)
	case frameMessage:
	default:
		return fmt.Errorf("%w: unexpected %s frame on a %s stream", ErrCorruptFrame, typ, hs.Kind)
	}
	// Unmarshal copies out of p, so fr may reuse its buffer for the next frame.
	var m raftpb.Message
	if err := m.Unmarshal(p); err != nil {
		return fmt.Errorf("%w: %w", ErrCorruptFrame, err)
	}
	switch {
	case m.From != hs.From || m.To != t.cfg.ID:
		return fmt.Errorf("%w: message %s->%s on the stream from %s to %s", ErrCorruptFrame, m.From, m.To, hs.From, t.cfg.ID)
	case m.Type.IsLocal() || m.Type == raftpb.MsgSnap:
		return fmt.Errorf("%w: %s must not travel on a %s stream", ErrCorruptFrame, m.Type, hs.Kind)
	case (hs.Kind == streamApp) != (m.Type == raftpb.MsgApp):
		return fmt.Errorf("%w: %s on the %s stream", ErrCorruptFrame, m.Type, hs.Kind)
	}
	t.cfg.Handler.Process(m)
	return nil
}
