package mvcc

import (
	"fmt"
	"sort"
)

// Restorer rebuilds a Store from the records of a View (typically read
// back from a snapshot file): NewRestorer with the header, AddLease and
// AddKeyRevision in any interleaving (key revisions in the order ForEach
// produced them), then Finish. Any inconsistency is an ErrRestore error,
// never a partial store. Not safe for concurrent use.
type Restorer struct {
	cfg    Config
	hdr    ViewHeader
	tree   []keyItem
	log    []logEnt
	leases map[int64]int64
	bytes  int64
}

// NewRestorer starts a restore at the given header.
func NewRestorer(cfg Config, hdr ViewHeader) (*Restorer, error) {
	if hdr.Revision < 1 || hdr.CompactRevision < 0 || hdr.CompactRevision > hdr.Revision {
		return nil, fmt.Errorf("%w: header revision %d, compact revision %d", ErrRestore, hdr.Revision, hdr.CompactRevision)
	}
	return &Restorer{cfg: cfg, hdr: hdr, leases: make(map[int64]int64)}, nil
}

// AddLease records one lease.
func (r *Restorer) AddLease(l LeaseRecord) error {
	if l.ID == 0 || l.TTL <= 0 || l.TTL > MaxLeaseTTL {
		return fmt.Errorf("%w: lease %d with TTL %d", ErrRestore, l.ID, l.TTL)
	}
	if _, dup := r.leases[l.ID]; dup {
		return fmt.Errorf("%w: duplicate lease %d", ErrRestore, l.ID)
	}
	r.leases[l.ID] = l.TTL
	return nil
}

// AddKeyRevision records one revision; keys ascending, and within a key
// (main, sub) ascending. The record's slices are copied.
func (r *Restorer) AddKeyRevision(kr KeyRevision) error {
	key := string(kr.Key)
	if key == "" || kr.Main < 1 || kr.Main > r.hdr.Revision || kr.Sub < 0 {
		return fmt.Errorf("%w: key %q at %d/%d", ErrRestore, kr.Key, kr.Main, kr.Sub)
	}
	rc := rec{main: kr.Main, sub: kr.Sub}
	if !kr.Tombstone {
		if kr.Version < 1 || kr.CreateRevision < 1 || kr.CreateRevision > kr.Main {
			return fmt.Errorf("%w: key %q at %d: version %d, create %d", ErrRestore, kr.Key, kr.Main, kr.Version, kr.CreateRevision)
		}
		rc.create, rc.version, rc.lease = kr.CreateRevision, kr.Version, kr.Lease
		if len(kr.Value) > 0 {
			rc.value = append([]byte(nil), kr.Value...)
		}
	}
	// Records must arrive sorted: keys ascending, revisions ascending
	// within a key. Anything else is a corrupt or foreign stream.
	n := len(r.tree)
	switch {
	case n == 0 || r.tree[n-1].key < key:
		r.tree = append(r.tree, keyItem{key: key})
		r.bytes += int64(len(key)) + itemOverhead
	case r.tree[n-1].key == key:
		last := r.tree[n-1].revs[len(r.tree[n-1].revs)-1]
		if last.main > rc.main || last.main == rc.main && last.sub >= rc.sub {
			return fmt.Errorf("%w: key %q: revision %d/%d after %d/%d", ErrRestore, kr.Key, rc.main, rc.sub, last.main, last.sub)
		}
	default:
		return fmt.Errorf("%w: key %q after %q", ErrRestore, kr.Key, r.tree[n-1].key)
	}
	it := &r.tree[len(r.tree)-1]
	it.revs = append(it.revs, rc)
	r.bytes += int64(len(rc.value)) + recOverhead
	r.log = append(r.log, logEnt{main: rc.main, sub: rc.sub, key: key, tomb: kr.Tombstone})
	return nil
}

// Finish builds the store and starts its goroutines. Leases start
// non-primary (they never expire until Promote), as after an etcd restart.
func (r *Restorer) Finish() (*Store, error) {
	c, err := r.cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: c}
	s.mu.tree = newTree()
	s.mu.rev = r.hdr.Revision
	s.mu.compactRev = r.hdr.CompactRevision
	s.mu.swept = r.hdr.CompactRevision
	s.mu.applied = r.hdr.AppliedIndex
	s.mu.bytesData = r.bytes
	s.mu.lessor.init()
	for id, ttl := range r.leases {
		s.mu.lessor.leases[id] = &lease{id: id, ttl: ttl, keys: make(map[string]struct{})}
	}
	// Attachments are derived, not stored: a key belongs to the lease
	// named by its live version.
	for _, it := range r.tree {
		s.mu.tree.ReplaceOrInsert(it)
		if cur := it.live(r.hdr.Revision); cur != nil && cur.lease != 0 {
			if !s.mu.lessor.exists(cur.lease) {
				return nil, fmt.Errorf("%w: key %q is attached to unknown lease %d", ErrRestore, it.key, cur.lease)
			}
			s.mu.lessor.attach(cur.lease, it.key)
		}
	}
	// The watch history is every restored revision in revision order;
	// tombstones at exactly the compact revision are not in a view, so a
	// watcher resuming at that revision misses those deletes (see doc.go).
	sort.Slice(r.log, func(i, j int) bool {
		a, b := r.log[i], r.log[j]
		return a.main < b.main || a.main == b.main && a.sub < b.sub
	})
	s.mu.log = r.log
	s.start()
	return s, nil
}
