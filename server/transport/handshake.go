package transport

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// handshakeMagic opens every peer connection. Never change.
const handshakeMagic = "SHLF"

// protocolVersion is the wire protocol this package speaks. A member refuses
// a handshake with another version. Bump it when the frame layout or the
// meaning of a frame type changes.
const protocolVersion = 1

// handshakeSize is the fixed size of a handshake: magic(4) version(1)
// kind(1) cluster(8) from(8) to(8). Never change for version 1.
const handshakeSize = 30

// streamKind says what a connection carries; it is part of the handshake.
// Never renumber.
type streamKind uint8

const (
	// streamApp carries MsgApp messages only (the bulky, pipelined stream).
	streamApp streamKind = 1
	// streamMsg carries every other message, and ping/pong frames.
	streamMsg streamKind = 2
	// streamSnap carries one snapshot, then the connection is closed.
	streamSnap streamKind = 3
)

func (k streamKind) String() string {
	switch k {
	case streamApp:
		return "app"
	case streamMsg:
		return "msg"
	case streamSnap:
		return "snapshot"
	}
	return fmt.Sprintf("streamKind(%d)", uint8(k))
}

// handshake is what the dialing member sends before any frame. From is
// only as trustworthy as the connection: with mutual TLS the peer proved it
// holds a cluster certificate; without TLS any host that can reach the
// peer port can claim any id of the cluster.
type handshake struct {
	Kind      streamKind
	ClusterID uint64
	From, To  raftpb.NodeID
}

func (h handshake) marshal() []byte {
	b := make([]byte, 0, handshakeSize)
	b = append(b, handshakeMagic...)
	b = append(b, protocolVersion, byte(h.Kind))
	b = binary.BigEndian.AppendUint64(b, h.ClusterID)
	b = binary.BigEndian.AppendUint64(b, uint64(h.From))
	return binary.BigEndian.AppendUint64(b, uint64(h.To))
}

// parseHandshake decodes a handshake. It checks the layout only (magic,
// version, kind); whether the cluster and ids are acceptable is decided by
// the accepting Transport.
func parseHandshake(b []byte) (handshake, error) {
	if len(b) != handshakeSize {
		return handshake{}, fmt.Errorf("%w: %d bytes, want %d", ErrHandshake, len(b), handshakeSize)
	}
	if string(b[:4]) != handshakeMagic {
		return handshake{}, fmt.Errorf("%w: magic %q, want %q (not a shelf peer?)", ErrHandshake, b[:4], handshakeMagic)
	}
	if b[4] != protocolVersion {
		return handshake{}, fmt.Errorf("%w: protocol version %d, this member speaks %d", ErrHandshake, b[4], protocolVersion)
	}
	h := handshake{
		Kind:      streamKind(b[5]),
		ClusterID: binary.BigEndian.Uint64(b[6:14]),
		From:      raftpb.NodeID(binary.BigEndian.Uint64(b[14:22])),
		To:        raftpb.NodeID(binary.BigEndian.Uint64(b[22:30])),
	}
	if h.Kind < streamApp || h.Kind > streamSnap {
		return handshake{}, fmt.Errorf("%w: unknown stream kind %d", ErrHandshake, b[5])
	}
	return h, nil
}

// readHandshake reads and parses one handshake from r.
func readHandshake(r io.Reader) (handshake, error) {
	var b [handshakeSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return handshake{}, fmt.Errorf("%w: reading: %w", ErrHandshake, err)
	}
	return parseHandshake(b[:])
}

// Handshake reply status codes, sent as the first reply byte. Never
// renumber; readReply maps them back to the sentinel errors.
const (
	statusOK            = 0
	statusBadHandshake  = 1
	statusCluster       = 2
	statusWrongTo       = 3
	statusUnknownPeer   = 4
	statusShuttingDown  = 5
	maxReplyReasonBytes = 255
)

// marshalReply encodes the accepter's answer: status byte, reason length
// byte, reason (truncated to 255 bytes).
func marshalReply(status byte, reason string) []byte {
	if len(reason) > maxReplyReasonBytes {
		reason = reason[:maxReplyReasonBytes]
	}
	b := []byte{status, byte(len(reason))}
	return append(b, reason...)
}

// readReply reads the accepter's answer; a refusal is an error wrapping
// ErrRefused (and the matching reason sentinel when the status names one).
func readReply(r io.Reader) error {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("%w: reading handshake reply: %w", ErrHandshake, err)
	}
	reason := make([]byte, hdr[1])
	if _, err := io.ReadFull(r, reason); err != nil {
		return fmt.Errorf("%w: reading handshake reply reason: %w", ErrHandshake, err)
	}
	switch hdr[0] {
	case statusOK:
		return nil
	case statusCluster:
		return fmt.Errorf("%w: %w: %s", ErrRefused, ErrClusterMismatch, reason)
	case statusWrongTo:
		return fmt.Errorf("%w: %w: %s", ErrRefused, ErrWrongRecipient, reason)
	case statusUnknownPeer:
		return fmt.Errorf("%w: %w: %s", ErrRefused, ErrUnknownPeer, reason)
	}
	return fmt.Errorf("%w: status %d: %s", ErrRefused, hdr[0], reason)
}
