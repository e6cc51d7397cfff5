package v3http

import (
	"context"
	"errors"

	"github.com/shelf-kv/shelf/mvcc"
)

// Backend is what the KV HTTP layer needs from a member. The member (raft
// proposals for writes, ReadIndex for linearizable reads) implements it;
// StoreBackend implements it directly on an mvcc.Store.
//
// Ownership: a request passed to a method belongs to the Backend for the
// length of the call; the handler never reads or changes it afterwards, and
// the Backend must not keep it after returning. A returned response belongs
// to the handler, which only reads it (its slices may be shared with the
// store and must stay unchanged while the handler encodes them).
//
// Concurrency: every method may be called from many goroutines at once (one
// per HTTP request). The Backend orders writes itself.
//
// Failure policy: a method returns either a response or an error, never
// both. Errors are rendered by StatusOf, so a Backend returns (possibly
// wrapped) mvcc sentinels for request-level failures (mvcc.ErrCompacted,
// mvcc.ErrLeaseNotFound, ...), this package's sentinels for cluster-level
// ones (ErrNoLeader, ErrTimeout, ErrNoSpace, ...), or ctx.Err() when the
// caller's context ended. Any other error becomes gRPC Unknown (HTTP 500)
// with the error's text, as etcd does with unexpected errors. When a write
// returns ErrTimeout or a context error, it may still be applied later:
// the client must not assume it failed (etcd's contract).
type Backend interface {
	// Range reads keys. r.Serializable = true allows a local, possibly
	// stale read; otherwise the read must be linearizable.
	Range(ctx context.Context, r *mvcc.RangeRequest) (*mvcc.RangeResponse, error)
	// Put writes one key and returns once the write is applied.
	Put(ctx context.Context, r *mvcc.PutRequest) (*mvcc.PutResponse, error)
	// DeleteRange deletes a key or range and returns once applied.
	DeleteRange(ctx context.Context, r *mvcc.DeleteRangeRequest) (*mvcc.DeleteRangeResponse, error)
	// Txn runs a transaction; a txn without put or delete at any depth
	// is a read and follows Range's consistency rule for its ranges
	// (linearizable unless every range in it is serializable).
	Txn(ctx context.Context, r *mvcc.TxnRequest) (*mvcc.TxnResponse, error)
	// Compact compacts the keyspace at rev. physical asks to return only
	// once the compacted revisions are gone (a member may ignore it: reads
	// at or above rev never change).
	Compact(ctx context.Context, rev int64, physical bool) (*mvcc.CompactResponse, error)
	// Status reports the member's state for /v3/maintenance/status.
	Status(ctx context.Context) (StatusInfo, error)
	// LeaseBackend serves /v3/lease/* (see handler_lease.go).
	LeaseBackend
	// Watch opens a watch stream for POST /v3/watch (see WatchStream).
	Watch(ctx context.Context) (WatchStream, error)
	// Header returns the identity part of a response header. It is called
	// after each successful call above and must not block.
	Header() HeaderInfo
}

// HeaderInfo is the part of etcd's ResponseHeader that the store does not
// know: which cluster and member answered, and in which raft term.
type HeaderInfo struct {
	ClusterID uint64
	MemberID  uint64
	RaftTerm  uint64
}

// StatusInfo is etcd's StatusResponse without its header. Revision goes into
// the response header (etcd reports the store's current revision there).
type StatusInfo struct {
	Revision         int64
	Version          string
	DBSize           int64
	DBSizeInUse      int64
	Leader           uint64
	RaftIndex        uint64
	RaftTerm         uint64
	RaftAppliedIndex uint64
	Errors           []string
	IsLearner        bool
}

// Sentinel errors a Backend returns for cluster-level failures. StatusOf
// renders each with etcd's gRPC code and message (given in each comment), so
// etcd clients recognise them; wrap them with %w to add detail for logs.
var (
	// ErrNoLeader: the member knows no leader. Unavailable, "etcdserver: no leader".
	ErrNoLeader = errors.New("v3http: no leader")
	// ErrNotLeader: the request needs the leader and this member is not it.
	// FailedPrecondition, "etcdserver: not leader".
	ErrNotLeader = errors.New("v3http: not leader")
	// ErrLeaderChanged: the leader changed while the request was in flight;
	// its outcome is unknown. Unavailable, "etcdserver: leader changed".
	ErrLeaderChanged = errors.New("v3http: leader changed")
	// ErrTimeout: the proposal or read did not complete in time; a write
	// may still be applied. Unavailable, "etcdserver: request timed out".
	ErrTimeout = errors.New("v3http: request timed out")
	// ErrTimeoutDueToLeaderFail: as ErrTimeout, after the previous leader
	// failed. Unavailable, "etcdserver: request timed out, possibly due to
	// previous leader failure".
	ErrTimeoutDueToLeaderFail = errors.New("v3http: request timed out, possibly due to previous leader failure")
	// ErrTimeoutDueToConnectionLost: as ErrTimeout, after losing the
	// connection to the leader. Unavailable, "etcdserver: request timed
	// out, possibly due to connection lost".
	ErrTimeoutDueToConnectionLost = errors.New("v3http: request timed out, possibly due to connection lost")
	// ErrTooManyRequests: too many proposals are pending (applied index far
	// behind committed). ResourceExhausted, "etcdserver: too many requests".
	ErrTooManyRequests = errors.New("v3http: too many requests")
	// ErrNoSpace: the NOSPACE alarm is raised (quota exceeded); writes are
	// refused until space is back. ResourceExhausted, "etcdserver: mvcc:
	// database space exceeded".
	ErrNoSpace = errors.New("v3http: database space exceeded")
	// ErrRequestTooLarge: the proposal exceeds the maximum request size.
	// InvalidArgument, "etcdserver: request is too large".
	ErrRequestTooLarge = errors.New("v3http: request is too large")
	// ErrStopped: the member is shutting down. Unavailable, "etcdserver:
	// server stopped".
	ErrStopped = errors.New("v3http: server stopped")
	// ErrUnhealthy: the cluster cannot serve (e.g. a quorum is lost).
	// Unavailable, "etcdserver: unhealthy cluster".
	ErrUnhealthy = errors.New("v3http: unhealthy cluster")
	// ErrNotSupportedForLearner: a learner got a request only voters serve.
	// Unavailable, "etcdserver: rpc not supported for learner".
	ErrNotSupportedForLearner = errors.New("v3http: rpc not supported for learner")
	// ErrCorrupt: the member detected data corruption. DataLoss,
	// "etcdserver: corrupt cluster".
	ErrCorrupt = errors.New("v3http: corrupt cluster")
)
