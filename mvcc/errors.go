package mvcc

import "errors"

// Sentinel errors. They carry etcd's message text where etcd has one, so the
// server can render etcd's error bodies from them; callers test them with
// errors.Is because most are wrapped with detail.
var (
	// ErrCompacted: the requested revision is below the compact revision.
	ErrCompacted = errors.New("mvcc: required revision has been compacted")
	// ErrFutureRev: the requested revision is above the current revision.
	ErrFutureRev = errors.New("mvcc: required revision is a future revision")
	// ErrIndexApplied: the raft index of a mutating call is <= the applied
	// index; the call was ignored (idempotent replay).
	ErrIndexApplied = errors.New("mvcc: raft index already applied")
	// ErrClosed: the store (or watch stream) was closed.
	ErrClosed = errors.New("mvcc: closed")

	// ErrNilRequest: a nil request pointer was passed.
	ErrNilRequest = errors.New("mvcc: nil request")
	// ErrEmptyKey: a request or compare has an empty key.
	ErrEmptyKey = errors.New("etcdserver: key is not provided")
	// ErrInvalidRangeEnd: range_end sorts before key (shelf rejects it).
	ErrInvalidRangeEnd = errors.New("mvcc: range_end is before key")
	// ErrInvalidSortOption: unknown sort order or sort target.
	ErrInvalidSortOption = errors.New("etcdserver: invalid sort option")
	// ErrNegativeRevision: a revision argument is negative.
	ErrNegativeRevision = errors.New("mvcc: negative revision")
	// ErrValueProvided: ignore_value is set and a value was given.
	ErrValueProvided = errors.New("etcdserver: value is provided")
	// ErrLeaseProvided: ignore_lease is set and a lease was given.
	ErrLeaseProvided = errors.New("etcdserver: lease is provided")
	// ErrKeyNotFound: ignore_value/ignore_lease on a missing key, or an
	// empty operation in a txn (etcd uses the same text for both).
	ErrKeyNotFound = errors.New("etcdserver: key not found")
	// ErrDuplicateKey: a txn writes the same key twice in one branch.
	ErrDuplicateKey = errors.New("etcdserver: duplicate key given in txn request")
	// ErrTooManyOps: a txn has more compares or operations than allowed.
	ErrTooManyOps = errors.New("etcdserver: too many operations in txn request")
	// ErrTxnTooDeep: txns are nested deeper than Config.MaxTxnDepth.
	ErrTxnTooDeep = errors.New("mvcc: txn nested too deep")
	// ErrInvalidCompare: unknown compare target or compare result.
	ErrInvalidCompare = errors.New("mvcc: invalid compare")

	// ErrLeaseNotFound: the lease does not exist (or has expired).
	ErrLeaseNotFound = errors.New("etcdserver: requested lease not found")
	// ErrLeaseExists: a lease with that ID was already granted.
	ErrLeaseExists = errors.New("etcdserver: lease already exists")
	// ErrLeaseTTLTooLarge: TTL above MaxLeaseTTL.
	ErrLeaseTTLTooLarge = errors.New("etcdserver: too large lease TTL")
	// ErrInvalidLease: lease ID 0 or a TTL <= 0 at grant.
	ErrInvalidLease = errors.New("mvcc: invalid lease")
	// ErrNotPrimary: keepalive on a store whose lessor is not primary
	// (not the leader).
	ErrNotPrimary = errors.New("mvcc: not a primary lessor")

	// ErrWatcherNotExist: cancel of an unknown watch ID.
	ErrWatcherNotExist = errors.New("mvcc: watcher does not exist")
	// ErrDuplicateWatchID: the caller chose a watch ID already in use.
	ErrDuplicateWatchID = errors.New("mvcc: duplicate watch ID provided on the WatchStream")
	// ErrInvalidWatch: a malformed watch request (bad key, range or filter).
	ErrInvalidWatch = errors.New("mvcc: invalid watch request")

	// ErrRestore: a restore record stream is malformed.
	ErrRestore = errors.New("mvcc: invalid restore stream")
)
