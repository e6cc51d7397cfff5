// Package mvcc is shelf's revisioned, in-memory keyspace: an etcd-v3-identical
// model of keys, revisions, leases and watches, indexed by a copy-on-write
// google/btree.
//
// # Revisions
//
// Every mutating request that changes something gets ONE main revision; the
// individual writes inside it (a txn, a lease revoke) get sub revisions 0, 1,
// 2, ... A request that changes nothing (delete of absent keys, a read-only
// txn, a revoke of a lease without keys) does not bump the revision. A new
// store is at revision 1, like a fresh etcd.
//
// Each key keeps the list of its retained revisions (puts and tombstones);
// a tombstone ends a generation and a re-created key starts again at version 1
// with a new create revision. Compaction at revision C drops, per key, every
// revision older than the newest one at or below C, and drops that one too when
// it is a tombstone.
//
// # Applied index
//
// Every mutating entry point takes the raft index of the log entry carrying it.
// The index is stored under the same lock as the data, so a reader never sees
// data of index N together with an applied index < N or the reverse. An entry
// whose request fails (bad input, missing lease, ...) still moves the index.
// An index <= the current applied index is ignored and reported with
// ErrIndexApplied, which makes replaying the WAL after a restart idempotent.
//
// # Concurrency and ownership
//
// Writers are one goroutine (the raft apply loop); readers are many (HTTP
// handlers). Store.mu (a RWMutex) guards the index, the revision log, the
// lessor and the counters: writers hold it exclusively for one request,
// readers share it for one read. Two goroutines are owned by the Store and
// stopped by Close:
//
//   - the compactor (kvstore_compaction.go) drops compacted revisions in
//     batches of Config.CompactionBatch keys, taking the write lock once per
//     batch, so writers and readers proceed between batches;
//   - the watch hub (watch_hub.go) is the single owner of every watcher, of
//     the synced and unsynced groups and of every stream's outgoing channel.
//     Writers only signal it (a non-blocking send on a channel of capacity 1),
//     so a slow watcher can never block a writer. The hub reads new events out
//     of the revision log under the read lock.
//
// Lock order: hub state is only touched by the hub goroutine; it may take
// Store.mu (read) while running. Nothing holding Store.mu ever waits for the
// hub.
//
// # Differences from etcd (deliberate, all on bad input or on edge cases)
//
//   - A range_end that sorts before the key, a negative revision and a
//     negative watch start revision are errors (etcd silently returns nothing
//     or treats them as "current").
//   - Compare targets and results outside etcd's enums are errors (etcd
//     compares them as "equal" or "true").
//   - A txn nested deeper than Config.MaxTxnDepth is an error (etcd relies on
//     the request size limit).
//   - Watch responses for "created" and "canceled" are produced here, on the
//     same channel as the events, so they are ordered with them.
//   - A watcher that resumes at exactly the compact revision still receives
//     the delete events of that revision (etcd may lose them once its backend
//     compaction has run). After Restore those tombstones are gone (a View
//     holds only what reads need), as in etcd.
//   - In a txn's duplicate-key check a delete with range_end "\x00" covers
//     every key from its start (etcd's interval check treats it as empty,
//     which lets one txn delete and re-put a key, and makes etcd panic on an
//     ignore_value put after such a delete).
//
// # Entry points by caller
//
// The apply loop: Put, DeleteRange, Txn, Compact, LeaseGrant, LeaseRevoke
// and MarkApplied (for entries without an mvcc request), each with the entry's raft
// index. HTTP readers: Range, ReadTxn (read-only txns served after
// ReadIndex), LeaseTimeToLive, Leases, Status, HashKV, NewWatchStream,
// WaitCompaction (for etcd's "physical" compaction flag). The
// leader's lease loop: LeaseRenew, Expired, Promote, Demote. The snapshot
// writer: View; the snapshot reader: NewRestorer.
package mvcc
