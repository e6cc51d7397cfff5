// Package wal is shelf's durable raft log: the entries and hard state of one
// member, stored on github.com/tidwall/wal with our own framing, checksums,
// tail repair, directory fsyncs, group commit and emulated disk classes.
//
// # Why not tidwall/wal alone
//
// tidwall/wal v1.2.1 stores `uvarint(len) || data` records in segment files
// and nothing else. Read at the source, it: has no checksums (a bit flip is
// returned as data); fails Open on a torn tail (loadNextBinaryEntry returns
// ErrCorrupt for a short record); reads a zero-filled tail as phantom empty
// records (each 0x00 byte is a valid zero-length record); never fsyncs the
// directory (segments are created in cycle(), removed and renamed in the
// truncations); requires every new log to start at index 1; holds its
// exclusive lock across the fsync in writeBatch, blocking every reader; and
// (found by TestConcurrentColdReads) its Read loads and evicts cached
// segments under a read lock, so concurrent Reads race. This package fixes
// each point:
//
//   - every record is a Frame with a CRC32C (Castagnoli) over header and
//     payload;
//   - Open scans every segment itself before handing the directory to the
//     library, cuts a torn or zero-filled tail back to the last valid frame
//     (truncate + fsync, logged with file and offset) and refuses any other
//     corruption with ErrCorrupt naming the file and byte offset;
//   - the directory is fsynced after the library creates a segment (the
//     roll-over is predicted from its rule, checked with one fstat per
//     batch, and confirmed by listing the directory), after truncations and
//     after Open;
//   - an flock on dir/LOCK keeps a second WAL out of the directory;
//   - raft indexes are mapped to library positions by replaying marker
//     records (Compact, Reset, Truncate), so the log can start anywhere;
//   - the library runs with NoSync and the WAL fsyncs once per batch,
//     through its own descriptor of the last segment, so the library's lock
//     is not held during the fsync; recent entries live in a bounded tail
//     cache, so most reads never touch the library at all, and the reads
//     that do are serialized by our own mutex.
//
// # Segment files (the library's format, which we read and repair)
//
// A directory of files named by the library index (1-based position) of
// their first record, 20 decimal digits, each a run of library records:
//
//	00000000000000000042
//	+---------------+----------------+---------------+----------------+----
//	| uvarint(len0) | frame 0 (len0) | uvarint(len1) | frame 1 (len1) | ...
//	+---------------+----------------+---------------+----------------+----
//
// plus, only while the library truncates, <name>.START / <name>.END (and
// their .TEMP precursors) and our LOCK file.
//
// # Frame format
//
// Each library record holds exactly one frame. All integers little endian.
//
//	 0        1        2        3        4        5        6        7
//	+--------+--------+--------+--------+--------+--------+--------+--------+
//	|  type  |    reserved (3 bytes, 0) |      payload length (uint32)      |  0
//	+--------+--------+--------+--------+--------+--------+--------+--------+
//	|                             term (uint64)                             |  8
//	+--------+--------+--------+--------+--------+--------+--------+--------+
//	|                            index (uint64)                             | 16
//	+--------+--------+--------+--------+--------+--------+--------+--------+
//	|          CRC32C (uint32)          |  payload (length bytes) ...       | 24
//	+--------+--------+--------+--------+--------+--------+--------+--------+
//
// The CRC32C covers bytes 0..23 (type, reserved, length, term, index) and
// the payload. A frame is canonical: reserved bytes are zero, the length
// equals the record length minus 28, and the payload obeys its type:
//
//	type                  term            index          payload
//	1 EntryNormal         entry term      entry index    entry data
//	2 EntryConfChange     entry term      entry index    entry data
//	3 EntryEmpty          entry term      entry index    none
//	4 HardState           HardState.Term  Commit         Vote, uint64 (8 bytes)
//	5 Truncate            term of index   cut after it   none
//	6 Compact             term of index   compacted to   none
//	7 Reset               snapshot term   snapshot index none
//
// Type 0 is never valid, so zeros never decode. The constants are named
// types (RecordType) with "never change" comments; do not renumber them.
//
// # Log semantics (replay)
//
// The log is the result of applying records in order: an entry at index i
// replaces entries >= i and appends; HardState replaces the hard state;
// Truncate(i) drops entries > i; Compact(i, t) drops entries <= i and
// remembers t as the term of i; Reset(i, t) drops every entry and makes i
// (term t) the base. Save writes its entries before its hard state, so a
// torn batch never leaves a commit index pointing past surviving entries.
// A front cut (CompactTo, ResetTo) writes its marker and the hard state,
// fsyncs, and only then lets the library delete records before the first
// one kept, so the head of the library log is always an entry or a marker,
// and every crash point replays to either the old or the new state.
//
// # Durability and failure
//
// Save fsyncs once per batch, unless the batch only moves the commit index
// (MustSync). Any error from a write, an fsync or a library call after
// validation is fatal: the WAL records it, closes itself, and every later
// call returns an error wrapping ErrFailed and the cause. An fsync is never
// retried: after a failed fsync the kernel may have dropped the dirty
// pages, and a second fsync that succeeds proves nothing.
//
// # Use by the raft driver
//
// Per Ready, in the driver's single writer goroutine: if the Ready carries
// a snapshot, persist it (snapshot/) and call ResetTo(snap.Index,
// snap.Term); then Save(rd.HardState, rd.Entries) (one fsync, none for a
// commit-only move) before sending the messages that depend on it. After
// writing a snapshot at index i, CompactTo(i) bounds the log. A storage
// adapter for raft maps Entries/Term/FirstIndex/LastIndex and the sentinels
// ErrCompacted/ErrUnavailable to raft's; any other error from them, and
// any error from a write, means the member must stop.
//
// # Concurrency
//
// One writer goroutine (Save, TruncateBack, CompactTo, ResetTo, Close) and
// any number of readers (Entries, Term, FirstIndex, LastIndex, HardState,
// Stats). See WAL for the lock order.
//
// # Limits, on purpose or inherited
//
//   - The library fsyncs by itself when it rolls to a new segment and inside
//     its truncations (temp file + rename). Those fsyncs bypass FsyncHook and
//     the histogram; their errors still reach us and are fatal.
//   - The library's TruncateFront removes and renames files without
//     fsyncing the directory in between; we fsync it when the call returns.
//     A power loss inside the call relies on its START/END recovery, which
//     Open runs first.
//   - A complete last record that fails its CRC, with nothing valid after
//     it, cannot be told from a torn write: it is cut (and logged at WARN
//     with file, offset and reason). A bad record with anything valid after
//     it, or in any segment but the last, is ErrCorrupt.
//   - Entries evicted from the tail cache are read through the library;
//     they wait while the writer hands a batch to it (a memory copy and a
//     write(2)) or while it rolls or cuts a segment, never for our fsync.
//   - Overwritten and cut entries keep their bytes on disk until a front cut
//     removes their segment. The index costs 16 bytes per live entry.
//
// # Disk profiles
//
// A DiskProfile adds a latency, uniform in [mean-jitter, mean+jitter] and
// drawn from Options.Rand, after every real data fsync (or instead of it,
// with NoSync: a pure emulation); the histogram
// etcd_disk_wal_fsync_duration_seconds records the time actually elapsed.
// The wait is a Clock.Sleep, so on a loaded host it overshoots (we measured
// ~1ms for nvme's 100µs with a load average of 7 on 2 cores): read the
// histogram, not the table, for what a run really saw.
//
//	profile  added per fsync     fsyncs/s alone  source
//	real     0                   (the disk's)    -
//	nvme     100µs ± 20µs        ~10,000         seed: NVMe ~100,000 IOPS, 10x the SSD's ~10,000
//	ssd      1ms ± 250µs         ~1,000          seed: "Good: 1000 writes/sec on SSD"
//	hdd      10ms ± 5ms          ~100            seed: "Bad: 100 writes/sec on HDD", HDD ~100 IOPS
//	network  100ms ± 50ms        ~10             seed: "Disaster: 10 writes/sec on network storage"
//
// The seed is /work/shared/seed/000_c32ca2420f9e2702.txt; etcd's hardware
// guide asks for a wal fsync p99 under 10ms, which nvme and ssd meet and hdd
// and network do not. The jitter widths are our choice: narrow for
// flash, half the mean for rotating and networked disks, whose latency
// depends on head position and round trips.
package wal
