// Package v3http serves etcd's v3 JSON API for the KV service
// (POST /v3/kv/range, /v3/kv/put, /v3/kv/deleterange, /v3/kv/txn,
// /v3/kv/compaction), the streaming POST /v3/watch (handler_watch.go), the
// lease service (/v3/lease/* and its /v3/kv/lease/ aliases,
// handler_lease.go) and /v3/maintenance/status, byte-compatible with the
// grpc-gateway of etcd 3.4 (Debian's etcd-server, our oracle): same paths,
// same JSON field names and order, same error bodies and HTTP statuses.
//
// The package owns only HTTP and JSON. The data path is a Backend (backend.go)
// that the member implements on top of raft; StoreBackend (backend_store.go)
// implements it directly on an mvcc.Store for tests and single-process use.
// The rest of maintenance (alarm, hash, hashkv, defragment, snapshot,
// transfer-leadership) and the cluster endpoints are served by the member
// itself (server/maintenancehttp.go, server/clusterhttp.go).
//
// # Wire format (as observed on etcd 3.4.23)
//
//   - Request bodies are decoded the way golang/protobuf 1.3's jsonpb does
//     it: the body's first JSON value is read (trailing bytes are ignored; an
//     empty body is an empty request), objects are read into a map (the last
//     duplicate key wins), then known fields are decoded in protobuf field
//     order, so the first bad field in that order names the error. Both the
//     proto name ("range_end") and the camelCase name ("rangeEnd") are
//     accepted, camelCase winning when both are present. Unknown fields are
//     ignored. null leaves a field unset.
//   - int64 fields accept a JSON number or a string holding one ("5", 5);
//     the string's quotes are dropped and its content parsed as JSON, so
//     "null" is 0 and "1e0" is an error, as in etcd.
//   - Enums accept their name ("DESCEND") or a number; an unknown name is an
//     error, an unknown number is passed on (and then rejected by mvcc).
//   - bytes are standard base64 with padding (URL-safe or unpadded input is
//     "illegal base64 data"); JSON string escapes such as "\n" are skipped.
//   - Responses use proto field names (snake_case for KV, camelCase for the
//     status fields, which etcd's .proto spells that way), int64 and uint64
//     as decimal strings, zero values omitted, bytes as padded base64. The
//     header of a top-level response carries cluster_id, member_id,
//     revision and raft_term; headers nested in a txn carry only revision.
//   - Errors are {"error": msg, "message": msg, "code": grpcCode} with the
//     HTTP status grpc-gateway 1.9 derives from the code (StatusOf, status.go).
//
// # Request size
//
// Config.MaxRequestBytes (etcd's --max-request-bytes, default 1.5 MiB) is
// applied like etcd applies it: a request whose protobuf encoding exceeds
// MaxRequestBytes + 512 KiB (etcd's gRPC receive limit) is ResourceExhausted
// "grpc: received message larger than max (N vs. M)" with N the protobuf
// size, computed exactly (reqsize.go); a write (put, delete, write txn,
// compaction) whose raft entry would exceed MaxRequestBytes is
// InvalidArgument "etcdserver: request is too large". Bodies are read at most
// up to 4 x (MaxRequestBytes + 512 KiB); a longer body is ResourceExhausted
// with N = the bytes read so far, without decoding it.
//
// # Deliberate differences from etcd 3.4
//
//   - An unknown sort order or sort target is InvalidArgument "etcdserver:
//     invalid sort option" (etcd 3.5's answer). etcd 3.4 ignores an unknown
//     order and crashes the whole process on an unknown target.
//   - A null element in compare/success/failure is an empty message (so
//     "etcdserver: key is not provided" / "etcdserver: key not found");
//     etcd 3.4's gateway panics and closes the connection without a reply.
//   - A RequestOp setting several of request_range/put/delete_range/txn is
//     InvalidArgument "mvcc: invalid request op"; etcd keeps a random one.
//     A compare setting several of version/create_revision/mod_revision/
//     value/lease uses the one its target names; etcd keeps a random one.
//   - mvcc's stricter rules (see mvcc's doc.go) surface as InvalidArgument
//     with mvcc's message: compare targets or results outside the enums,
//     txns nested deeper than mvcc's MaxTxnDepth. The handler brings back
//     the lenient etcd rules mvcc does not have, before calling the
//     Backend: a negative revision of a top-level range reads the current
//     revision, a negative compaction revision is "compacted", and a
//     range_end that sorts before key (other than "\x00") is an empty range
//     in ranges, deletes and compares at any depth.
//   - Inherited from mvcc, found by the differential test (the generator
//     steers clear of them; see gen_test.go): etcd 3.4 accepts a compaction
//     at revision 0 or below until the first real compaction (its compact
//     revision starts at -1), mvcc answers "compacted"; in a txn, etcd
//     checks every put (lease, ignore_*) of the branch taken before any
//     range revision, mvcc checks ops in order, so a txn failing both ways
//     names a different error; a negative range revision inside a txn is
//     "compacted" in etcd once any compaction ran (and the current revision
//     before), mvcc's "negative revision" always; a delete to "\x00" in a
//     txn conflicts with puts of the same branch in mvcc, not in etcd.
//   - compaction's physical flag is accepted and ignored: shelf's compaction
//     never changes an answer at or above the compact revision, so there is
//     nothing to wait for.
//   - The size limit on writes compares an estimate of etcd's raft entry
//     (the request's protobuf size plus its InternalRaftRequest framing,
//     reqsize.go) with MaxRequestBytes; etcd's framing varies by one byte
//     with its request IDs, so a write within one byte of the limit may be
//     judged differently. Only put and delete are pre-validated before the
//     size check (empty key, value or lease with ignore_*), as etcd does; a
//     too large txn is "too large" even when it is also malformed. A body
//     longer than the read cap is refused without decoding, so its error
//     reports the bytes read instead of the protobuf size, and a malformed
//     or key-less body that large gets the size error rather than the
//     decoding error.
//   - /v3/watch: requests are read while responses stream (etcd 3.4's
//     gateway answers only once the body is complete); one response may
//     carry several whole revisions; a stream's buffer is bounded and a
//     watcher the client is behind on is canceled with OverflowReason (etcd
//     buffers without bound); a negative start_revision follows etcd except
//     below -1 before any compaction and after a compaction at revision 1
//     (LenientWatchStart); progress responses are sent once every watcher
//     has caught up, so they never overtake an event (etcd 3.4 sends a
//     requested one at once). Fragmented responses are never sent. A
//     WatchStream the Backend ends with an error (a shelf member: no leader
//     for a while, on every stream; etcd only with WithRequireLeader) ends
//     the response with the gateway's error line, and a refused stream gets
//     it with the code's HTTP status, as etcd's gateway sends them.
//   - No CORS headers and no "Grpc-Metadata-*" headers; no /v3beta/ or
//     /v3alpha/ aliases. Unknown paths and methods get net/http's plain
//     404/405, as the gateway does.
package v3http
