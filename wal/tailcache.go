package wal

import "github.com/shelf-kv/shelf/raft/raftpb"

// tailCache keeps the most recently appended entries in memory so readers
// (a leader feeding followers) never wait on the library, whose lock is held
// while an fsync runs. It holds a contiguous run of live entries ending at
// the log's last index.
//
// Not safe for concurrent use by itself: the WAL mutates it under w.mu
// (write lock) and reads it under w.mu (read lock). Entries' Data is never
// modified once cached, so readers may share it.
//
// Invariant: ents[k].Index == ents[0].Index+k; bytes is the sum of
// sizes; if ents is non-empty its last entry is the log's last index.
type tailCache struct {
	limit int            // soft bound on bytes (see trim)
	ents  []raftpb.Entry // cached entries, contiguous
	sizes []int          // encoded frame size of each cached entry
	bytes int            // sum of sizes
}

func newTailCache(limit int) *tailCache { return &tailCache{limit: limit} }

// first returns the first cached index, or 0 if the cache is empty.
func (c *tailCache) first() raftpb.Index {
	if len(c.ents) == 0 {
		return 0
	}
	return c.ents[0].Index
}

// get returns the cached entry i, if cached.
func (c *tailCache) get(i raftpb.Index) (raftpb.Entry, int, bool) {
	if len(c.ents) == 0 || i < c.ents[0].Index || i > c.ents[len(c.ents)-1].Index {
		return raftpb.Entry{}, 0, false
	}
	k := int(i - c.ents[0].Index)
	return c.ents[k], c.sizes[k], true
}

// add appends e, first dropping any cached entries at or after e.Index (an
// overwrite) or, if e does not follow the cache, everything.
func (c *tailCache) add(e raftpb.Entry, size int) {
	if n := len(c.ents); n > 0 {
		f := c.ents[0].Index
		switch {
		case e.Index <= f:
			c.drop(n)
		case e.Index <= c.ents[n-1].Index+1:
			c.truncate(e.Index - 1)
		default:
			c.drop(n)
		}
	}
	c.ents = append(c.ents, e)
	c.sizes = append(c.sizes, size)
	c.bytes += size
}

// trim evicts the oldest entries while the cache exceeds its limit, but
// never the newest keep entries (the batch just written).
func (c *tailCache) trim(keep int) {
	n := 0
	for c.bytes > c.limit && len(c.ents)-n > keep {
		c.bytes -= c.sizes[n]
		n++
	}
	if n > 0 {
		c.ents = c.ents[n:]
		c.sizes = c.sizes[n:]
	}
}

// drop removes the n oldest entries.
func (c *tailCache) drop(n int) {
	for _, s := range c.sizes[:n] {
		c.bytes -= s
	}
	c.ents = c.ents[n:]
	c.sizes = c.sizes[n:]
}

// truncate drops cached entries after last.
func (c *tailCache) truncate(last raftpb.Index) {
	for len(c.ents) > 0 && c.ents[len(c.ents)-1].Index > last {
		k := len(c.ents) - 1
		c.bytes -= c.sizes[k]
		c.ents = c.ents[:k]
		c.sizes = c.sizes[:k]
	}
}

// compact drops cached entries at or below base.
func (c *tailCache) compact(base raftpb.Index) {
	n := 0
	for n < len(c.ents) && c.ents[n].Index <= base {
		n++
	}
	c.drop(n)
}

// reset empties the cache.
func (c *tailCache) reset(raftpb.Index) { c.drop(len(c.ents)) }
