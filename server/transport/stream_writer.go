package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// streamWriter owns one outbound stream (app or msg) to one peer: its
// bounded queue, its connection and its redial loop. Only its run goroutine
// touches the connection; Send only pushes to queue.
type streamWriter struct {
	t    *Transport
	p    *peer
	kind streamKind
	// queue holds messages waiting to be written. Send never blocks on it.
	queue chan raftpb.Message
	// connected is true while a connection with an accepted handshake is up.
	connected atomic.Bool
}

func newStreamWriter(t *Transport, p *peer, kind streamKind, size int) *streamWriter {
	return &streamWriter{t: t, p: p, kind: kind, queue: make(chan raftpb.Message, size)}
}

// maxBatch is how many queued messages are written before a flush, so a
// busy stream still flushes regularly.
const maxBatch = 256

// run dials, serves the connection until it breaks, waits a jittered
// backoff and redials, until the peer is stopped. Every failure drops the
// messages queued at that moment and reports the peer unreachable.
func (w *streamWriter) run() {
	defer w.t.wg.Done()
	id := w.p.id
	// Each stream of each peer gets its own jitter sequence, derived from
	// the configured seed, so a run is reproducible but the two streams
	// (and the streams to different peers) do not redial in lockstep.
	bo := newBackoff(w.t.cfg.BackoffMin, w.t.cfg.BackoffMax,
		w.t.cfg.Seed^(uint64(id)*0x9e3779b97f4a7c15)^uint64(w.kind))
	failures := 0
	for {
		hs := handshake{Kind: w.kind, ClusterID: w.t.cfg.ClusterID, From: w.t.cfg.ID, To: id}
		conn, err := w.t.dialStream(w.p.ctx, w.p.addr, hs)
		if err == nil {
			// A successful handshake ends the outage: the next failure
			// starts again from BackoffMin.
			bo.reset()
			failures = 0
			w.connected.Store(true)
			w.t.log.Info("peer stream connected", "peer", id.String(), "stream", w.kind.String(), "addr", w.p.addr)
			err = w.serve(conn)
			w.connected.Store(false)
		}
		if w.p.ctx.Err() != nil {
			return
		}
		// Log the first failure of a run loudly and the repeats quietly.
		if failures == 0 {
			w.t.log.Warn("peer stream down", "peer", id.String(), "stream", w.kind.String(), "addr", w.p.addr, "err", err)
		} else {
			w.t.log.Debug("peer stream still down", "peer", id.String(), "stream", w.kind.String(), "attempt", failures, "err", err)
		}
		failures++
		// Whatever was queued for the broken or unreachable connection is
		// dropped rather than kept for later: stale appends and heartbeats
		// are useless to raft, which resends after ReportUnreachable.
		w.dropQueued()
		w.t.cfg.Handler.ReportUnreachable(id)
		timer := time.NewTimer(bo.next())
		select {
		case <-timer.C:
		case <-w.p.ctx.Done():
			timer.Stop()
			return
		}
	}
}

// dropQueued empties the queue, counting each message as a failed send.
func (w *streamWriter) dropQueued() {
	n := 0
	for {
		select {
		case <-w.queue:
			n++
			continue
		default:
		}
		break
	}
	if n > 0 {
		w.t.met.sentFailures.WithLabelValues(peerLabel(w.p.id)).Add(float64(n))
	}
}

