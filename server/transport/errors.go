package transport

import "errors"

// Sentinel errors. Every error the package returns wraps one of these (with
// %w and a message naming what was wrong), so callers test with errors.Is.
var (
	// ErrConfig is returned by New when a Config field is invalid.
	ErrConfig = errors.New("transport: invalid config")
	// ErrStopped is returned by methods called after Stop.
	ErrStopped = errors.New("transport: stopped")
	// ErrPeerExists is returned by AddPeer for an id that is already known.
	ErrPeerExists = errors.New("transport: peer already exists")
	// ErrUnknownPeer is returned for an operation on an id that is not a
	// peer, and is the reason a handshake from an unknown member is refused.
	ErrUnknownPeer = errors.New("transport: unknown peer")
	// ErrFrameTooLarge means a frame's length field exceeds the configured
	// MaxFrameSize (on read), or a message encodes to more than it (on send).
	ErrFrameTooLarge = errors.New("transport: frame too large")
	// ErrChecksum means a frame's CRC32C does not match its type and payload.
	ErrChecksum = errors.New("transport: frame checksum mismatch")
	// ErrCorruptFrame means a frame is malformed: unknown type, truncated
	// header or payload, or a payload that does not decode.
	ErrCorruptFrame = errors.New("transport: corrupt frame")
	// ErrHandshake means a connection's handshake is malformed (bad magic,
	// unknown protocol version or stream kind, truncated).
	ErrHandshake = errors.New("transport: bad handshake")
	// ErrRefused means the remote member refused our handshake; the wrapped
	// message carries its status and reason.
	ErrRefused = errors.New("transport: handshake refused by peer")
	// ErrClusterMismatch is the reason a handshake from another cluster is refused.
	ErrClusterMismatch = errors.New("transport: cluster id mismatch")
	// ErrWrongRecipient is the reason a handshake addressed to another member
	// id is refused.
	ErrWrongRecipient = errors.New("transport: handshake addressed to another member")
	// ErrSnapshot means a snapshot transfer failed (size mismatch, rejected
	// by the receiver, connection lost).
	ErrSnapshot = errors.New("transport: snapshot transfer failed")
)
