package mvcc

import (
	"fmt"
	"sort"
)

// checkInvariants walks the whole store (like tidwall/btree's Sane) and
// returns the first broken invariant: revision order inside every key,
// generations (create/version), lease attachments, the revision log and
// the size accounting.
func (s *Store) checkInvariants() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var err error
	var bytes int64
	attached := map[int64]map[string]struct{}{}
	s.mu.tree.Ascend(func(it keyItem) bool {
		if len(it.revs) == 0 {
			err = fmt.Errorf("key %q has no revisions", it.key)
			return false
		}
		bytes += int64(len(it.key)) + itemOverhead
		for i := range it.revs {
			r := &it.revs[i]
			bytes += int64(len(r.value)) + recOverhead
			if r.main > s.mu.rev {
				err = fmt.Errorf("key %q: revision %d above current %d", it.key, r.main, s.mu.rev)
				return false
			}
			if i == 0 {
				continue
			}
			p := &it.revs[i-1]
			if p.main > r.main || p.main == r.main && p.sub >= r.sub {
				err = fmt.Errorf("key %q: revisions out of order at %d", it.key, i)
				return false
			}
			if !r.tomb() && !p.tomb() && (r.create != p.create || r.version != p.version+1) {
				err = fmt.Errorf("key %q: generation broken at %d/%d", it.key, r.main, r.sub)
				return false
			}
			if !r.tomb() && p.tomb() && (r.create != r.main || r.version != 1) {
				err = fmt.Errorf("key %q: re-creation at %d is not a new generation", it.key, r.main)
				return false
			}
		}
		if cur := it.live(s.mu.rev); cur != nil && cur.lease != 0 {
			if attached[cur.lease] == nil {
				attached[cur.lease] = map[string]struct{}{}
			}
			attached[cur.lease][it.key] = struct{}{}
		}
		return true
	})
	if err != nil {
		return err
	}
	if bytes != s.mu.bytesData {
		return fmt.Errorf("size accounting %d, recomputed %d", s.mu.bytesData, bytes)
	}
	for id, l := range s.mu.lessor.leases {
		if fmt.Sprint(sortedKeys(l.keys)) != fmt.Sprint(sortedKeys(attached[id])) {
			return fmt.Errorf("lease %d: attached %v, keys say %v", id, sortedKeys(l.keys), sortedKeys(attached[id]))
		}
		delete(attached, id)
	}
	if len(attached) > 0 {
		return fmt.Errorf("keys attached to missing leases: %v", attached)
	}
	log := s.mu.log
	if !sort.SliceIsSorted(log, func(i, j int) bool {
		return log[i].main < log[j].main || log[i].main == log[j].main && log[i].sub < log[j].sub
	}) {
		return fmt.Errorf("revision log out of order")
	}
	for _, e := range log {
		if e.main < s.mu.compactRev || e.tomb {
			continue
		}
		it, ok := s.mu.tree.Get(keyItem{key: e.key})
		if !ok || it.find(e.main, e.sub) == nil {
			return fmt.Errorf("log entry %q@%d/%d has no revision in the index", e.key, e.main, e.sub)
		}
	}
	if s.mu.swept > s.mu.compactRev || s.mu.compactRev > s.mu.rev {
		return fmt.Errorf("swept %d, compact %d, rev %d", s.mu.swept, s.mu.compactRev, s.mu.rev)
	}
	return nil
}
