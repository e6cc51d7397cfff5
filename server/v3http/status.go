package v3http

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/shelf-kv/shelf/mvcc"
)

// Code is a gRPC status code, numbered as in google.golang.org/grpc/codes.
// Never renumber: the numbers are on the wire ("code" in error bodies).
type Code int32

// The gRPC codes etcd's API uses.
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

var codeNames = [...]string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
	"NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
	"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}

func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", int32(c))
}

// HTTPStatus is the HTTP status etcd 3.4's gateway (grpc-gateway 1.9) sends
// for c. Checked against etcd where etcd can produce the code:
// FailedPrecondition is 412 there (newer gateways send 400).
func (c Code) HTTPStatus() int {
	switch c {
	case CodeOK:
		return http.StatusOK
	case CodeCanceled:
		return http.StatusRequestTimeout
	case CodeInvalidArgument, CodeOutOfRange:
		return http.StatusBadRequest
	case CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case CodeNotFound:
		return http.StatusNotFound
	case CodeAlreadyExists, CodeAborted:
		return http.StatusConflict
	case CodePermissionDenied:
		return http.StatusForbidden
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	case CodeResourceExhausted:
		return http.StatusTooManyRequests
	case CodeFailedPrecondition:
		return http.StatusPreconditionFailed
	case CodeUnimplemented:
		return http.StatusNotImplemented
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError // Unknown, Internal, DataLoss, anything else
}

// Status is a gRPC status: what etcd's gateway puts in an error body.
type Status struct {
	Code    Code
	Message string
}

func (s Status) String() string { return fmt.Sprintf("%v: %s", s.Code, s.Message) }

// statusRule maps one sentinel to the status etcd sends for it.
type statusRule struct {
	err    error
	status Status
}

// statusRules lists every sentinel with an etcd counterpart, in the order
// StatusOf tries them (the first errors.Is match wins). Messages are etcd's
// rpctypes texts, which etcd clients compare verbatim.
var statusRules = [...]statusRule{
	{mvcc.ErrCompacted, Status{CodeOutOfRange, "etcdserver: mvcc: required revision has been compacted"}},
	{mvcc.ErrFutureRev, Status{CodeOutOfRange, "etcdserver: mvcc: required revision is a future revision"}},
	{mvcc.ErrEmptyKey, Status{CodeInvalidArgument, "etcdserver: key is not provided"}},
	{mvcc.ErrKeyNotFound, Status{CodeInvalidArgument, "etcdserver: key not found"}},
	{mvcc.ErrValueProvided, Status{CodeInvalidArgument, "etcdserver: value is provided"}},
	{mvcc.ErrLeaseProvided, Status{CodeInvalidArgument, "etcdserver: lease is provided"}},
	{mvcc.ErrDuplicateKey, Status{CodeInvalidArgument, "etcdserver: duplicate key given in txn request"}},
	{mvcc.ErrTooManyOps, Status{CodeInvalidArgument, "etcdserver: too many operations in txn request"}},
	{mvcc.ErrInvalidSortOption, Status{CodeInvalidArgument, "etcdserver: invalid sort option"}},
	{mvcc.ErrLeaseNotFound, Status{CodeNotFound, "etcdserver: requested lease not found"}},
	{mvcc.ErrLeaseExists, Status{CodeFailedPrecondition, "etcdserver: lease already exists"}},
	{mvcc.ErrLeaseTTLTooLarge, Status{CodeOutOfRange, "etcdserver: too large lease TTL"}},
	{mvcc.ErrNotPrimary, Status{CodeFailedPrecondition, "etcdserver: not leader"}},
	{mvcc.ErrClosed, Status{CodeUnavailable, "etcdserver: server stopped"}},
	{ErrNoLeader, Status{CodeUnavailable, "etcdserver: no leader"}},
	{ErrNotLeader, Status{CodeFailedPrecondition, "etcdserver: not leader"}},
	{ErrLeaderChanged, Status{CodeUnavailable, "etcdserver: leader changed"}},
	{ErrTimeoutDueToLeaderFail, Status{CodeUnavailable, "etcdserver: request timed out, possibly due to previous leader failure"}},
	{ErrTimeoutDueToConnectionLost, Status{CodeUnavailable, "etcdserver: request timed out, possibly due to connection lost"}},
	{ErrTimeout, Status{CodeUnavailable, "etcdserver: request timed out"}},
	{ErrTooManyRequests, Status{CodeResourceExhausted, "etcdserver: too many requests"}},
	{ErrNoSpace, Status{CodeResourceExhausted, "etcdserver: mvcc: database space exceeded"}},
	{ErrRequestTooLarge, Status{CodeInvalidArgument, "etcdserver: request is too large"}},
	{ErrStopped, Status{CodeUnavailable, "etcdserver: server stopped"}},
	{ErrUnhealthy, Status{CodeUnavailable, "etcdserver: unhealthy cluster"}},
	{ErrNotSupportedForLearner, Status{CodeUnavailable, "etcdserver: rpc not supported for learner"}},
	{ErrCorrupt, Status{CodeDataLoss, "etcdserver: corrupt cluster"}},
	{context.DeadlineExceeded, Status{CodeDeadlineExceeded, "context deadline exceeded"}},
	{context.Canceled, Status{CodeCanceled, "context canceled"}},
}

// shelfInvalid are mvcc's errors for input etcd accepts or has no message
// for (see mvcc's doc.go): InvalidArgument with the error's own text.
var shelfInvalid = [...]error{
	mvcc.ErrNilRequest, mvcc.ErrInvalidRangeEnd, mvcc.ErrNegativeRevision, mvcc.ErrTxnTooDeep,
	mvcc.ErrInvalidCompare, mvcc.ErrInvalidOp, mvcc.ErrInvalidLease, mvcc.ErrInvalidWatch,
	mvcc.ErrWatcherNotExist, mvcc.ErrDuplicateWatchID,
}

// StatusOf maps an error from a Backend (or from request decoding) to the
// gRPC status etcd sends for it. It is the single place that knows etcd's
// error texts; the member reuses it for every API it serves.
//
//   - nil is OK;
//   - a *StatusError is its own status;
//   - mvcc's and this package's sentinels (wrapped or not) get etcd's code
//     and message, ignoring any wrapping detail;
//   - mvcc's shelf-only validation errors are InvalidArgument with their
//     full text;
//   - context errors are DeadlineExceeded / Canceled, as gRPC reports them;
//   - anything else is Unknown with the error's text, as gRPC reports a
//     plain error returned by an etcd handler.
func StatusOf(err error) Status {
	if err == nil {
		return Status{Code: CodeOK}
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	for _, r := range statusRules {
		if errors.Is(err, r.err) {
			return r.status
		}
	}
	for _, e := range shelfInvalid {
		if errors.Is(err, e) {
			return Status{CodeInvalidArgument, err.Error()}
		}
	}
	return Status{CodeUnknown, err.Error()}
}

// StatusError carries an explicit status through an error chain, for
// failures that have no sentinel (JSON decoding errors, size limits).
type StatusError struct {
	Status Status
}

func (e *StatusError) Error() string { return "v3http: " + e.Status.String() }

// invalidArgument wraps a decoding error as InvalidArgument with the
// error's text, which is what etcd's gateway does.
func invalidArgument(err error) error {
	return &StatusError{Status{CodeInvalidArgument, err.Error()}}
}
