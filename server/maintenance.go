package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/server/v3http"
	"github.com/shelf-kv/shelf/snapshot"
)

// Maintenance operations of one member: hashes, defragmentation (a fresh
// snapshot and a WAL cut), client snapshots, leadership transfer, member
// peer URL updates, and the background loop that clears NOSPACE and runs
// the consistency check.

// maintState is the server's maintenance state.
type maintState struct {
	// compared counts the members' hashes the consistency check compared
	// with the leader's (equal or not).
	compared atomic.Uint64
	// raiseMu guards raised, which is closed when the NOSPACE raise in
	// flight (raiseNoSpace) is applied or failed; nil when none is.
	raiseMu sync.Mutex
	raised  chan struct{}
	// snapWaiters wait for the snapshot save in flight (raft loop only).
	snapWaiters []chan error
	// httpc asks other members for their hashes (consistency check); set
	// once, by hashClient.
	httpcOnce sync.Once
	httpc     *http.Client
}

// Errors of the maintenance API, with etcd's codes and texts.
var (
	ErrBadLeaderTransferee = statusErr(v3http.CodeFailedPrecondition, "etcdserver: bad leader transferee")
	ErrCorrupt             = v3http.ErrCorrupt
)

// onLoop runs f on the raft loop and returns once it has run.
func (s *Server) onLoop(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case s.loopc <- func() { f(); close(done) }:
	case <-ctx.Done():
		return ErrTimeout
	case <-s.stopc:
		return ErrStopped
	}
	<-done
	return nil
}

// HashKV hashes this member's keyspace at rev (0: the current revision):
// every retained revision up to rev. Members that applied the same entries
// and have the same compact revision give the same hash.
func (s *Server) HashKV(rev int64) (*mvcc.HashKVResponse, error) {
	return s.Store().HashKV(rev)
}

// Defragment is shelf's defragmentation (DESIGN.md decision 6): compacted
// history is already gone from memory, so it writes a fresh snapshot of the
// current state now and cuts the WAL before it (keeping
// SnapshotCatchUpEntries for slow followers), which is what gives disk
// space back. It returns once the snapshot is saved; with nothing applied
// since the last snapshot it returns at once.
func (s *Server) Defragment(ctx context.Context) error {
	for {
		ch := make(chan error, 1)
		var fresh, upToDate bool
		var failed error
		err := s.onLoop(ctx, func() {
			applied := s.Store().AppliedIndex()
			switch {
			case s.snapshotting:
				s.maint.snapWaiters = append(s.maint.snapWaiters, ch) // wait, then go again
			case applied == s.snapIndex:
				upToDate = true
			case s.startSnapshot(applied):
				fresh = true
				s.maint.snapWaiters = append(s.maint.snapWaiters, ch)
			default:
				failed = fmt.Errorf("server: defragment: cannot snapshot at index %d", applied)
			}
		})
		switch {
		case err != nil:
			return err
		case failed != nil:
			return failed
		case upToDate:
			return nil
		}
		select {
		case err := <-ch:
			if err != nil {
				return fmt.Errorf("server: defragment: %w", err)
			}
			if fresh {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stopc:
			return ErrStopped
		}
	}
}

// notifySnapshotWaiters hands the outcome of a snapshot save to Defragment
// calls waiting for it (raft loop).
func (s *Server) notifySnapshotWaiters(err error) {
	for _, ch := range s.maint.snapWaiters {
		ch <- err
	}
	s.maint.snapWaiters = nil
}

// OpenSnapshot writes a consistent snapshot of this member (shelf's
// snapshot file format) to a temporary file in dir and returns it opened at
// its start, already unlinked (nothing is left behind, even by a crash
// while it is read), with its size; the caller closes it. The point-in-time
// view is taken on the raft loop in O(1); the file is written while writes
// go on.
func (s *Server) OpenSnapshot(ctx context.Context, dir string) (*os.File, int64, error) {
	var view *mvcc.View
	var meta snapshot.Meta
	var terr error
	err := s.onLoop(ctx, func() {
		view = s.Store().View()
		applied := view.Header().AppliedIndex
		term, err := s.storage.Term(applied)
		if err != nil {
			terr = fmt.Errorf("server: snapshot: no term for applied index %d: %w", applied, err)
			return
		}
		meta = snapshot.Meta{ClusterID: s.clusterID, Term: term, ConfState: s.confState, Members: s.encodeSnapBlob()}
	})
	if err == nil {
		err = terr
	}
	if err != nil {
		return nil, 0, err
	}
	f, err := os.CreateTemp(dir, "shelf-snapshot-*.snap.tmp")
	if err != nil {
		return nil, 0, err
	}
	os.Remove(f.Name()) // the open file stays readable until closed
	_, st, err := snapshot.Write(f, meta, view, snapshot.Options{Logger: s.log})
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.FileBytes, nil
}

// MoveLeader hands leadership to target and returns once target leads (or
// fails with ErrTimeout). Only the leader can do it: elsewhere it is
// etcd's "not leader". A target that is not a voting member is etcd's
// "bad leader transferee".
func (s *Server) MoveLeader(ctx context.Context, target raftpb.NodeID) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if s.Leader() != s.id {
		return v3http.ErrNotLeader
	}
	if m, ok := s.members.get(target); !ok || m.IsLearner {
		return ErrBadLeaderTransferee
	}
	if target == s.id {
		return nil
	}
	var notLeader bool
	if err := s.onLoop(ctx, func() {
		if notLeader = !s.isLeader; !notLeader {
			s.rn.TransferLeader(target)
		}
	}); err != nil {
		return err
	}
	if notLeader {
		return v3http.ErrNotLeader
	}
	tick := time.NewTicker(s.cfg.HeartbeatInterval)
	defer tick.Stop()
	for s.Leader() != target {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ErrTimeout
		case <-s.stopc:
			return ErrStopped
		}
	}
	return nil
}

