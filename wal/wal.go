package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	tidwal "github.com/tidwall/wal"
)

// WAL is the durable raft log and hard state of one member.
//
// Concurrency contract: exactly one goroutine, the writer, calls the
// mutating methods (Save, TruncateBack, CompactTo, ResetTo, Close); any
// number of other goroutines may call the read methods (Entries, Term,
// FirstIndex, LastIndex, HardState, Stats) at any time, including while the
// writer is inside an fsync. Reads observe each write atomically, after it
// returned durable (or, for a commit-only Save, after it was handed to the
// kernel). Reads served from the tail cache or the in-memory index never
// wait on the disk.
//
// Lock order: w.mu, then w.coldMu, then the library's internal lock. The
// writer never holds w.mu while calling into the library and never takes
// coldMu, so a reader holding w.mu.RLock that waits for the library cannot
// deadlock it.
type WAL struct {
	dir  string
	opts Options
	log  *slog.Logger
	lib  *tidwal.Log
	m    *metrics
	lock *os.File // flock on dir/LOCK, held from Open to Close or failure

	// Writer-only fields: touched only by the writer goroutine.
	// Invariant: libLast == lib.LastIndex(); tailBytes == the size of the
	// library's last segment file (tailName) between writes.
	rng       *rand.Rand   // DiskProfile jitter source
	libLast   uint64       // library index of the last record written
	tailName  string       // current last segment file
	tailFile  *os.File     // our own read-only handle on tailName, for fsync
	tailBytes int          // size of the last segment file, to predict roll-over
	encBuf    []byte       // reused frame encoding buffer
	bounds    []int        // reused frame boundaries in encBuf
	frames    []Frame      // reused frame list of Save
	batch     tidwal.Batch // reused library batch

	// coldMu serializes reads through the library (lib.Read is not safe
	// for concurrent use, see entryLocked). Readers only.
	coldMu sync.Mutex

	// mu guards the fields below. The writer writes them under mu.Lock and
	// may read them without locking (it is their only writer); readers
	// take mu.RLock.
	mu struct {
		sync.RWMutex
		st    logState
		cache *tailCache
		err   error // non-nil once closed (ErrClosed) or failed (ErrFailed ...)
	}
}

// Open opens (creating if needed) the WAL in dir. It scans every record of
// every segment and checks its CRC. A torn or zero-filled tail of the last
// segment (a bad record with nothing valid after it) is cut back to the last
// valid record; the cut is fsynced and logged with file and offset. Any
// other bad record makes Open fail with ErrCorrupt naming the file and
// offset: nothing is ever skipped silently.
func Open(dir string, opts Options) (*WAL, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory name", ErrInvalid)
	}
	m, err := newMetrics(o.Metrics)
	if err != nil {
		return nil, err
	}
	w := &WAL{dir: dir, opts: o, log: o.Logger.With("wal", dir), m: m, rng: rand.New(o.Rand)}
	if err := w.open(); err != nil {
		m.unregister()
		if w.lib != nil {
			_ = w.lib.Close()
		}
		w.closeTail()
		w.unlock()
		return nil, err
	}
	return w, nil
}

