package server

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft"
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/snapshot"
	"github.com/shelf-kv/shelf/wal"
)

// Server is one running member: a raft node on a WAL, an mvcc store, the
// loop that drives them, and the peer transport. Create it with New, start
// it with Start, stop it with Stop.
//
// Goroutines: the raft loop (run) owns the RawNode, the WAL's write side,
// the apply step and everything marked "raft loop" below; the read loop
// turns linearizable reads into ReadIndex requests; snapshot saves run on
// their own goroutine and report back to the raft loop. Everything else
// talks to the raft loop through channels.
type Server struct {
	cfg       Config
	log       *slog.Logger
	id        raftpb.NodeID
	clusterID uint64
	snapDir   string

	w       *wal.WAL
	storage *raftStorage
	store   atomic.Pointer[mvcc.Store]
	members *memberSet
	tr      *peerTransport
	m       *metrics

	propc    chan proposal
	recvc    chan raftpb.Message
	readc    chan readIndexRequest
	unreachc chan raftpb.NodeID // peers a message to was lost (transport feedback)
	// snapReports holds snapshot outcomes for the raft loop; unlike
	// unreachable reports they must never be dropped (raft would wait on
	// that follower forever), and they may be made from inside the raft
	// loop itself (the transport may report synchronously), so they are
	// recorded under a mutex and the loop is kicked through snapKick.
	snapReports struct {
		sync.Mutex
		m map[raftpb.NodeID]bool
	}
	snapKick chan struct{}
	snapc    chan snapDone
	loopc    chan func() // work run on the raft loop (onLoop)
	stopc    chan struct{}
	donec    chan struct{}
	stopped  sync.Once
	shutdown sync.Once

	initial     []Member
	http        *http.Server
	clientAddrs []string

	waits   *waitRegistry
	reads   *readBatcher
	applied *appliedNotifier
	reqID   atomic.Uint64

	// leader and term are published by the raft loop for readers.
	leader atomic.Uint64
	term   atomic.Uint64
	// fatal is the first unrecoverable error (a WAL failure); the member
	// stops serving once it is set.
	fatal atomic.Pointer[error]

	incoming  incomingSnapshots
	alarms    *alarmSet
	maint     maintState
	installed atomic.Uint64 // index of the last snapshot installed from a leader

	// watchGuard ends watch streams once the member has had no leader
	// for too long (watch_leader.go).
	watchGuard watchLeaderGuard

	// Raft loop state.
	rn           *raft.RawNode
	confState    raftpb.ConfState
	snapIndex    raftpb.Index
	snapshotting bool
	isLeader     bool
	readCtxs     map[string]*readBatch
	leaseTicks   uint64           // ticks seen, for the lease check's period
	revoking     map[int64]uint64 // lease -> tick its revoke was proposed
}

// proposal is a client write on its way to rn.Propose.
type proposal struct {
	data []byte
	cc   *raftpb.ConfChange // a membership change instead of data
	errc chan error
}

// readIndexRequest asks the raft loop to issue rn.ReadIndex for a batch.
type readIndexRequest struct {
	ctx   []byte
	batch *readBatch
}

