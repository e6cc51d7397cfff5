package transport

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// SendSnapshot streams a snapshot to m.To on a connection of its own and
// returns at once; the outcome arrives as Handler.ReportSnapshot(m.To, ok).
// m must be a MsgSnap (its Snapshot carries the metadata; Snapshot.Data
// travels in the header frame, so keep it small and put the bulk in body).
// body must yield exactly size bytes; it is read in SnapshotChunkSize
// pieces as fast as the receiver consumes them (the sending goroutine
// blocks on the socket, nothing is buffered beyond one chunk) and is
// closed by the transport in every case. At most one snapshot per peer is
// in flight: a second one fails at once. Stop interrupts a transfer at its
// next socket operation (a body Read in progress finishes first).
func (t *Transport) SendSnapshot(m raftpb.Message, body io.ReadCloser, size int64) {
	// fail reports a transfer that never started. It runs on the caller's
	// goroutine, like Send's ReportUnreachable (see Handler).
	fail := func(err error) {
		if body != nil {
			body.Close()
		}
		t.met.sentFailures.WithLabelValues(peerLabel(m.To)).Inc()
		t.log.Warn("snapshot not sent", "peer", m.To.String(), "err", err)
		t.cfg.Handler.ReportSnapshot(m.To, false)
	}
	if m.Type != raftpb.MsgSnap || m.Snapshot == nil || body == nil || size < 0 {
		fail(fmt.Errorf("%w: SendSnapshot needs a MsgSnap with Snapshot set, a body and a size >= 0; got %s (snapshot set: %v), body set: %v, size %d",
			ErrSnapshot, m.Type, m.Snapshot != nil, body != nil, size))
		return
	}
	t.mu.Lock()
	p, ok := t.mu.peers[m.To]
	switch {
	case t.mu.stopped:
		t.mu.Unlock()
		fail(ErrStopped)
		return
	case !ok:
		t.mu.Unlock()
		fail(fmt.Errorf("%w: %s", ErrUnknownPeer, m.To))
		return
	case !p.snapBusy.CompareAndSwap(false, true):
		t.mu.Unlock()
		fail(fmt.Errorf("%w: a snapshot to %s is already in flight", ErrSnapshot, m.To))
		return
	}
	// wg.Add under mu, before Stop can begin its Wait.
	t.wg.Add(1)
	t.mu.Unlock()
	go func() {
		defer t.wg.Done()
		err := t.sendSnapshot(p, m, body, size)
		body.Close()
		// Free the slot before reporting, so a raft loop that retries at
		// once from ReportSnapshot is not refused as "already in flight".
		p.snapBusy.Store(false)
		if err != nil {
			t.met.sentFailures.WithLabelValues(peerLabel(m.To)).Inc()
			t.log.Warn("snapshot transfer failed", "peer", m.To.String(), "index", snapIndex(m), "err", err)
			t.cfg.Handler.ReportSnapshot(m.To, false)
			return
		}
		t.log.Info("snapshot sent", "peer", m.To.String(), "index", snapIndex(m), "bytes", size)
		t.cfg.Handler.ReportSnapshot(m.To, true)
	}()
}

func snapIndex(m raftpb.Message) string {
	if m.Snapshot == nil {
		return "none"
	}
	return m.Snapshot.Metadata.Index.String()
}

// sendSnapshot runs one transfer: dial, header, chunks, end, result.
func (t *Transport) sendSnapshot(p *peer, m raftpb.Message, body io.Reader, size int64) error {
	hs := handshake{Kind: streamSnap, ClusterID: t.cfg.ClusterID, From: t.cfg.ID, To: p.id}
	conn, err := t.dialStream(p.ctx, p.addr, hs)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(p.ctx, func() { conn.Close() })
	defer stop()
	label := peerLabel(p.id)
	w := &deadlineWriter{conn: conn, timeout: t.cfg.WriteTimeout, now: t.cfg.Now}

	// The header announces the size, so the receiver can tell a cut stream
	// from a complete one without trusting the connection's end.
	hdr := binary.AppendUvarint(nil, uint64(size))
	hdr = append(hdr, m.Marshal()...)
	if len(hdr) > t.cfg.MaxFrameSize {
		return fmt.Errorf("%w: %w: snapshot header of %d bytes (Snapshot.Data belongs in the body)", ErrSnapshot, ErrFrameTooLarge, len(hdr))
	}
	if err := writeFrame(w, frameSnapHeader, hdr); err != nil {
		return fmt.Errorf("%w: writing header: %w", ErrSnapshot, err)
	}
	t.met.sentBytes.WithLabelValues(label).Add(float64(frameHeaderSize + len(hdr)))

	// One chunk buffer for the whole transfer: memory is O(chunk), and each
	// writeFrame blocks until the socket takes the bytes (back-pressure).
	buf := make([]byte, t.cfg.SnapshotChunkSize)
	var sent int64
	for {
		n, rerr := io.ReadFull(body, buf)
		if n > 0 {
			if sent+int64(n) > size {
				return fmt.Errorf("%w: body is longer than the announced %d bytes", ErrSnapshot, size)
			}
			if err := writeFrame(w, frameSnapChunk, buf[:n]); err != nil {
				return fmt.Errorf("%w: writing body at offset %d: %w", ErrSnapshot, sent, err)
			}
			sent += int64(n)
			t.met.sentBytes.WithLabelValues(label).Add(float64(frameHeaderSize + n))
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("%w: reading body at offset %d: %w", ErrSnapshot, sent, rerr)
		}
	}
	if sent != size {
		return fmt.Errorf("%w: body has %d bytes, announced %d", ErrSnapshot, sent, size)
	}
	if err := writeFrame(w, frameSnapEnd, nil); err != nil {
		return fmt.Errorf("%w: writing end: %w", ErrSnapshot, err)
	}
	// No read deadline: the receiver answers once its SnapshotHandler has
	// consumed the body, which may take long; Stop/RemovePeer close conn.
	typ, res, _, err := newFrameReader(conn, maxResultBytes+1).next()
	switch {
	case err != nil:
		return fmt.Errorf("%w: reading the receiver's result: %w", ErrSnapshot, err)
	case typ != frameSnapResult || len(res) == 0:
		return fmt.Errorf("%w: receiver answered with a %s frame of %d bytes", ErrSnapshot, typ, len(res))
	case res[0] != statusOK:
		return fmt.Errorf("%w: receiver refused it: %s", ErrSnapshot, res[1:])
	}
	return nil
}