// open does Open's work: create the directory, let the library finish an
// interrupted truncation, scan and repair, then open the library.
func (w *WAL) open() error {
	if err := w.mkdir(); err != nil {
		return err
	}
	lock, err := lockDir(w.dir)
	if err != nil {
		return err
	}
	w.lock = lock
	if n, err := removeTemps(w.dir); err != nil {
		return fmt.Errorf("wal: removing temporary files in %s: %w", w.dir, err)
	} else if n > 0 {
		w.log.Warn("wal: removed leftover temporary files of an interrupted truncation", "count", n)
	}
	if _, pending, err := listSegments(w.dir); err != nil {
		return fmt.Errorf("wal: listing %s: %w", w.dir, err)
	} else if pending {
		// A .START/.END file means a truncation was interrupted. Those files
		// are complete (written, fsynced, then renamed); the library's load
		// finishes the job. Do it first so we scan the final layout.
		lib, err := tidwal.Open(w.dir, w.libOptions())
		if err != nil {
			return fmt.Errorf("wal: finishing an interrupted truncation in %s: %w", w.dir, err)
		}
		if err := lib.Close(); err != nil {
			return fmt.Errorf("wal: finishing an interrupted truncation in %s: %w", w.dir, err)
		}
		if err := w.syncDir(); err != nil {
			return err
		}
	}
	// Scan, verify and replay every record ourselves, repairing the tail,
	// BEFORE the library reads anything: it would fail on a torn tail and
	// read zeros as records.
	st, cache, libFirst, libLast, err := w.recover()
	if err != nil {
		return err
	}
	lib, err := tidwal.Open(w.dir, w.libOptions())
	if err != nil {
		return fmt.Errorf("wal: opening segments in %s: %w", w.dir, err)
	}
	w.lib = lib
	// The library may have created the first segment: make it durable.
	if err := w.syncDir(); err != nil {
		return err
	}
	lf, err1 := lib.FirstIndex()
	ll, err2 := lib.LastIndex()
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("wal: reading library bounds: %w", err)
	}
	// The library must see exactly the records we verified; anything else
	// means our reading of its format is wrong, and writing on would be
	// building on sand.
	if libFirst != 0 && (lf != libFirst || ll != libLast) {
		return fmt.Errorf("%w: %s: library sees records [%d, %d], scan found [%d, %d]", ErrCorrupt, w.dir, lf, ll, libFirst, libLast)
	}
	w.libLast = ll
	if err := w.refreshTail(); err != nil {
		return err
	}
	w.mu.st, w.mu.cache = st, cache
	w.log.Info("wal opened", "first", st.first(), "last", st.last(), "hardstate", fmt.Sprint(st.hs))
	return nil
}

