package mvcc

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"

	"github.com/google/btree"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// ViewHeader is the point-in-time metadata of a View.
type ViewHeader struct {
	Revision        int64
	CompactRevision int64
	AppliedIndex    raftpb.Index
}

// KeyRevision is one retained revision of one key, as a snapshot record.
// A tombstone has Tombstone set and no value, version, create or lease.
type KeyRevision struct {
	Key            []byte
	Main, Sub      int64
	Tombstone      bool
	CreateRevision int64
	Version        int64
	Lease          int64
	Value          []byte
}

// LeaseRecord is one lease as a snapshot record. Attached keys are not
// recorded: they follow from the keys' Lease fields.
type LeaseRecord struct {
	ID  int64
	TTL int64
}

// View is a frozen, point-in-time copy of the store built with btree
// Clone (lazy copy-on-write): taking it costs O(1) under the write lock and
// writes continue while it is read. It holds everything needed to rebuild
// the store (Restore). A View is safe for concurrent use and needs no Close.
type View struct {
	hdr    ViewHeader
	tree   *btree.BTreeG[keyItem]
	leases []LeaseRecord
}

// View returns a point-in-time view of the store.
func (s *Store) View() *View {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := &View{
		hdr:  ViewHeader{Revision: s.mu.rev, CompactRevision: s.mu.compactRev, AppliedIndex: s.mu.applied},
		tree: s.mu.tree.Clone(),
	}
	for _, l := range s.mu.lessor.leases {
		v.leases = append(v.leases, LeaseRecord{ID: l.id, TTL: l.ttl})
	}
	sort.Slice(v.leases, func(i, j int) bool { return v.leases[i].ID < v.leases[j].ID })
	return v
}

// Header returns the view's revision, compact revision and applied index.
func (v *View) Header() ViewHeader { return v.hdr }

// Leases returns every lease, ordered by ID.
func (v *View) Leases() []LeaseRecord { return append([]LeaseRecord(nil), v.leases...) }

// ForEach calls fn for every revision retained at the view's compact
// revision, in key order and then (main, sub) order, stopping at the first
// error, which it returns. Records share memory with the store: do not
// modify them.
func (v *View) ForEach(fn func(KeyRevision) error) error {
	var err error
	v.tree.Ascend(func(it keyItem) bool {
		for i := it.firstRetained(v.hdr.CompactRevision); i < len(it.revs); i++ {
			r := &it.revs[i]
			if r.main > v.hdr.Revision {
				break
			}
			kr := KeyRevision{Key: []byte(it.key), Main: r.main, Sub: r.sub, Tombstone: r.tomb()}
			if !r.tomb() {
				kr.CreateRevision, kr.Version, kr.Lease, kr.Value = r.create, r.version, r.lease, r.value
			}
			if err = fn(kr); err != nil {
				return false
			}
		}
		return true
	})
	return err
}

// HashKVResponse is the answer to HashKV.
type HashKVResponse struct {
	// Hash covers every retained revision with main <= HashRevision.
	Hash            uint32
	HashRevision    int64
	CompactRevision int64
	// Revision is the store's current revision.
	Revision int64
}

// HashKV hashes the keyspace as of rev (0 = current) for cross-member
// consistency checks: two stores that applied the same entries give the
// same hash, whatever their compaction progress or history of restarts.
// It works on a View, so it does not hold the lock while hashing.
func (s *Store) HashKV(rev int64) (*HashKVResponse, error) {
	v := s.View()
	switch {
	case rev < 0:
		return nil, fmt.Errorf("%w: hash revision %d", ErrNegativeRevision, rev)
	case rev > v.hdr.Revision:
		return nil, fmt.Errorf("%w: %d > current %d", ErrFutureRev, rev, v.hdr.Revision)
	case rev == 0:
		rev = v.hdr.Revision
	case rev < v.hdr.CompactRevision:
		return nil, fmt.Errorf("%w: %d < compact revision %d", ErrCompacted, rev, v.hdr.CompactRevision)
	}
	// The hash covers logical content only (what ForEach yields), encoded
	// with explicit lengths so no two different stores collide by
	// concatenation; iteration order is the btree's, never a map's.
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	var buf [8]byte
	num := func(x int64) {
		binary.BigEndian.PutUint64(buf[:], uint64(x))
		h.Write(buf[:])
	}
	_ = v.ForEach(func(kr KeyRevision) error {
		if kr.Main > rev {
			return nil
		}
		num(int64(len(kr.Key)))
		h.Write(kr.Key)
		num(kr.Main)
		num(kr.Sub)
		num(kr.CreateRevision)
		num(kr.Version)
		num(kr.Lease)
		num(int64(len(kr.Value)))
		h.Write(kr.Value)
		return nil
	})
	return &HashKVResponse{Hash: h.Sum32(), HashRevision: rev, CompactRevision: v.hdr.CompactRevision, Revision: v.hdr.Revision}, nil
}
