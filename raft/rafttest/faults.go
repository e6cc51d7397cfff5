package rafttest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/shelf-kv/shelf/raft"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// faults injects the random faults and client operations of one step of the
// fault phase, each with the probability the seed's profile gives it.
func (s *sim) faults() {
	p := &s.prof
	r := s.rng
	if p.crashP > 0 && r.Float64() < p.crashP {
		s.crashOne()
	}
	if p.partitionP > 0 && r.Float64() < p.partitionP {
		s.partition()
	}
	if p.isolateP > 0 && r.Float64() < p.isolateP {
		if l := s.leader(); l != nil {
			s.isolate(l)
		}
	}
	s.isolateDue()
	if p.healP > 0 && r.Float64() < p.healP && len(s.net.cut) > 0 {
		s.net.heal()
		s.note(0, "network healed")
	}
	if r.Float64() < p.proposeP {
		if n := s.randomUp(); n != nil {
			_, _ = s.propose(n)
		}
	}
	if r.Float64() < p.readP {
		if n := s.randomUp(); n != nil {
			s.readIndex(n)
		}
	}
	if r.Float64() < p.confP && s.step >= s.confBusyUntil {
		at := s.leader()
		if at == nil || r.IntN(4) == 0 {
			at = s.randomUp()
		}
		if at != nil {
			s.proposeConfChange(at)
		}
	}
	if r.Float64() < p.transferP {
		if l := s.leader(); l != nil && len(s.conf.Voters) > 1 {
			to := s.conf.Voters[r.IntN(len(s.conf.Voters))]
			if s.aux.IntN(5) == 0 {
				// Any member, a learner, a removed one or itself.
				to = s.ids[s.aux.IntN(len(s.ids))]
			}
			at := l
			if f := s.randomUp(); f != nil && s.aux.IntN(4) == 0 {
				at = f // asked of a follower: forwarded
			}
			s.note(at.id, "transfer leadership to %d", to)
			at.rn.TransferLeader(to)
		}
	}
	s.snapshots()
}

// isolation is a pending cut of a new leader.
type isolation struct {
	at   int
	id   raftpb.NodeID
	term raftpb.Term
}

// newLeader is called the first time a member is seen leading a term; it
// may schedule the member's isolation (isolateNewP).
func (s *sim) newLeader(n *node, term raftpb.Term) {
	if s.settling || s.prof.isolateNewP == 0 || s.rng.Float64() >= s.prof.isolateNewP {
		return
	}
	s.isolations = append(s.isolations, isolation{at: s.step + s.rng.IntN(2*s.prof.maxDelay+1), id: n.id, term: term})
}

// isolateDue cuts off the scheduled leaders that still lead their term.
func (s *sim) isolateDue() {
	kept := s.isolations[:0]
	for _, iso := range s.isolations {
		if iso.at > s.step {
			kept = append(kept, iso)
			continue
		}
		if n := s.nodes[iso.id]; n.up && n.state == raft.StateLeader && n.hs.Term == iso.term {
			s.isolate(n)
		}
	}
	s.isolations = kept
}

// isolate cuts n off from every other member, both ways.
func (s *sim) isolate(n *node) {
	var rest []raftpb.NodeID
	for _, id := range s.ids {
		if id != n.id {
			rest = append(rest, id)
		}
	}
	s.net.partition([]raftpb.NodeID{n.id}, rest)
	s.res.Partitions++
	s.note(n.id, "leader isolated; network cuts now %v", s.net.cuts())
}

// snapshots lets idle members that applied enough since their last snapshot
// create one and compact their log.
func (s *sim) snapshots() {
	for _, id := range s.ids {
		n := s.nodes[id]
		if !n.up || n.pending != nil || n.applied < n.snapIndex+raftpb.Index(s.prof.snapEvery) {
			continue
		}
		if n.applied <= n.disk.written.snap.Metadata.Index || s.rng.Float64() >= s.prof.snapP {
			continue
		}
		if err := n.snapshot(); err != nil {
			s.failf(InvLibrary, "member %d: %v", n.id, err)
			return
		}
		s.res.Snapshots++
	}
}