// mkdir creates dir if needed, fsyncing its parent so the new directory
// entry is durable.
func (w *WAL) mkdir() error {
	if _, err := os.Stat(w.dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(w.dir, 0o750); err != nil {
		return fmt.Errorf("wal: creating %s: %w", w.dir, err)
	}
	if w.opts.NoSync {
		return nil
	}
	if err := syncDir(filepath.Dir(filepath.Clean(w.dir)), w.opts.FsyncHook); err != nil {
		return fmt.Errorf("wal: fsync parent of %s: %w", w.dir, err)
	}
	return nil
}

// libOptions are the options handed to tidwall/wal. NoSync: we fsync
// ourselves, once per batch, timed. AllowEmpty: a repaired tail may leave
// the last segment empty. SegmentCacheSize 2: cold reads are rare.
func (w *WAL) libOptions() *tidwal.Options {
	return &tidwal.Options{
		NoSync:           true,
		SegmentSize:      w.opts.SegmentSize,
		LogFormat:        tidwal.Binary,
		SegmentCacheSize: 2,
		AllowEmpty:       true,
		DirPerms:         0o750,
		FilePerms:        0o640,
	}
}

// recover scans all segments in order, replaying every frame into a fresh
// logState and tail cache, and repairs the tail of the last segment. It
// returns the library index range found (0, 0 for an empty directory).
func (w *WAL) recover() (logState, *tailCache, uint64, uint64, error) {
	cache := newTailCache(w.opts.TailCacheBytes)
	segs, _, err := listSegments(w.dir)
	if err != nil {
		return logState{}, nil, 0, 0, fmt.Errorf("wal: listing %s: %w", w.dir, err)
	}
	if len(segs) == 0 {
		return newLogState(1), cache, 0, 0, nil
	}
	st := newLogState(segs[0].first)
	next := segs[0].first
	for k, seg := range segs {
		// Segment names are the library index of their first record, so
		// a missing or extra file shows as a gap or an overlap here.
		if seg.first != next {
			return logState{}, nil, 0, 0, corruptAt(seg.path, 0, "segment starts at record %d, the previous segment ends before record %d", seg.first, next)
		}
		data, err := os.ReadFile(seg.path)
		if err != nil {
			return logState{}, nil, 0, 0, fmt.Errorf("wal: reading %s: %w", seg.path, err)
		}
		count, bad, err := scanSegment(seg, data, func(f Frame, off int64, pos uint64) error {
			if err := st.apply(f, pos, cache, true); err != nil {
				return corruptAt(seg.path, off, "%s record (term %d, index %d): %v", f.Type, f.Term, f.Index, err)
			}
			cache.trim(1)
			return nil
		})
		if err != nil {
			return logState{}, nil, 0, 0, err
		}
		if bad != nil {
			if k != len(segs)-1 {
				return logState{}, nil, 0, 0, corruptAt(seg.path, bad.off, "%s (in a segment that is not the last)", bad.reason)
			}
			if y := validFrameAfter(data, bad.off); y >= 0 {
				return logState{}, nil, 0, 0, corruptAt(seg.path, bad.off, "%s, followed by a valid record at offset %d", bad.reason, y)
			}
			if err := w.repairTail(seg, bad, int64(len(data))); err != nil {
				return logState{}, nil, 0, 0, err
			}
		}
		next = seg.first + count
	}
	if !st.started || !st.baseKnown {
		return logState{}, nil, 0, 0, fmt.Errorf("%w: %s: the log starts at record %d without a marker giving the term of its base index", ErrCorrupt, segs[0].path, segs[0].first)
	}
	return st, cache, segs[0].first, next - 1, nil
}

// repairTail cuts the last segment at the first bad record and fsyncs it.
func (w *WAL) repairTail(seg segmentFile, bad *badRecord, size int64) error {
	w.log.Warn("wal: repairing torn tail: cutting the last segment back to its last valid record",
		"file", seg.path, "offset", bad.off, "size", size, "dropped_bytes", size-bad.off, "reason", bad.reason)
	if err := truncateAndSync(seg.path, bad.off, w.opts.FsyncHook); err != nil {
		return fmt.Errorf("wal: repairing %s at offset %d: %w", seg.path, bad.off, err)
	}
	w.m.stRepairs.Add(1)
	return nil
}

// refreshTail finds the library's current last segment and its size: the
// basis for predicting the next roll-over (see willRoll).
func (w *WAL) refreshTail() error {
	segs, _, err := listSegments(w.dir)
	if err != nil || len(segs) == 0 {
		return fmt.Errorf("wal: listing segments of %s: %w (%d found)", w.dir, err, len(segs))
	}
	last := segs[len(segs)-1]
	// Reopen even if the name is unchanged: a library truncation may have
	// replaced the file under the same name (a new inode).
	f, err := os.Open(last.path)
	if err != nil {
		return fmt.Errorf("wal: opening %s: %w", last.path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("wal: stat %s: %w", last.path, err)
	}
	w.closeTail()
	w.tailFile, w.tailName, w.tailBytes = f, last.path, int(fi.Size())
	return nil
}

// closeTail closes our handle on the last segment, if any.
func (w *WAL) closeTail() {
	if w.tailFile != nil {
		_ = w.tailFile.Close()
		w.tailFile = nil
	}
}

// syncDir fsyncs the WAL directory (unless NoSync), counting it.
func (w *WAL) syncDir() error {
	if w.opts.NoSync {
		return nil
	}
	w.m.stDir.Add(1)
	if err := syncDir(w.dir, w.opts.FsyncHook); err != nil {
		return fmt.Errorf("wal: fsync directory %s: %w", w.dir, err)
	}
	return nil
}

// Close syncs and closes the WAL. Writer goroutine only. Afterwards every
// call returns ErrClosed (or the ErrFailed error if the WAL had failed).
// Closing twice returns ErrClosed. Metrics are unregistered.
func (w *WAL) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.err != nil {
		return w.mu.err
	}
	w.mu.err = ErrClosed
	w.m.unregister()
	defer w.unlock()
	w.closeTail()
	if err := w.lib.Close(); err != nil {
		return fmt.Errorf("wal: closing %s: %w", w.dir, err)
	}
	return nil
}

// unlock releases the directory lock (closing the file drops the flock).
func (w *WAL) unlock() {
	if w.lock != nil {
		_ = w.lock.Close()
		w.lock = nil
	}
}

// Collectors returns the WAL's Prometheus collectors (fsync duration
// histogram, fsync counter, bytes-written counter), registered or not.
func (w *WAL) Collectors() []prometheus.Collector { return w.m.Collectors() }

// Stats returns the plain counters. Safe from any goroutine.
func (w *WAL) Stats() Stats { return w.m.stats() }
