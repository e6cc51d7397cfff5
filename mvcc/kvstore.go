package mvcc

import (
	"fmt"
	"sort"
	"sync"

	"github.com/google/btree"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// logEnt is one write in the revision log, the history that watchers
// catch up from. tomb marks a delete, so a delete event can be rebuilt
// even after compaction dropped its tombstone from the index.
type logEnt struct {
	main, sub int64
	key       string
	tomb      bool
}

// logEntOverhead estimates the bytes of one logEnt.
const logEntOverhead = 40

// Store is the revisioned keyspace. Mutating methods must be called from one
// goroutine (the raft apply loop); every other method is safe for
// concurrent use. Close stops the store's goroutines.
type Store struct {
	cfg Config

	mu struct {
		sync.RWMutex
		// tree maps key -> retained revisions.
		tree *btree.BTreeG[keyItem]
		// rev is the current main revision. Invariant: rev >= 1.
		rev int64
		// compactRev is the last compact revision (0 = never).
		// Invariant: compactRev <= rev.
		compactRev int64
		// applied is the raft index of the last applied entry.
		applied raftpb.Index
		// log holds every write with main >= compactRev (and possibly
		// some older ones the compactor has not trimmed yet), ordered by
		// (main, sub).
		log []logEnt
		// lessor holds leases and their attached keys.
		lessor lessor
		// bytesData estimates the retained keys, values and overhead.
		bytesData int64
		// swept is the compact revision the compactor last finished.
		// Invariant: swept <= compactRev.
		swept int64
		// sweptWaiters are closed once swept reaches their revision
		// (or the store closes).
		sweptWaiters []sweptWaiter
		// closed is set by Close.
		closed bool
	}

	hub       *hub
	compactor *compactor
}

// New returns an empty store at revision 1 with applied index 0 and starts
// its watch hub and compactor goroutines.
func New(cfg Config) (*Store, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: c}
	s.mu.tree = newTree()
	s.mu.rev = 1
	s.mu.lessor.init()
	s.start()
	return s, nil
}

// start launches the goroutines; used by New and by Restore.
func (s *Store) start() {
	s.hub = newHub(s)
	s.compactor = newCompactor(s)
}

// Close stops the hub and the compactor and closes every watch stream. It
// is safe to call more than once. Mutating calls after Close return
// ErrClosed; reads keep working on the frozen state.
func (s *Store) Close() {
	s.mu.Lock()
	already := s.mu.closed
	s.mu.closed = true
	s.mu.Unlock()
	if already {
		return
	}
	s.compactor.stop()
	s.hub.stop()
	s.mu.Lock()
	s.releaseWaitersLocked(true)
	s.mu.Unlock()
}

// Status returns revision, compact revision, applied index and sizes, all
// read atomically.
func (s *Store) Status() Status {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.statusLocked()
}

// statusLocked builds Status; callers hold mu (read or write).
func (s *Store) statusLocked() Status {
	logBytes := int64(len(s.mu.log)) * logEntOverhead
	return Status{
		Revision:        Revision(s.mu.rev),
		CompactRevision: Revision(s.mu.compactRev),
		AppliedIndex:    s.mu.applied,
		SizeInUse:       s.mu.bytesData,
		SizeTotal:       s.mu.bytesData + logBytes,
		Keys:            s.mu.tree.Len(),
	}
}

// AppliedIndex returns the raft index of the last applied entry.
func (s *Store) AppliedIndex() raftpb.Index {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mu.applied
}

// Rev returns the current revision.
func (s *Store) Rev() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mu.rev
}

// beginApplyLocked records idx as applied, or reports that it was applied
// already (or that the store is closed). Callers hold mu for writing; on nil
// they must go on to apply the entry, whatever its outcome.
func (s *Store) beginApplyLocked(idx raftpb.Index) error {
	if s.mu.closed {
		return ErrClosed
	}
	if idx <= s.mu.applied {
		return fmt.Errorf("%w: index %d <= applied %d", ErrIndexApplied, idx, s.mu.applied)
	}
	s.mu.applied = idx
	return nil
}

// writeTxn accumulates the writes of one main revision. It exists only
// while the writer holds mu. Every write goes straight into the tree and
// the log; end() commits the revision if anything was written.
type writeTxn struct {
	s   *Store
	rev int64 // the revision being written: s.mu.rev + 1
	n   int64 // writes so far = next sub revision
}

// beginWriteLocked starts the next revision; callers hold mu for writing
// until end().
func (s *Store) beginWriteLocked() *writeTxn {
	return &writeTxn{s: s, rev: s.mu.rev + 1}
}

// readRev is the revision that reads inside the txn see: its own writes
// included (etcd reads at rev+1 once a txn has changes).
func (tw *writeTxn) readRev() int64 {
	if tw.n > 0 {
		return tw.rev
	}
	return tw.rev - 1
}

// put writes key=value with lease; create/version continue the key's
// current generation or start a new one.
func (tw *writeTxn) put(key string, value []byte, lease int64) {
	s := tw.s
	it, ok := s.mu.tree.Get(keyItem{key: key})
	r := rec{main: tw.rev, sub: tw.n, create: tw.rev, version: 1, lease: lease, value: value}
	var oldLease int64
	if ok {
		key = it.key // share one copy of the key bytes with the log
		if cur := it.live(tw.rev); cur != nil {
			r.create = cur.create
			r.version = cur.version + 1
			oldLease = cur.lease
		}
	} else {
		it = keyItem{key: key}
		s.mu.bytesData += int64(len(key)) + itemOverhead
	}
	it.revs = append(it.revs, r)
	s.mu.tree.ReplaceOrInsert(it)
	s.mu.bytesData += int64(len(value)) + recOverhead
	s.mu.log = append(s.mu.log, logEnt{main: tw.rev, sub: tw.n, key: key})
	tw.n++
	if oldLease != lease {
		s.mu.lessor.detach(oldLease, key)
		s.mu.lessor.attach(lease, key)
	}
}

// del writes a tombstone for a key that is live at readRev.
func (tw *writeTxn) del(it keyItem) {
	s := tw.s
	cur := it.live(tw.rev)
	if cur == nil {
		return
	}
	s.mu.lessor.detach(cur.lease, it.key)
	it.revs = append(it.revs, rec{main: tw.rev, sub: tw.n})
	s.mu.tree.ReplaceOrInsert(it)
	s.mu.bytesData += recOverhead
	s.mu.log = append(s.mu.log, logEnt{main: tw.rev, sub: tw.n, key: it.key, tomb: true})
	tw.n++
}

// deleteRange deletes every key live in kr and returns how many.
func (tw *writeTxn) deleteRange(kr keyRange) int64 {
	var items []keyItem
	rr := tw.readRev()
	kr.ascend(tw.s.mu.tree, func(it keyItem) bool {
		if it.live(rr) != nil {
			items = append(items, it)
		}
		return true
	})
	for _, it := range items {
		tw.del(it)
	}
	return int64(len(items))
}

// end commits the revision when something was written and wakes the hub.
// It returns the revision the response header carries.
func (tw *writeTxn) end() int64 {
	if tw.n == 0 {
		return tw.rev - 1
	}
	tw.s.mu.rev = tw.rev
	tw.s.hub.wake()
	return tw.rev
}

// sortedKeys returns the keys of m in ascending order.
func sortedKeys(m map[string]struct{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
