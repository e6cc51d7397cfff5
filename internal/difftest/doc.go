// Package difftest holds shelf's differential test against real etcd: a
// seeded random sequence of etcd v3 JSON requests (puts, ranges with every
// option, deletes, nested txns, compactions at past, compacted and future
// revisions, lease grant/revoke/keepalive/timetolive/list and attachment,
// watches from old revisions) is sent to a 3-member in-process shelf
// cluster, round-robin over its members so that forwarded writes and
// linearizable reads on followers are exercised, and to a single etcd 3.4
// (internal/etcdtest). Every answer must be the same: HTTP status, and the
// JSON body field by field, apart from the header's cluster_id, member_id
// and raft_term, which name the member that answered. A few answers are
// normalised further, each narrowly and for a reason the op sequence does
// not decide (compare_test.go, watch_test.go): the order of lease lists,
// a remaining TTL within 2 s, how a watch splits its events into messages.
//
// Run it with
//
//	go test ./internal/difftest -run TestDifferential -v [-difftest.seed=N] [-difftest.ops=N]
//
// The default is 10,000 ops (1,000 with -short) on a seed taken from the
// clock and logged. On a difference the test prints the seed, the op, both
// answers and the smallest op sequence it could find that still shows a
// difference: the ops up to the differing one are shrunk by delta debugging,
// each candidate replayed against a fresh etcd and a fresh shelf cluster
// (at most -difftest.shrink replays), and the result is printed with curl
// lines. Seeds that once failed are replayed by TestRegressionSeeds.
//
// Serializable ranges and lease keepalives (answered from the member's own
// state) are sent to the member that answered the last successful write or
// linearizable read: elsewhere they may lag behind, which is what
// serializable means, not a difference. Ranges sorted by a target other than
// the key stay within one prefix: the order of ties beyond 12 keys depends
// on the Go version's sort.Sort (gen_test.go). The README's "Differential
// test against etcd" lists all of it.
//
// The package has no non-test code; it is its own package so the test's
// helpers (generator, systems, comparison, shrinker) are not mixed into
// server/ or server/v3http.
package difftest