// serve writes queued messages (and, on the msg stream, pings) to conn
// until a write fails, the reader sees the connection end, or the peer is
// stopped. It always returns a non-nil error and leaves conn closed and its
// reader goroutine ended.
func (w *streamWriter) serve(conn net.Conn) (err error) {
	// Closing conn is the only way to interrupt a blocked Write; the peer's
	// ctx does it on RemovePeer, UpdatePeer and Stop.
	stopWatch := context.AfterFunc(w.p.ctx, func() { conn.Close() })
	// The reader goroutine is the one that notices a peer that went away
	// while this stream is idle. Invariant: it has ended when serve returns.
	readDone := make(chan error, 1)
	go func() { readDone <- w.readReplies(conn) }()
	readEnded := false
	defer func() {
		stopWatch()
		conn.Close()
		if !readEnded {
			<-readDone
		}
	}()

	label := peerLabel(w.p.id)
	// Frames are buffered and flushed once the queue is empty (or every
	// maxBatch messages): appends are pipelined, never waiting for a reply,
	// and a burst costs few syscalls. Frames larger than the buffer go
	// straight to the deadlineWriter.
	dw := &deadlineWriter{conn: conn, timeout: w.t.cfg.WriteTimeout, now: w.t.cfg.Now}
	bw := bufio.NewWriterSize(dw, 64<<10)
	var tick <-chan time.Time
	if w.kind == streamMsg {
		ticker := time.NewTicker(w.t.cfg.PingInterval)
		defer ticker.Stop()
		tick = ticker.C
		if err := w.ping(bw); err != nil {
			return err
		}
	}
	for {
		select {
		case m := <-w.queue:
			// pending is the frame bytes written since the last flush; they
			// count as sent only once the flush succeeds.
			// batch counts the messages since the last flush: on an error
			// they are all presumed lost.
			pending, batch := 0, 0
			for {
				n, err := w.writeMessage(bw, m)
				batch++
				if err != nil {
					w.t.met.sentFailures.WithLabelValues(label).Add(float64(batch))
					return err
				}
				pending += n
				if batch >= maxBatch || len(w.queue) == 0 {
					break
				}
				m = <-w.queue
			}
			if err := bw.Flush(); err != nil {
				w.t.met.sentFailures.WithLabelValues(label).Add(float64(batch))
				return fmt.Errorf("transport: writing to %s: %w", w.p.id, err)
			}
			w.t.met.sentBytes.WithLabelValues(label).Add(float64(pending))
		case <-tick:
			if err := w.ping(bw); err != nil {
				return err
			}
		case err := <-readDone:
			readEnded = true
			return fmt.Errorf("transport: %s stream to %s ended: %w", w.kind, w.p.id, err)
		case <-w.p.ctx.Done():
			return w.p.ctx.Err()
		}
	}
}

// writeMessage encodes m into bw and returns the frame's size. A message
// too large for a frame is dropped, reported and logged (returns 0, nil):
// it is the sender's bug, not the connection's.
func (w *streamWriter) writeMessage(bw *bufio.Writer, m raftpb.Message) (int, error) {
	b := m.Marshal()
	if len(b) > w.t.cfg.MaxFrameSize {
		w.t.met.sentFailures.WithLabelValues(peerLabel(w.p.id)).Inc()
		w.t.log.Error("dropping message larger than MaxFrameSize (lower raft's MaxSizePerMsg)",
			"peer", w.p.id.String(), "type", m.Type.String(), "bytes", len(b), "limit", w.t.cfg.MaxFrameSize,
			"err", ErrFrameTooLarge)
		w.t.cfg.Handler.ReportUnreachable(w.p.id)
		return 0, nil
	}
	if err := writeFrame(bw, frameMessage, b); err != nil {
		return 0, fmt.Errorf("transport: writing %s to %s: %w", m.Type, w.p.id, err)
	}
	return frameHeaderSize + len(b), nil
}

// ping writes and flushes a ping carrying the send time (nanoseconds since
// the Transport's epoch); the pong echoes it back to readReplies.
func (w *streamWriter) ping(bw *bufio.Writer) error {
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], uint64(w.t.cfg.Now().Sub(w.t.epoch)))
	if err := writeFrame(bw, framePing, p[:]); err != nil {
		return fmt.Errorf("transport: writing ping to %s: %w", w.p.id, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("transport: writing ping to %s: %w", w.p.id, err)
	}
	w.t.met.sentBytes.WithLabelValues(peerLabel(w.p.id)).Add(frameHeaderSize + 8)
	return nil
}

// readReplies reads what the accepter sends back on an outbound stream:
// only pongs, whose echoed timestamps give the RTT. It returns when the
// connection ends (the usual way a dead peer is noticed on an idle stream)
// or on a protocol error.
func (w *streamWriter) readReplies(conn net.Conn) error {
	fr := newFrameReader(conn, 64)
	rtt := w.t.met.rtt.WithLabelValues(peerLabel(w.p.id))
	for {
		typ, p, _, err := fr.next()
		if err != nil {
			return err
		}
		if typ != framePong || len(p) != 8 {
			return fmt.Errorf("%w: unexpected %s frame of %d bytes on an outbound stream", ErrCorruptFrame, typ, len(p))
		}
		sent := time.Duration(binary.BigEndian.Uint64(p))
		if d := w.t.cfg.Now().Sub(w.t.epoch) - sent; d >= 0 {
			rtt.Observe(d.Seconds())
		}
	}
}