// New opens (or creates) the member's data directory, restores the newest
// snapshot and the WAL after it, and builds the raft node. It does not
// start any goroutine or listen anywhere: Start does.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	initial, err := ParseInitialCluster(cfg.InitialCluster, cfg.InitialClusterToken)
	if err != nil {
		return nil, err
	}
	self, err := findSelf(initial, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		id:        self.ID,
		clusterID: clusterID(cfg.InitialClusterToken),
		snapDir:   filepath.Join(cfg.DataDir, "snap"),
		members:   newMemberSet(),
		propc:     make(chan proposal, 4096),
		recvc:     make(chan raftpb.Message, 4096),
		readc:     make(chan readIndexRequest, 64),
		unreachc:  make(chan raftpb.NodeID, 256),
		snapKick:  make(chan struct{}, 1),
		snapc:     make(chan snapDone, 1),
		loopc:     make(chan func()),
		alarms:    newAlarmSet(),
		stopc:     make(chan struct{}),
		donec:     make(chan struct{}),
		waits:     newWaitRegistry(),
		applied:   newAppliedNotifier(),
		readCtxs:  make(map[string]*readBatch),
		revoking:  make(map[int64]uint64),
	}
	s.initial = initial
	s.log = cfg.Logger.With("member", cfg.Name, "id", s.id.String())
	s.reads = newReadBatcher(s)
	s.m = newMetrics(cfg.Registry, s)
	s.reqID.Store(uint64(s.id)<<48 | (uint64(time.Now().UnixMilli())<<8)&(1<<48-1))
	if err := s.open(initial); err != nil {
		if s.w != nil {
			s.w.Close()
		}
		return nil, err
	}
	return s, nil
}

// findSelf returns this member's entry in the initial cluster: the one named
// --name, whose peer URLs must be the advertised ones.
func findSelf(initial []Member, cfg Config) (Member, error) {
	for _, m := range initial {
		if m.Name == cfg.Name {
			want := append([]string(nil), cfg.AdvertisePeerURLs...)
			id := memberID(sortedCopy(want), cfg.InitialClusterToken)
			if id != m.ID {
				return m, fmt.Errorf("--initial-advertise-peer-urls %v do not match %q's URLs %v in --initial-cluster", want, cfg.Name, m.PeerURLs)
			}
			return m, nil
		}
	}
	return Member{}, fmt.Errorf("--name %q is not in --initial-cluster", cfg.Name)
}

// open restores state from disk, bootstrapping a new member if the data
// directory is empty.
func (s *Server) open(initial []Member) error {
	for _, d := range []string{s.cfg.DataDir, s.snapDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("--data-dir: %w", err)
		}
	}
	if err := snapshot.Purge(s.snapDir, 1<<30); err != nil { // only removes temp files here
		return err
	}
	store, meta, err := s.loadNewestSnapshot()
	if err != nil {
		return err
	}
	s.store.Store(store)
	w, err := wal.Open(filepath.Join(s.cfg.DataDir, "wal"), wal.Options{
		Logger: s.log, DiskProfile: s.cfg.DiskProfile, Metrics: s.cfg.Registry,
		Rand: rand.NewPCG(uint64(s.id), uint64(time.Now().UnixNano())),
	})
	if err != nil {
		return err
	}
	s.w = w
	snapMeta := raftpb.SnapshotMetadata{Index: meta.Index, Term: meta.Term, ConfState: meta.ConfState}
	s.storage = newRaftStorage(w, snapMeta)
	s.snapIndex = meta.Index
	s.confState = meta.ConfState
	if err := s.restoreSnapBlob(meta.Members); err != nil {
		return err
	}
	hs, err := w.HardState()
	if err != nil {
		return err
	}
	last, err := w.LastIndex()
	if err != nil {
		return err
	}
	fresh := hs.IsEmpty() && last == 0 && meta.Index == 0
	if fresh && s.cfg.InitialClusterState == "new" {
		if err := s.bootstrap(initial); err != nil {
			return err
		}
	}
	if !fresh && last < meta.Index {
		// The snapshot is ahead of the log (a crash after installing a
		// received snapshot, before the WAL reset): the log restarts there.
		if err := w.ResetTo(meta.Index, meta.Term); err != nil {
			return err
		}
		if hs.Commit < meta.Index {
			hs.Commit = meta.Index
			if err := w.Save(hs, nil); err != nil {
				return err
			}
		}
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID:                        s.id,
		ElectionTick:              int(s.cfg.ElectionTimeout / s.cfg.HeartbeatInterval),
		HeartbeatTick:             1,
		Storage:                   s.storage,
		Applied:                   meta.Index,
		MaxSizePerMsg:             1 << 20,
		MaxInflightMsgs:           256,
		MaxUncommittedEntriesSize: 1 << 30,
		AutoPromoteLearners:       true,
		Rand:                      rand.New(rand.NewPCG(uint64(s.id), uint64(time.Now().UnixNano()))),
		Logger:                    s.log,
	})
	if err != nil {
		return fmt.Errorf("server: raft: %w", err)
	}
	s.rn = rn
	s.applied.set(meta.Index)
	s.log.Info("member opened", "cluster", fmt.Sprintf("%x", s.clusterID), "snapshot_index", meta.Index,
		"revision", store.Rev(), "last_index", last, "term", hs.Term, "fresh", fresh)
	return nil
}

