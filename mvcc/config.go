package mvcc

import (
	"fmt"
	"log/slog"
	"time"
)

// Clock tells the lessor what time it is. Lease expiry is decided only by
// this clock, only when Expired, Renew, TimeToLive or Promote is called.
type Clock interface {
	Now() time.Time
}

// MaxLeaseTTL is etcd's upper bound on a lease TTL, in seconds.
const MaxLeaseTTL = 9000000000

// Config configures a Store. The zero value of every field selects the
// documented default; New validates the result once.
type Config struct {
	// Clock drives lease deadlines. Required.
	Clock Clock
	// Logger receives rare operational messages. Default: discard.
	Logger *slog.Logger
	// CompactionBatch is how many keys the compactor handles per hold of
	// the write lock. Default 1000.
	CompactionBatch int
	// WatchChanSize is the capacity of each watch stream's channel; a
	// watcher whose stream is full becomes unsynced. Default 128 (etcd's).
	WatchChanSize int
	// WatchBatchEvents caps the events of one catch-up response (a
	// revision is never split, so a response may exceed it). Default 1000.
	WatchBatchEvents int
	// MaxTxnOps caps compares, success ops and failure ops of a txn
	// (each counted separately, like etcd's --max-txn-ops). Default 128.
	MaxTxnOps int
	// MaxTxnDepth caps txn nesting; the outermost txn is depth 1. Default 32.
	MaxTxnDepth int
}

// withDefaults fills zero fields with their defaults and rejects what no
// default can fix (no clock, negative sizes). It runs once, in New or
// Restorer.Finish.
func (c Config) withDefaults() (Config, error) {
	if c.Clock == nil {
		return c, fmt.Errorf("mvcc: Config.Clock is required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.CompactionBatch == 0 {
		c.CompactionBatch = 1000
	}
	if c.WatchChanSize == 0 {
		c.WatchChanSize = 128
	}
	if c.WatchBatchEvents == 0 {
		c.WatchBatchEvents = 1000
	}
	if c.MaxTxnOps == 0 {
		c.MaxTxnOps = 128
	}
	if c.MaxTxnDepth == 0 {
		c.MaxTxnDepth = 32
	}
	if c.CompactionBatch < 0 || c.WatchChanSize < 0 || c.WatchBatchEvents < 0 || c.MaxTxnOps < 0 || c.MaxTxnDepth < 0 {
		return c, fmt.Errorf("mvcc: negative value in Config %+v", c)
	}
	return c, nil
}
