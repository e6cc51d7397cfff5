// Package client is the Go client of shelf's KV REST API (etcd's v3 JSON
// gateway: POST /v3/kv/range, /v3/kv/put, /v3/kv/deleterange, /v3/kv/txn,
// /v3/kv/compaction, /v3/maintenance/status, /v3/cluster/member/*). It
// imports only the standard library and works against etcd as well.
//
// # Calls
//
// Get, Put, Delete, Txn(ctx).If(...).Then(...).Else(...).Commit(),
// Compact, Status, MemberList, MemberAdd, MemberAddAsLearner,
// MemberRemove and MemberPromote mirror the REST calls one to one, with
// typed responses (Header, KeyValue with int64 revisions). Watch streams
// a key or range and resumes on another member after a failure (watch.go).
//
// # Errors
//
// A member's refusal is an *Error carrying etcd's gRPC Code, etcd's
// message verbatim, the HTTP status and the endpoint. It unwraps to a
// sentinel when the message is one etcd defines (ErrCompacted,
// ErrFutureRev, ErrEmptyKey, ErrDuplicateKey, ErrNoLeader, ErrTimeout,
// ErrLeaderChanged, ErrNoSpace, ErrTooLarge, ...), so callers write
// errors.Is(err, client.ErrCompacted). A call that ran out of time while
// retrying returns an error that wraps both the context's error
// (context.DeadlineExceeded) and the last failure.
//
// # Deadlines
//
// Every call is bounded: by its context's deadline, or by
// Config.RequestTimeout when the context has none. One attempt of a read
// on one member is also bounded by Config.AttemptTimeout, so a member
// that accepts connections and never answers (partitioned, stuck) costs
// at most that before the next member is tried. Connecting is bounded by
// Config.DialTimeout.
//
// # Endpoints and retries
//
// Endpoints are tried in order from the "pinned" one: the last that
// answered. A member that fails (refuses connections, cuts them, times
// out, answers Unavailable) is un-pinned, so the next call starts at the
// next endpoint. After a round over every endpoint has failed, the client
// pauses before the next round: 25ms doubling per round up to 500ms, each
// pause drawn uniformly from [d/2, d].
//
// Whether a failed attempt is retried depends on whether repeating it
// could apply it twice:
//
//   - Reads (Get, MemberList, a Txn with no Put or Delete at any depth)
//     are retried on another member after any transport failure (refused,
//     reset or cut connection, attempt timeout, unreadable answer) and
//     after any answer with code Unavailable (no leader, request timed
//     out, leader changed, server stopped, learner), until the deadline.
//     Other answers (compacted, future revision, invalid argument, ...)
//     are final: another member would say the same.
//   - Writes (Put, Delete, Compact, a Txn with a Put or Delete, member
//     add/remove/promote) are retried ONLY when the failure proves the
//     write was not applied, that is in exactly two cases:
//     1. the connection could not be established (the dial failed:
//     refused, unreachable, name not resolved, dial timeout), so no
//     byte of the request left the client. (net/http itself replays a
//     request whose idle pooled connection turned out dead before a
//     byte was written; that is the same case.)
//     2. the member answered "etcdserver: no leader", which shelf returns
//     only when raft refuses the proposal at once (no leader known, or
//     the proposal dropped), before anything is appended to any log.
//     Every other failure of a write is returned at once, without a
//     retry, because the write may have been applied: a timeout (the
//     client's or the member's "request timed out"), a connection cut
//     after the request was sent, "leader changed", a 200 answer whose
//     body could not be read. Such an error wraps ErrOutcomeUnknown; the
//     caller must read back to learn the outcome (or make the write
//     conditional with a Txn on ModRevision and retry that).
//   - One consequence: connections are kept alive (HTTP/1.1), and a
//     write sent on a kept-alive connection at the moment its member
//     closes it (stopped, crashed) fails with ErrOutcomeUnknown, because
//     HTTP/1.1 cannot tell "closed before reading the request" from
//     "closed after reading it". net/http itself only replays such
//     requests when they are idempotent. The next call skips the member.
//   - A TLS handshake failure is treated like a cut connection (final
//     for writes), although no request was sent: it is rare and usually
//     a configuration error that another member would repeat.
//
// Status is sent to the one endpoint it names, without failover.
package client