// bootstrap writes the initial membership as the first entries of the log,
// committed, exactly as every other member of a new cluster does: one
// AddNode per initial member at term 1.
func (s *Server) bootstrap(initial []Member) error {
	ents := make([]raftpb.Entry, 0, len(initial))
	for i, m := range initial {
		ctx, _ := json.Marshal(confContext{Member: memberInfo{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs}})
		cc := raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: m.ID, Context: ctx}
		ents = append(ents, raftpb.Entry{Term: 1, Index: raftpb.Index(i + 1), Type: raftpb.EntryConfChange, Data: cc.Marshal()})
	}
	hs := raftpb.HardState{Term: 1, Commit: raftpb.Index(len(ents))}
	if err := s.w.Save(hs, ents); err != nil {
		return err
	}
	s.log.Info("bootstrapped a new cluster", "members", len(initial))
	return nil
}

// loadNewestSnapshot restores the newest valid snapshot, or returns an
// empty store if there is none. A corrupt newest snapshot is an error: the
// WAL may already be cut past any older one, so falling back could lose
// acknowledged writes.
func (s *Server) loadNewestSnapshot() (*mvcc.Store, snapshot.Meta, error) {
	paths, err := snapshot.List(s.snapDir)
	if err != nil {
		return nil, snapshot.Meta{}, err
	}
	if len(paths) == 0 {
		st, err := mvcc.New(s.mvccConfig())
		return st, snapshot.Meta{}, err
	}
	st, meta, _, err := snapshot.Load(paths[len(paths)-1], s.mvccConfig(), snapshot.Options{Logger: s.log})
	if err != nil {
		return nil, meta, err
	}
	if meta.ClusterID != s.clusterID {
		st.Close()
		return nil, meta, fmt.Errorf("snapshot %s belongs to cluster %x, this member is in cluster %x (check --initial-cluster and --initial-cluster-token)",
			paths[len(paths)-1], meta.ClusterID, s.clusterID)
	}
	return st, meta, nil
}

// maxTxnOpsCeiling is the txn op limit of the apply step. It is the same on
// every member whatever their --max-txn-ops (which each member checks
// before proposing), so members configured differently never apply the
// same entry differently.
const maxTxnOpsCeiling = 1 << 20

func (s *Server) mvccConfig() mvcc.Config {
	return mvcc.Config{Clock: wallClock{}, Logger: s.log, MaxTxnOps: maxTxnOpsCeiling}
}

// ID returns this member's ID; ClusterID the cluster's.
func (s *Server) ID() raftpb.NodeID { return s.id }
func (s *Server) ClusterID() uint64 { return s.clusterID }

// Leader returns the current leader as last seen (None if unknown).
func (s *Server) Leader() raftpb.NodeID { return raftpb.NodeID(s.leader.Load()) }

// Term returns the current raft term as last seen.
func (s *Server) Term() uint64 { return s.term.Load() }

// Store returns the current mvcc store (it changes when a snapshot is
// installed).
func (s *Server) Store() *mvcc.Store { return s.store.Load() }

// Err returns the fatal error that stopped the member, if any.
func (s *Server) Err() error {
	if p := s.fatal.Load(); p != nil {
		return *p
	}
	return nil
}

// Done is closed when the raft loop has exited.
func (s *Server) Done() <-chan struct{} { return s.donec }

var errStopped = ErrStopped

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func sortedCopy(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}