// lifecycle restarts crashed members whose time has come and stops removed
// members whose time has come.
func (s *sim) lifecycle() {
	for _, id := range s.ids {
		n := s.nodes[id]
		switch {
		case n.removed && n.up && s.step >= n.stopAt:
			if err := n.stop(); err != nil {
				s.failf(InvLibrary, "stopping removed member %d: %v", id, err)
				return
			}
			s.note(id, "stopped (removed from the group)")
		case !n.up && !n.removed && s.step >= n.restartAt:
			s.restart(n)
		}
	}
}

func (s *sim) restart(n *node) {
	if err := n.start(); err != nil {
		s.failf(InvLibrary, "restarting member %d: %v", n.id, err)
		return
	}
	s.note(n.id, "restarted (incarnation %d) from synced state: hs=%+v snapshot=%d log=%d..%d",
		n.incarnation, n.hs, n.disk.synced.snap.Metadata.Index, n.disk.synced.base+1, n.disk.synced.lastIndex())
}

// crashOne crashes a random live member, unless too many are down already.
func (s *sim) crashOne() {
	down := 0
	for _, id := range s.ids {
		if n := s.nodes[id]; !n.up && !n.removed {
			down++
		}
	}
	if down >= s.prof.maxDown {
		return
	}
	n := s.randomUp()
	if l := s.leader(); l != nil && s.rng.Float64() < s.prof.leaderP {
		n = l
	}
	if n == nil {
		return
	}
	lost := n.disk.dirty
	if err := n.crash(); err != nil {
		s.failf(InvLibrary, "crashing member %d: %v", n.id, err)
		return
	}
	n.restartAt = s.step + 1 + s.rng.IntN(20*s.prof.electionTick)
	if s.rng.Float64() < s.prof.quickP {
		n.restartAt = s.step + 1 + s.rng.IntN(s.prof.electionTick)
	}
	s.res.Crashes++
	s.note(n.id, "CRASH (unsynced writes lost: %v), restart at step %d", lost, n.restartAt)
}

// partition cuts the network: a random two-way split, an isolated member,
// or a one-way cut.
func (s *sim) partition() {
	ids := s.ids
	switch s.rng.IntN(3) {
	case 0:
		var a, b []raftpb.NodeID
		for _, id := range ids {
			if s.rng.IntN(2) == 0 {
				a = append(a, id)
			} else {
				b = append(b, id)
			}
		}
		s.net.partition(a, b)
	case 1:
		x := ids[s.rng.IntN(len(ids))]
		var rest []raftpb.NodeID
		for _, id := range ids {
			if id != x {
				rest = append(rest, id)
			}
		}
		s.net.partition([]raftpb.NodeID{x}, rest)
	default:
		a, b := ids[s.rng.IntN(len(ids))], ids[s.rng.IntN(len(ids))]
		if a != b {
			s.net.cutOneWay(a, b)
		}
	}
	s.res.Partitions++
	s.note(0, "network cuts now %v", s.net.cuts())
}

// randomUp returns a random live member that is not being removed, or nil.
func (s *sim) randomUp() *node {
	var up []*node
	for _, id := range s.ids {
		if n := s.nodes[id]; n.up && !n.removed {
			up = append(up, n)
		}
	}
	if len(up) == 0 {
		return nil
	}
	return up[s.rng.IntN(len(up))]
}

// leader returns the live member that believes it leads in the highest
// term, or nil.
func (s *sim) leader() *node {
	var best *node
	for _, id := range s.ids {
		n := s.nodes[id]
		if n.up && n.state == raft.StateLeader && (best == nil || n.hs.Term > best.hs.Term) {
			best = n
		}
	}
	return best
}

