package server

import (
	"sync"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// A member cut off from the leader keeps serving its watch streams from
// its own store, which no longer changes: the watchers would wait
// forever, unaware that the cluster goes on without them. etcd ends the
// watch streams of clients that ask for it (WithRequireLeader) with
// "etcdserver: no leader" once its member has had no leader for a while,
// and refuses their new streams; shelf does so for every watch stream.
//
// raft clears the leader when a follower starts a (pre-)election, which
// happens one randomized election timeout after it last heard from the
// leader; a leader that loses its quorum steps down (CheckQuorum) and
// clears it too. watchLeaderLoop polls the leader every heartbeat:
//
//   - once the member has had no leader for longer than an election
//     timeout, new watch streams are refused (an ordinary election is
//     over by then);
//   - once it has had none for longer than watchNoLeaderEnd election
//     timeouts, the guard's lost channel is closed: every memberWatch
//     selects on it and fails with ErrNoLeader. This is etcd's rule
//     (maxNoLeaderCnt: "we are more conservative on canceling existing
//     streams"); it also spares the streams of a member that restarted
//     and is still catching up with a leader that has not reached it.
//
// Both stop as soon as a leader is known again (newMemberWatch clears the
// guard itself when it sees a leader, so the polling never refuses a
// watch in the heartbeat after an election).

// watchNoLeaderEnd is how many election timeouts without a leader end
// the member's watch streams (etcd's maxNoLeaderCnt).
const watchNoLeaderEnd = 3

// watchLeaderGuard publishes "leaderless for too long" to watch streams.
// The zero value is ready: a leader is assumed until the loop says
// otherwise.
type watchLeaderGuard struct {
	mu struct {
		sync.Mutex
		// refuse: leaderless for longer than an election timeout.
		refuse bool
		// lost is closed while the member has been leaderless for
		// longer than watchNoLeaderEnd election timeouts, and replaced
		// by an open channel once a leader is known again. nil means
		// an open one not made yet.
		// Invariant: closed implies refuse.
		lost   chan struct{}
		isLost bool
	}
}

// current returns the channel a new stream watches, and whether new
// streams are refused.
func (g *watchLeaderGuard) current() (<-chan struct{}, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.mu.lost == nil {
		g.mu.lost = make(chan struct{})
	}
	return g.mu.lost, g.mu.refuse
}

// set records how long the member has been leaderless (0: it has a
// leader); it returns whether the streams' state changed.
func (g *watchLeaderGuard) set(leaderless, electionTimeout time.Duration) bool {
	refuse := leaderless > electionTimeout
	lost := leaderless > watchNoLeaderEnd*electionTimeout
	g.mu.Lock()
	defer g.mu.Unlock()
	changed := g.mu.refuse != refuse || g.mu.isLost != lost
	g.mu.refuse = refuse
	if g.mu.isLost == lost {
		return changed
	}
	g.mu.isLost = lost
	if lost {
		if g.mu.lost == nil {
			g.mu.lost = make(chan struct{})
		}
		close(g.mu.lost)
	} else {
		g.mu.lost = make(chan struct{})
	}
	return changed
}

// watchLeaderLoop polls the leader every heartbeat interval until the
// member stops and sets s.watchGuard (see above). The member counts as
// leaderless from its start until it first learns a leader.
func (s *Server) watchLeaderLoop() {
	t := time.NewTicker(s.cfg.HeartbeatInterval)
	defer t.Stop()
	since := time.Now() // when the leader was first seen unknown; zero while known
	for {
		select {
		case <-s.stopc:
			return
		case <-t.C:
		}
		if s.Leader() != raftpb.None {
			since = time.Time{}
			if s.watchGuard.set(0, s.cfg.ElectionTimeout) {
				s.log.Info("watch: a leader is known again; watches are served")
			}
			continue
		}
		if since.IsZero() {
			since = time.Now()
		}
		d := time.Since(since)
		if s.watchGuard.set(d, s.cfg.ElectionTimeout) {
			s.log.Warn("watch: no leader; refusing new watches, and ending watch streams with \"etcdserver: no leader\" after "+
				"3 election timeouts", "leaderless_for", d.Round(time.Millisecond), "ending", d > watchNoLeaderEnd*s.cfg.ElectionTimeout)
		}
	}
}
