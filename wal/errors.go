package wal

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of
// them (check with errors.Is); the wrapping message says what was wrong.
var (
	// ErrCompacted is returned by Entries and Term when the requested index is
	// at or below the compaction point (FirstIndex()-1 for Entries, below it
	// for Term). It mirrors etcd-io/raft's Storage.ErrCompacted: the caller
	// must fall back to a snapshot.
	ErrCompacted = errors.New("wal: requested index is unavailable due to compaction")

	// ErrUnavailable is returned by Entries and Term when the requested index
	// is beyond LastIndex(). It mirrors etcd-io/raft's ErrUnavailable.
	ErrUnavailable = errors.New("wal: requested entry at index is unavailable")

	// ErrCorrupt is returned by Open when a record anywhere but the repairable
	// tail fails its checks. The message names the segment file and the byte
	// offset of the bad record; the log refuses to open.
	ErrCorrupt = errors.New("wal: corrupt log")

	// ErrInvalid is returned when the caller passes bad input: entries with a
	// gap, a term going backwards, lo > hi, an index out of range for a cut.
	// The WAL is unchanged and stays usable.
	ErrInvalid = errors.New("wal: invalid argument")

	// ErrFailed is returned by every call after a write or fsync error. The
	// first such error is wrapped too. The WAL closed itself; its on-disk
	// state is whatever the kernel kept, and the only way forward is to
	// restart the process and Open again. Nothing is retried.
	ErrFailed = errors.New("wal: failed after a write or fsync error")

	// ErrClosed is returned by every call after Close.
	ErrClosed = errors.New("wal: closed")

	// ErrLocked is returned by Open when another WAL (in this or another
	// process) holds the directory.
	ErrLocked = errors.New("wal: directory locked")

	// ErrBadFrame is returned by DecodeFrame when the bytes are not exactly
	// one valid frame (short, wrong length, unknown type, bad CRC...).
	ErrBadFrame = errors.New("wal: bad frame")
)