// UpdateMember replaces a member's peer URLs through raft; every member's
// transport re-dials the member at its new URLs.
func (s *Server) UpdateMember(ctx context.Context, id raftpb.NodeID, peerURLs []string) error {
	if len(peerURLs) == 0 {
		return ErrBadPeerURL
	}
	for _, u := range peerURLs {
		if err := checkURL(u); err != nil {
			return ErrBadPeerURL
		}
	}
	if err := s.linearizableWait(ctx); err != nil {
		return err
	}
	if _, ok := s.members.get(id); !ok {
		return ErrMemberNotFound
	}
	urls := sortedCopy(peerURLs)
	for _, m := range s.members.list() {
		if m.ID == id {
			continue
		}
		for _, a := range m.PeerURLs {
			for _, b := range urls {
				if a == b {
					return ErrPeerURLExists
				}
			}
		}
	}
	_, err := s.proposeAndWait(ctx, &request{MemberUpdate: &memberInfo{ID: id, PeerURLs: urls}})
	return err
}

// applyMemberUpdate applies a committed peer URL update (raft loop).
func (s *Server) applyMemberUpdate(u memberInfo) error {
	m, ok := s.members.get(u.ID)
	if !ok {
		return ErrMemberNotFound
	}
	m.PeerURLs = u.PeerURLs
	s.members.set(m)
	if u.ID != s.id && s.tr != nil {
		s.tr.AddPeer(u.ID, u.PeerURLs) // drops the old connection, dials the new URL
	}
	s.log.Info("member peer URLs updated", "member", u.ID.String(), "peer_urls", u.PeerURLs)
	return nil
}

// maintLoop runs in the background while the member runs: on the leader it
// clears NOSPACE once the keyspace is back under the quota, and runs the
// consistency check every CorruptCheckTime.
func (s *Server) maintLoop() {
	space := time.NewTicker(leaseCheckInterval)
	defer space.Stop()
	check := time.NewTicker(s.cfg.CorruptCheckTime)
	defer check.Stop()
	for {
		select {
		case <-s.stopc:
			return
		case <-space.C:
			if s.Leader() == s.id && s.alarms.active(alarmNoSpace) && s.Store().Status().SizeInUse <= s.cfg.QuotaBackendBytes {
				ctx, cancel := context.WithTimeout(context.Background(), s.requestTimeout())
				if err := s.clearNoSpace(ctx); err != nil {
					s.log.Debug("clearing NOSPACE", "err", err)
				}
				cancel()
			}
		case <-check.C:
			if s.Leader() == s.id {
				ctx, cancel := context.WithTimeout(context.Background(), s.requestTimeout())
				s.checkConsistency(ctx)
				cancel()
			}
		}
	}
}
