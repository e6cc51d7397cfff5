package mvcc

import (
	"sort"

	"github.com/google/btree"
)

// rec is one retained revision of one key. A tombstone has version 0.
// Invariant: a rec is never modified after it was appended to a keyItem
// (views share them through btree.Clone).
type rec struct {
	main, sub int64
	create    int64
	version   int64 // 0 = tombstone
	lease     int64
	value     []byte
}

// tomb reports whether r is a tombstone (a delete).
func (r *rec) tomb() bool { return r.version == 0 }

// recOverhead estimates the bytes of a rec beyond its value.
const recOverhead = 64

// itemOverhead estimates the bytes of a keyItem in a btree node beyond its key.
const itemOverhead = 48

// keyItem is a btree element: a key and its retained revisions, ascending by
// (main, sub). Items are values: an update replaces the item, so a tree
// cloned earlier keeps seeing the old slice header.
// Invariant: revs is non-empty; elements [0:len(revs)) are never overwritten
// (appends may reuse spare capacity, which no older header can see).
type keyItem struct {
	key  string
	revs []rec
}

// lessItem orders the index by key bytes (string comparison is bytewise).
func lessItem(a, b keyItem) bool { return a.key < b.key }

// newTree returns an empty index. Degree 32 keeps nodes around a few
// cache lines of items and the tree shallow at millions of keys.
func newTree() *btree.BTreeG[keyItem] { return btree.NewG(32, lessItem) }

// at returns the index of the newest rec with main <= rev, or -1.
func (it *keyItem) at(rev int64) int {
	i := sort.Search(len(it.revs), func(i int) bool { return it.revs[i].main > rev })
	return i - 1
}

// live returns the rec visible at rev, or nil when the key is absent at rev.
func (it *keyItem) live(rev int64) *rec {
	i := it.at(rev)
	if i < 0 || it.revs[i].tomb() {
		return nil
	}
	return &it.revs[i]
}

// find returns the rec with exactly (main, sub), or nil.
func (it *keyItem) find(main, sub int64) *rec {
	i := sort.Search(len(it.revs), func(i int) bool {
		r := &it.revs[i]
		return r.main > main || (r.main == main && r.sub >= sub)
	})
	if i < len(it.revs) && it.revs[i].main == main && it.revs[i].sub == sub {
		return &it.revs[i]
	}
	return nil
}

// firstRetained returns the index of the first rec that is logically
// retained after compaction at compactRev: the newest rec at or below it
// unless that is a tombstone, and everything above it. It returns
// len(revs) when nothing is retained.
func (it *keyItem) firstRetained(compactRev int64) int {
	i := it.at(compactRev)
	if i < 0 {
		return 0
	}
	if it.revs[i].tomb() {
		return i + 1
	}
	return i
}

// toKV builds the KeyValue of a put rec.
func (r *rec) toKV(key string) *KeyValue {
	return &KeyValue{
		Key:            []byte(key),
		CreateRevision: r.create,
		ModRevision:    r.main,
		Version:        r.version,
		Value:          r.value,
		Lease:          r.lease,
	}
}

// keyRange is a validated key interval. end == "" with all == false means
// the single key; all == true means every key >= start.
type keyRange struct {
	start string
	end   string
	all   bool
	point bool
}

// contains reports whether key k is inside kr.
func (kr keyRange) contains(k string) bool {
	if kr.point {
		return k == kr.start
	}
	if k < kr.start {
		return false
	}
	return kr.all || k < kr.end
}

// ascend calls fn for every item of t inside kr, in key order, until fn
// returns false.
func (kr keyRange) ascend(t *btree.BTreeG[keyItem], fn func(it keyItem) bool) {
	if kr.point {
		if it, ok := t.Get(keyItem{key: kr.start}); ok {
			fn(it)
		}
		return
	}
	if kr.all {
		t.AscendGreaterOrEqual(keyItem{key: kr.start}, fn)
		return
	}
	if kr.end <= kr.start {
		return
	}
	t.AscendRange(keyItem{key: kr.start}, keyItem{key: kr.end}, fn)
}
