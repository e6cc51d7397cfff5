package server

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft"
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/snapshot"
)

// snapDone reports a finished snapshot save to the raft loop.
type snapDone struct {
	meta snapshot.Meta
	err  error
}

// maybeSnapshot starts a snapshot save once SnapshotCount entries were
// applied since the last one. The view is taken here, on the raft loop, in
// O(1); the file is written on another goroutine while writes go on.
func (s *Server) maybeSnapshot() {
	applied := s.Store().AppliedIndex()
	if s.snapshotting || applied < s.snapIndex+raftpb.Index(s.cfg.SnapshotCount) {
		return
	}
	s.startSnapshot(applied)
}

// startSnapshot starts saving a snapshot at applied (the store's applied
// index), unless one is being saved; it reports whether it started one.
// It runs on the raft loop.
func (s *Server) startSnapshot(applied raftpb.Index) bool {
	if s.snapshotting {
		return false
	}
	term, err := s.w.Term(applied)
	if err != nil {
		s.log.Warn("cannot snapshot: no term for the applied index", "index", applied, "err", err)
		return false
	}
	s.snapshotting = true
	view := s.Store().View()
	meta := snapshot.Meta{ClusterID: s.clusterID, Term: term, ConfState: s.confState, Members: s.encodeSnapBlob()}
	go func() {
		start := time.Now()
		_, meta, _, err := snapshot.Save(s.snapDir, meta, view, snapshot.Options{Logger: s.log})
		if err == nil {
			s.m.snapshotSave.Observe(time.Since(start).Seconds())
		}
		select {
		case s.snapc <- snapDone{meta: meta, err: err}:
		case <-s.stopc:
		}
	}()
	return true
}

// snapshotDone runs on the raft loop after a save: raft may now send the
// new snapshot, and the WAL before it (less a margin for slow followers) and
// older snapshot files are dropped.
func (s *Server) snapshotDone(d snapDone) {
	s.snapshotting = false
	defer s.notifySnapshotWaiters(d.err)
	if d.err != nil {
		s.log.Error("snapshot failed; will retry", "err", d.err)
		return
	}
	s.snapIndex = d.meta.Index
	s.storage.setSnapshot(raftpb.SnapshotMetadata{Index: d.meta.Index, Term: d.meta.Term, ConfState: d.meta.ConfState})
	if d.meta.Index > raftpb.Index(s.cfg.SnapshotCatchUpEntries) {
		cut := d.meta.Index - raftpb.Index(s.cfg.SnapshotCatchUpEntries)
		if first, err := s.w.FirstIndex(); err == nil && cut >= first {
			if err := s.w.CompactTo(cut); err != nil {
				s.die(fmt.Errorf("server: WAL compaction: %w", err))
				return
			}
			s.log.Info("WAL compacted", "through", cut)
		}
	}
	if err := snapshot.Purge(s.snapDir, 2); err != nil {
		s.log.Warn("purging old snapshots", "err", err)
	}
}

// incomingSnapshots holds stores restored from snapshots a leader sent,
// until raft hands the snapshot to the raft loop in a Ready.
type incomingSnapshots struct {
	mu    sync.Mutex
	store map[raftpb.Index]incoming
}

type incoming struct {
	store *mvcc.Store
	meta  snapshot.Meta
}

// receiveSnapshot is the transport's snapshot handler: it streams the body
// into a snapshot file while restoring a store from it (one pass), and only
// when both succeeded steps the message into raft.
func (s *Server) receiveSnapshot(m raftpb.Message, body io.Reader) error {
	if m.Snapshot == nil {
		return fmt.Errorf("server: MsgSnap without a snapshot")
	}
	md := m.Snapshot.Metadata
	name := snapshot.FileName(md.Term, md.Index)
	f, err := os.CreateTemp(s.snapDir, name+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	store, meta, _, err := snapshot.Read(io.TeeReader(body, f), s.mvccConfig(), snapshot.Options{Logger: s.log})
	if err == nil && (meta.Index != md.Index || meta.Term != md.Term || meta.ClusterID != s.clusterID) {
		store.Close()
		err = fmt.Errorf("server: received snapshot %d/%d of cluster %x, expected %d/%d of %x",
			meta.Term, meta.Index, meta.ClusterID, md.Term, md.Index, s.clusterID)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.snapDir, name))
	}
	if err != nil {
		if store != nil {
			store.Close()
		}
		return fmt.Errorf("server: receiving snapshot %s: %w", name, err)
	}
	s.incoming.mu.Lock()
	if s.incoming.store == nil {
		s.incoming.store = make(map[raftpb.Index]incoming)
	}
	// A restored store that raft refused (stale: at or below what this
	// member has applied, so never installable) is dropped here, so refused
	// snapshots do not pin whole stores in memory.
	applied := s.applied.get()
	for i, old := range s.incoming.store {
		if i == md.Index || i <= applied {
			old.store.Close()
			delete(s.incoming.store, i)
		}
	}
	s.incoming.store[md.Index] = incoming{store: store, meta: meta}
	s.incoming.mu.Unlock()
	s.log.Info("received snapshot", "index", md.Index, "term", md.Term, "from", m.From.String())
	select {
	case s.recvc <- m:
		return nil
	case <-s.stopc:
		return errStopped
	}
}