// settle heals every fault and checks liveness and durability: within
// SettleTimeouts election timeouts a leader must be elected, a fresh proposal
// must commit, and every member of the committed membership must apply
// everything that was ever acknowledged.
func (s *sim) settle() {
	s.settling = true
	// A healthy system: no cuts, no loss, no duplicates, one-step delays,
	// clocks ticking every step, drivers taking every Ready, all members up.
	s.net.heal()
	s.net.dropP, s.net.dupP, s.net.maxDelay, s.net.longP = 0, 0, 1, 0
	s.prof.tickP, s.prof.readyP = 1, 1
	for _, id := range s.ids {
		if n := s.nodes[id]; !n.up && !n.removed {
			n.restartAt = s.step
		}
	}
	// A healthy disk too: fsyncs complete within a step.
	s.prof.maxFsync = min(s.prof.maxFsync, 1)
	// The bound: SettleTimeouts election timeouts, plus time to drain the
	// uncommitted backlog the faults left behind when flow control allows
	// only one entry per round trip (MaxSizePerMsg 1 byte, a window of one
	// message): a round trip costs about 4 steps (2 network, 2 fsync).
	bound := SettleTimeouts * s.prof.electionTick
	if backlog := s.backlog(); s.prof.maxSizePerMsg == 1 && backlog > 0 {
		bound += 4 * int(backlog) * max(1, 4/s.prof.maxInflight)
	}
	s.note(0, "SETTLE: faults healed, every member restarted; liveness bound %d steps", bound)
	var (
		final   uint64
		lastErr error
		refuser *node
	)
	lastTry := -1 << 30
	start := s.step
	for ; s.step < start+bound && s.fail == nil; s.step++ {
		// Propose a fresh write at the leader; if it has not been
		// acknowledged two election timeouts later (dropped by a leader
		// change), propose another one.
		if final == 0 || (!s.props[final].acked && s.step-lastTry > 2*s.prof.electionTick) {
			if l := s.leader(); l != nil {
				seq, err := s.propose(l)
				if seq != 0 {
					final, lastTry = seq, s.step
				} else {
					lastErr, refuser = err, l
				}
			}
		}
		s.runStep(false)
		// Done when the fresh write is acknowledged and every member has
		// applied every acknowledged write (maxAck covers the fresh one).
		if final != 0 && s.props[final].acked && s.caughtUp(s.maxAck) {
			return
		}
	}
	if s.fail != nil {
		return
	}
	what := "no leader was elected"
	switch {
	case final == 0 && refuser != nil:
		what = fmt.Sprintf("the leader refused every fresh proposal (last: member %d: %v)", refuser.id, lastErr)
	case final != 0 && !s.props[final].acked:
		what = fmt.Sprintf("proposal p%d was not committed and applied on its proposer", final)
	case final != 0:
		what = fmt.Sprintf("not every member applied up to %d (the highest acknowledged write)", s.maxAck)
		s.failf(InvAckedDurable, "%d steps after the faults healed, %s:\n%s", bound, what, s.statusDump())
		return
	}
	s.failf(InvLiveness, "%d steps (%d election timeouts) after the faults healed, %s:\n%s",
		bound, SettleTimeouts, what, s.statusDump())
}

// backlog is how far the longest log runs past the highest commit index.
func (s *sim) backlog() raftpb.Index {
	var last, commit raftpb.Index
	for _, id := range s.ids {
		n := s.nodes[id]
		last = max(last, n.disk.written.lastIndex())
		commit = max(commit, n.hs.Commit)
	}
	if last < commit {
		return 0
	}
	return last - commit
}

// caughtUp reports whether every member of the committed membership is up
// and has applied index.
func (s *sim) caughtUp(index raftpb.Index) bool {
	for _, id := range s.ids {
		n := s.nodes[id]
		if s.isMember(id) && (!n.up || n.applied < index) {
			return false
		}
	}
	return true
}

// statusDump describes every member for a liveness failure.
func (s *sim) statusDump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  committed membership (index %d): %s\n", s.confIndex, confKey(s.conf))
	for _, id := range s.ids {
		n := s.nodes[id]
		fmt.Fprintf(&b, "  member %d: up=%v removed=%v state=%s lead=%d hs=%+v applied=%d log=%d..%d conf=%s",
			id, n.up, n.removed, n.state, n.lead, n.hs, n.applied, n.disk.written.base+1, n.disk.written.lastIndex(), confKey(n.conf))
		if n.up {
			st := n.rn.Status()
			fmt.Fprintf(&b, " status{term=%d commit=%d applied=%d transferee=%d voters=%v learners=%v}",
				st.Term, st.Commit, st.Applied, st.LeadTransferee, st.Voters, st.Learners)
			for _, pid := range slices.Sorted(maps.Keys(st.Progress)) {
				pr := st.Progress[pid]
				fmt.Fprintf(&b, "\n      progress %d: match=%d next=%d state=%v pendingSnap=%d active=%v learner=%v inflight=%d",
					pid, pr.Match, pr.Next, pr.State, pr.PendingSnapshot, pr.RecentActive, pr.IsLearner, pr.Inflight)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
