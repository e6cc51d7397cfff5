package mvcc

import (
	"fmt"
	"sort"
	"time"
)

// leaseTime exercises lease deadlines on the fake clock: time passes,
// keepalives, leadership changes, and the leader revoking what Expired
// reports (as the server does through raft).
func (d *differ) leaseTime() {
	m, clk := d.m, d.s.clock
	switch d.rng.Intn(6) {
	case 0:
		clk.Advance(time.Duration(d.rng.Intn(60_000)) * time.Millisecond)
	case 1:
		id := int64(1 + d.rng.Intn(6))
		got, err := d.s.LeaseRenew(id)
		var werr error
		want := int64(-1)
		switch exp, ok := m.expiry[id]; {
		case !m.primary:
			werr = ErrNotPrimary
		case m.leases[id] == 0 || !ok || !clk.Now().Before(exp):
			werr = ErrLeaseNotFound
		default:
			want = m.leases[id]
			m.expiry[id] = clk.Now().Add(time.Duration(want) * time.Second)
		}
		d.check(fmt.Sprintf("renew %d", id), fmt.Sprint(got), err, fmt.Sprint(want), werr)
	case 2:
		if d.rng.Intn(2) == 0 {
			d.s.Demote()
			m.primary = false
			m.expiry = map[int64]time.Time{}
			return
		}
		extend := time.Duration(d.rng.Intn(3)) * time.Second
		d.s.Promote(extend)
		m.primary = true
		for id, ttl := range m.leases {
			m.expiry[id] = clk.Now().Add(extend + time.Duration(ttl)*time.Second)
		}
	default:
		got := d.s.Expired()
		want := m.expired(clk.Now())
		if fmt.Sprint(got) != fmt.Sprint(want) {
			d.t.Fatalf("expired %v, model %v", got, want)
		}
		if len(got) > 0 {
			d.nexpired++
			r, err := d.s.LeaseRevoke(d.s.next(), got[0])
			rev, werr := m.Revoke(got[0])
			if err != nil || werr != nil || r.Header.Revision != rev {
				d.t.Fatalf("revoke expired %d: %+v %v, model %d %v", got[0], r, err, rev, werr)
			}
		}
	}
}

// expired lists the model's leases past their deadline, earliest first.
func (m *model) expired(now time.Time) []int64 {
	var ids []int64
	for id, exp := range m.expiry {
		if m.primary && !exp.IsZero() && !now.Before(exp) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := m.expiry[ids[i]], m.expiry[ids[j]]
		if !a.Equal(b) {
			return a.Before(b)
		}
		return ids[i] < ids[j]
	})
	return ids
}