// installSnapshot runs on the raft loop when raft accepted a snapshot: the
// store restored on receipt replaces the current one, and the WAL restarts
// after the snapshot's index.
func (s *Server) installSnapshot(snap raftpb.Snapshot) error {
	md := snap.Metadata
	s.incoming.mu.Lock()
	in, ok := s.incoming.store[md.Index]
	delete(s.incoming.store, md.Index)
	for i, other := range s.incoming.store {
		if i < md.Index {
			other.store.Close()
			delete(s.incoming.store, i)
		}
	}
	s.incoming.mu.Unlock()
	if !ok {
		return fmt.Errorf("server: raft installed snapshot %d/%d that this member never received", md.Term, md.Index)
	}
	if err := s.w.ResetTo(md.Index, md.Term); err != nil {
		return fmt.Errorf("server: WAL reset to snapshot: %w", err)
	}
	old := s.store.Swap(in.store)
	if old != nil {
		old.Close()
	}
	if err := s.restoreSnapBlob(in.meta.Members); err != nil {
		s.log.Error("snapshot members", "err", err)
	}
	for _, mi := range s.members.list() {
		if mi.ID != s.id && s.tr != nil {
			s.tr.AddPeer(mi.ID, mi.PeerURLs)
		}
	}
	s.confState = md.ConfState
	s.snapIndex = md.Index
	s.storage.setSnapshot(md)
	s.applied.set(md.Index)
	s.installed.Store(uint64(md.Index))
	if s.isLeader {
		in.store.Promote(s.cfg.ElectionTimeout)
	}
	s.log.Info("installed snapshot", "index", md.Index, "term", md.Term, "revision", in.store.Rev())
	return nil
}

// sendSnapshot streams the snapshot file raft asked for to m.To.
func (s *Server) sendSnapshot(m raftpb.Message) {
	md := m.Snapshot.Metadata
	path := filepath.Join(s.snapDir, snapshot.FileName(md.Term, md.Index))
	f, err := os.Open(path)
	if err != nil {
		s.log.Warn("snapshot to send is gone", "path", path, "err", err)
		s.reportSnapshot(m.To, false)
		return
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		s.reportSnapshot(m.To, false)
		return
	}
	s.log.Info("sending snapshot", "to", m.To.String(), "index", md.Index, "bytes", fi.Size())
	s.tr.SendSnapshot(m, f, fi.Size())
}

func (s *Server) reportSnapshot(id raftpb.NodeID, ok bool) {
	s.snapReports.Lock()
	if s.snapReports.m == nil {
		s.snapReports.m = make(map[raftpb.NodeID]bool)
	}
	s.snapReports.m[id] = ok
	s.snapReports.Unlock()
	select {
	case s.snapKick <- struct{}{}:
	default: // a kick is already pending; it will see this report
	}
}

// deliverSnapshotReports hands every recorded snapshot outcome to raft. It
// runs on the raft loop.
func (s *Server) deliverSnapshotReports() {
	s.snapReports.Lock()
	m := s.snapReports.m
	s.snapReports.m = nil
	s.snapReports.Unlock()
	for id, ok := range m {
		status := raft.SnapshotFinish
		if !ok {
			status = raft.SnapshotFailure
		}
		s.rn.ReportSnapshot(id, status)
	}
}

// snapIndexSeen returns the index of the last snapshot installed from a
// leader (0 if none), for tests and status.
func (s *Server) snapIndexSeen() uint64 { return s.installed.Load() }