// maxResultBytes bounds the reason text of a frameSnapResult.
const maxResultBytes = 1024

// receiveSnapshot runs the accepting side of a snapshot stream: header,
// SnapshotHandler over the streamed body, Process, result frame.
func (t *Transport) receiveSnapshot(conn net.Conn, hs handshake) {
	from := peerLabel(hs.From)
	fr := newFrameReader(conn, t.cfg.MaxFrameSize)
	m, size, err := t.readSnapHeader(fr, hs)
	// Process is called only after the whole body was consumed and checked:
	// raft must never see a MsgSnap whose data did not arrive.
	if err == nil {
		body := &snapshotBody{fr: fr, remaining: size, count: t.met.recvBytes.WithLabelValues(from).Add}
		if h := t.cfg.SnapshotHandler; h != nil {
			err = h(m, body)
		}
		if err == nil {
			// Check the rest of the stream even if the handler stopped early.
			_, err = io.Copy(io.Discard, body)
		}
	}
	result := []byte{statusOK}
	if err != nil {
		if t.ctx.Err() != nil {
			return // Stop closed the connection; nobody to answer
		}
		t.met.recvFailures.WithLabelValues(from).Inc()
		t.log.Warn("snapshot receive failed", "from", from, "err", err)
		reason := err.Error()
		if len(reason) > maxResultBytes {
			reason = reason[:maxResultBytes]
		}
		result = append([]byte{statusBadHandshake}, reason...)
	} else {
		t.log.Info("snapshot received", "from", from, "index", snapIndex(m), "bytes", size)
		t.cfg.Handler.Process(m)
	}
	if conn.SetWriteDeadline(t.cfg.Now().Add(t.cfg.WriteTimeout)) == nil {
		writeFrame(conn, frameSnapResult, result)
	}
}

// readSnapHeader reads and checks the first frame of a snapshot stream:
// the announced body size and a MsgSnap addressed from the handshake's
// member to this one.
func (t *Transport) readSnapHeader(fr *frameReader, hs handshake) (raftpb.Message, int64, error) {
	var m raftpb.Message
	typ, p, n, err := fr.next()
	if err != nil {
		return m, 0, fmt.Errorf("%w: reading header: %w", ErrSnapshot, err)
	}
	t.met.recvBytes.WithLabelValues(peerLabel(hs.From)).Add(float64(n))
	if typ != frameSnapHeader {
		return m, 0, fmt.Errorf("%w: first frame is %s, want SnapHeader", ErrSnapshot, typ)
	}
	size, k := binary.Uvarint(p)
	if k <= 0 || size > 1<<62 {
		return m, 0, fmt.Errorf("%w: bad body size in header", ErrSnapshot)
	}
	if err := m.Unmarshal(p[k:]); err != nil {
		return m, 0, fmt.Errorf("%w: header message: %w", ErrSnapshot, err)
	}
	if m.Type != raftpb.MsgSnap || m.Snapshot == nil || m.From != hs.From || m.To != t.cfg.ID {
		return m, 0, fmt.Errorf("%w: header carries %s %s->%s on the stream from %s to %s", ErrSnapshot, m.Type, m.From, m.To, hs.From, t.cfg.ID)
	}
	return m, int64(size), nil
}

// snapshotBody is the io.Reader a SnapshotHandler gets: it pulls chunk
// frames off the connection only as the handler reads, so the sender is
// held back by TCP flow control and neither side holds the whole body.
type snapshotBody struct {
	fr *frameReader
	// remaining is the announced size minus the chunk bytes received.
	remaining int64
	// cur is the unread part of the last chunk (aliases fr's buffer).
	cur   []byte
	err   error
	count func(float64)
}

// Read returns bytes of the current chunk, pulling the next frame only when
// it is used up. Invariant: b.err, once set, is returned by every later
// Read (io.EOF after a complete body).
func (b *snapshotBody) Read(p []byte) (int, error) {
	for len(b.cur) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		typ, payload, n, err := b.fr.next()
		if err != nil {
			b.err = fmt.Errorf("%w: body cut with %d bytes to go: %w", ErrSnapshot, b.remaining, err)
			continue
		}
		b.count(float64(n))
		switch {
		case typ == frameSnapChunk && int64(len(payload)) <= b.remaining:
			b.cur = payload
			b.remaining -= int64(len(payload))
		case typ == frameSnapChunk:
			b.err = fmt.Errorf("%w: body is longer than announced", ErrSnapshot)
		case typ == frameSnapEnd && b.remaining == 0:
			b.err = io.EOF
		case typ == frameSnapEnd:
			b.err = fmt.Errorf("%w: body ended %d bytes short of the announced size", ErrSnapshot, b.remaining)
		default:
			b.err = fmt.Errorf("%w: unexpected %s frame in the body", ErrSnapshot, typ)
		}
	}
	n := copy(p, b.cur)
	b.cur = b.cur[n:]
	return n, nil
}

var _ io.Reader = (*snapshotBody)(nil)
