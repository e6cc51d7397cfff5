package client

import (
	"errors"
	"fmt"
)

// Code is a gRPC status code as etcd's gateway writes it in the "code"
// field of an error body (numbered as google.golang.org/grpc/codes).
type Code int32

// The gRPC codes etcd's API uses. Never renumber: they are on the wire.
const (
	CodeOK                 Code = 0
	CodeCanceled           Code = 1
	CodeUnknown            Code = 2
	CodeInvalidArgument    Code = 3
	CodeDeadlineExceeded   Code = 4
	CodeNotFound           Code = 5
	CodeAlreadyExists      Code = 6
	CodePermissionDenied   Code = 7
	CodeResourceExhausted  Code = 8
	CodeFailedPrecondition Code = 9
	CodeAborted            Code = 10
	CodeOutOfRange         Code = 11
	CodeUnimplemented      Code = 12
	CodeInternal           Code = 13
	CodeUnavailable        Code = 14
	CodeDataLoss           Code = 15
	CodeUnauthenticated    Code = 16
)

// String names the code as gRPC does ("OutOfRange").
func (c Code) String() string {
	names := [...]string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
		"NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
		"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}
	if c >= 0 && int(c) < len(names) {
		return names[c]
	}
	return fmt.Sprintf("Code(%d)", int32(c))
}

// Sentinels for etcd's common server errors. An *Error whose message is
// etcd's text for one of these unwraps to it, so callers test with
// errors.Is(err, client.ErrCompacted) whatever endpoint answered.
var (
	ErrCompacted         = errors.New("client: required revision has been compacted")
	ErrFutureRev         = errors.New("client: required revision is a future revision")
	ErrEmptyKey          = errors.New("client: key is not provided")
	ErrKeyNotFound       = errors.New("client: key not found")
	ErrDuplicateKey      = errors.New("client: duplicate key given in txn request")
	ErrTooManyOps        = errors.New("client: too many operations in txn request")
	ErrLeaseNotFound     = errors.New("client: requested lease not found")
	ErrNoLeader          = errors.New("client: no leader")
	ErrNotLeader         = errors.New("client: not leader")
	ErrLeaderChanged     = errors.New("client: leader changed")
	ErrTimeout           = errors.New("client: request timed out")
	ErrStopped           = errors.New("client: server stopped")
	ErrUnhealthy         = errors.New("client: unhealthy cluster")
	ErrTooManyRequests   = errors.New("client: too many requests")
	ErrNoSpace           = errors.New("client: database space exceeded")
	ErrTooLarge          = errors.New("client: request is too large")
	ErrNotForLearner     = errors.New("client: rpc not supported for learner")
	ErrCorrupt           = errors.New("client: corrupt cluster")
	ErrInvalidSortOption = errors.New("client: invalid sort option")
)

// Client-side errors (never sent by a member).
var (
	// ErrInvalidConfig: New was given a Config it cannot use; the
	// wrapping text names the field and the value.
	ErrInvalidConfig = errors.New("client: invalid config")
	// ErrInvalidOp: an option, compare or op was malformed (for example
	// an unknown compare operator); nothing was sent.
	ErrInvalidOp = errors.New("client: invalid operation")
	// ErrOutcomeUnknown: a write failed in a way that does not say
	// whether it was applied (connection cut after the request was sent,
	// timeout, "leader changed"); it was not retried. Read back, or make
	// the write conditional (Txn on ModRevision), to learn the outcome.
	ErrOutcomeUnknown = errors.New("client: write outcome unknown")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("client: closed")
	// ErrBadResponse: a member answered with a body that is not etcd's
	// JSON for the call (wrong shape, not JSON at all).
	ErrBadResponse = errors.New("client: bad response")
)

// sentinelFor maps etcd's rpctypes message (as status.go on the server
// writes it) to the sentinel above, or nil.
func sentinelFor(msg string) error {
	switch msg {
	case "etcdserver: mvcc: required revision has been compacted":
		return ErrCompacted
	case "etcdserver: mvcc: required revision is a future revision":
		return ErrFutureRev
	case "etcdserver: key is not provided":
		return ErrEmptyKey
	case "etcdserver: key not found":
		return ErrKeyNotFound
	case "etcdserver: duplicate key given in txn request":
		return ErrDuplicateKey
	case "etcdserver: too many operations in txn request":
		return ErrTooManyOps
	case "etcdserver: requested lease not found":
		return ErrLeaseNotFound
	case "etcdserver: no leader":
		return ErrNoLeader
	case "etcdserver: not leader":
		return ErrNotLeader
	case "etcdserver: leader changed":
		return ErrLeaderChanged
	case "etcdserver: request timed out",
		"etcdserver: request timed out, possibly due to previous leader failure",
		"etcdserver: request timed out, possibly due to connection lost":
		return ErrTimeout
	case "etcdserver: server stopped":
		return ErrStopped
	case "etcdserver: unhealthy cluster":
		return ErrUnhealthy
	case "etcdserver: too many requests":
		return ErrTooManyRequests
	case "etcdserver: mvcc: database space exceeded":
		return ErrNoSpace
	case "etcdserver: request is too large":
		return ErrTooLarge
	case "etcdserver: rpc not supported for learner":
		return ErrNotForLearner
	case "etcdserver: corrupt cluster":
		return ErrCorrupt
	case "etcdserver: invalid sort option":
		return ErrInvalidSortOption
	}
	return nil
}

// Error is an error answered by a member: etcd's gRPC code and message,
// the HTTP status and the endpoint that sent it. It unwraps to one of the
// sentinels above when the message is one etcd defines.
type Error struct {
	Code       Code   // gRPC code from the body
	Message    string // etcd's message, verbatim
	HTTPStatus int    // HTTP status of the answer
	Endpoint   string // the member's URL
}

func (e *Error) Error() string {
	return fmt.Sprintf("client: %s answered %v (HTTP %d): %s", e.Endpoint, e.Code, e.HTTPStatus, e.Message)
}

// Unwrap returns the sentinel for Message, or nil.
func (e *Error) Unwrap() error { return sentinelFor(e.Message) }
