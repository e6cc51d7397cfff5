package difftest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/shelf-kv/shelf/internal/etcdtest"
)

// op is one request of a sequence: raw etcd v3 JSON sent to the same path
// on both systems. Ops are plain data so a sequence can be replayed against
// fresh systems (the shrinker does that) and printed as curl lines.
type op struct {
	// Path is the endpoint, e.g. "/v3/kv/put"; Body the JSON body.
	Path, Body string
	// Member is the shelf member that receives the op (the generator
	// assigns them round-robin). A Local op goes to the freshest member
	// instead (see shelfSystem.do).
	Member int
	// Local marks an op a member answers from its own state without
	// catching up first: a range with serializable=true, a lease
	// keepalive (whose header revision is the member's own, as etcd's
	// followers answer). It may see a stale member, so it is sent where
	// it cannot be stale.
	Local bool
}

func (o op) String() string {
	return fmt.Sprintf("member %d: POST %s %s", o.Member, o.Path, o.Body)
}

// genKeys is the keyspace: 20 keys, with prefixes of each other and a
// 0xff key, so ranges, prefixes and txn conflicts collide often.
var genKeys = []string{
	"a", "a/1", "a/2", "a/3", "ab", "abc", "b", "b/1", "b/2", "b/3",
	"c", "c/1", "d", "foo", "foo/bar", "k1", "k2", "z", "zz", "\xff",
}

// setupLeases are granted (TTL far beyond any run) on both systems before
// the first op, so puts can attach them and compares can test them.
// notGranted is never granted: attaching it is "lease not found".
var setupLeases = []int64{7, 8}

const notGranted = 99

// gen produces a seeded random op sequence. Every op is valid JSON of the
// shape etcd expects; some are refused by etcd (compacted or future
// revisions, unknown leases, duplicate keys in a txn, empty keys) and the
// error answers are compared like any other. It stays clear of the inputs on
// which shelf deliberately differs from etcd 3.4 (server/v3http/doc.go,
// mvcc/doc.go): unknown enums, compactions at revision <= 0 before the first
// compaction, negative revisions inside txns, a txn failing both a put check
// and a range revision check, deletes to "\x00" inside txns.
type gen struct {
	rnd *rand.Rand
	// n counts generated ops; it assigns members round-robin.
	n int
	// cur and compacted track the oracle's revision and compact revision
	// (observe), so generated revisions land near the boundaries.
	cur, compacted int64
	// compactShare is the share of compaction slots that compact (the
	// rest read), drawn per seed: some seeds keep long histories for
	// old-revision reads and watches, others compact all the time.
	compactShare float64
}

func newGen(seed uint64) *gen {
	g := &gen{rnd: rand.New(rand.NewPCG(seed, seed^0xd1ff)), cur: 1}
	g.compactShare = 0.05 + 0.95*g.rnd.Float64()
	return g
}

// observe updates the generator's view of the oracle from its answer to o.
func (g *gen) observe(o op, a answer) {
	if a.status != 200 {
		return
	}
	if rev, ok := etcdtest.HeaderRevision(a.body); ok {
		g.cur = rev
	}
	if o.Path == "/v3/kv/compaction" {
		var req struct {
			Revision json.RawMessage `json:"revision"`
		}
		if json.Unmarshal([]byte(o.Body), &req) == nil {
			if v, err := strconv.ParseInt(strings.Trim(string(req.Revision), `"`), 10, 64); err == nil {
				g.compacted = v
			}
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func (g *gen) chance(p float64) bool       { return g.rnd.Float64() < p }
func (g *gen) pick(xs ...string) string    { return xs[g.rnd.IntN(len(xs))] }
func (g *gen) key() string                 { return genKeys[g.rnd.IntN(len(genKeys))] }
func (g *gen) field(name, v string) string { return fmt.Sprintf("%q:%s", name, v) }
func (g *gen) bytesField(name, v string) string {
	return fmt.Sprintf("%q:%q", name, b64(v))
}

// num formats an int64 as clients do: usually a string, sometimes a bare
// JSON number (the gateway accepts both).
func (g *gen) num(v int64) string {
	if g.chance(0.2) {
		return strconv.FormatInt(v, 10)
	}
	return strconv.Quote(strconv.FormatInt(v, 10))
}

// obj joins fields into a JSON object in a random order.
func (g *gen) obj(fields []string) string {
	g.rnd.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
	return "{" + strings.Join(fields, ",") + "}"
}

// leaseIDs are the IDs lease ops grant and revoke (explicit IDs only:
// etcd's random ID for ID 0 cannot be compared).
var leaseIDs = []int64{1, 2, 3, 4, 5, 6}

// lease returns a lease ID for a put or compare: 0 (none), a setup lease,
// one of leaseIDs (granted or not, by now), or one never granted.
func (g *gen) lease() int64 {
	switch x := g.rnd.IntN(10); {
	case x < 2:
		return 0
	case x < 6:
		return setupLeases[g.rnd.IntN(len(setupLeases))]
	case x < 9:
		return leaseIDs[g.rnd.IntN(len(leaseIDs))]
	}
	return notGranted
}

// anyLease returns an ID for grant, revoke or timetolive: mostly one of
// leaseIDs, sometimes a setup lease (granting it again is "lease already
// exists") or one never granted.
func (g *gen) anyLease() int64 {
	if g.chance(0.8) {
		return leaseIDs[g.rnd.IntN(len(leaseIDs))]
	}
	return g.lease()
}

// leaseGrantBody grants with a TTL no run outlives (so no lease expires
// while a sequence runs: expiry timing is not comparable), or one above
// etcd's maximum ("too large lease TTL").
func (g *gen) leaseGrantBody() string {
	ttl := 600 + g.rnd.Int64N(9000)
	if g.chance(0.03) {
		ttl = 9_000_000_001
	}
	id := g.anyLease()
	if id == 0 || id == notGranted {
		id = leaseIDs[0]
	}
	return g.obj([]string{g.field("ID", g.num(id)), g.field("TTL", g.num(ttl))})
}

// rev returns a revision near the boundaries: 0 (current), the current
// one, the future, just below and at the compact revision, any past one
// (mostly compacted), or one still readable.
func (g *gen) rev() int64 {
	switch g.rnd.IntN(8) {
	case 0:
		return 0
	case 1:
		return g.cur
	case 2:
		return g.cur + 1 + g.rnd.Int64N(3)
	case 3:
		return max(g.compacted-1, 1)
	case 4:
		return max(g.compacted, 1)
	case 5:
		return 1 + g.rnd.Int64N(g.cur)
	}
	return max(g.compacted, 1) + g.rnd.Int64N(g.cur-max(g.compacted, 1)+1)
}

// rangeEnd returns the range_end field for key k, or none: a prefix end,
// "\x00" (from k to the end; only when toEnd) or another key, which may
// sort before k (an empty range).
func (g *gen) rangeEnd(k string, toEnd bool) []string {
	switch g.rnd.IntN(6) {
	case 0:
		if toEnd {
			return []string{g.bytesField("range_end", "\x00")}
		}
	case 1:
		if last := k[len(k)-1]; last != 0xff {
			return []string{g.bytesField("range_end", k[:len(k)-1]+string(last+1))}
		}
		if toEnd {
			return []string{g.bytesField("range_end", "\x00")}
		}
	case 2:
		return []string{g.bytesField("range_end", g.key())}
	}
	return nil
}

// prefixEnd returns, half the time, the range_end that makes k a prefix
// (none for the 0xff key: it would be "to the end").
func (g *gen) prefixEnd(k string) []string {
	if last := k[len(k)-1]; last != 0xff && g.chance(0.5) {
		return []string{g.bytesField("range_end", k[:len(k)-1]+string(last+1))}
	}
	return nil
}

// rangeBody returns a RangeRequest; serializable reports whether it asks
// for a serializable read.
func (g *gen) rangeBody(inTxn bool) (body string, serializable bool) {
	// Sorting by anything but the key leaves the order of ties to Go's
	// unstable sort.Sort, whose algorithm changed after the Go 1.19 that
	// built etcd 3.4.23: the two agree up to 12 keys (insertion sort,
	// stable in both) and not beyond. So a range sorted by another target
	// covers at most one prefix (6 keys at most), never wide ranges.
	var sort []string
	if g.chance(0.4) {
		target := `"KEY"`
		if g.chance(0.8) {
			target = g.pick(`"KEY"`, `"VERSION"`, `"CREATE"`, `"MOD"`, `"VALUE"`, `3`)
			sort = append(sort, g.field("sort_target", target))
		}
		sort = append(sort, g.field("sort_order", g.pick(`"NONE"`, `"ASCEND"`, `"DESCEND"`, `1`, `2`)))
	}
	narrow := len(sort) == 2 && !strings.Contains(sort[0], "KEY")
	k := g.key()
	if !inTxn && !narrow && g.chance(0.05) {
		k = "\x00" // with range_end "\x00": every key
	}
	f := []string{g.bytesField("key", k)}
	switch {
	case k == "\x00":
		f = append(f, g.bytesField("range_end", "\x00"))
	case narrow:
		f = append(f, g.prefixEnd(k)...)
	default:
		f = append(f, g.rangeEnd(k, true)...)
	}
	f = append(f, sort...)
	if g.chance(0.3) {
		f = append(f, g.field("limit", g.num(g.rnd.Int64N(5))))
	}
	if g.chance(0.3) {
		rev := g.rev()
		if inTxn {
			// A txn failing both a put check and a range revision
			// check names a different error in etcd (which checks
			// every put first) and mvcc (op order): keep txn ranges
			// readable.
			rev = min(max(rev, g.compacted), g.cur)
		} else if g.chance(0.05) {
			rev = -1 // the gateway's lenient "current revision"
		}
		f = append(f, g.field("revision", g.num(rev)))
	}
	if g.chance(0.15) {
		serializable = g.chance(0.8)
		f = append(f, g.field("serializable", strconv.FormatBool(serializable)))
	}
	for _, name := range []string{"keys_only", "count_only"} {
		if g.chance(0.15) {
			f = append(f, g.field(name, strconv.FormatBool(g.chance(0.8))))
		}
	}
	for _, name := range []string{"min_mod_revision", "max_mod_revision", "min_create_revision", "max_create_revision"} {
		if g.chance(0.08) {
			f = append(f, g.field(name, g.num(g.rnd.Int64N(g.cur+2))))
		}
	}
	return g.obj(f), serializable
}

func (g *gen) value() string { return fmt.Sprint("v", g.rnd.IntN(10)) }

func (g *gen) putBody() string {
	k := g.key()
	if g.chance(0.01) {
		k = "" // "key is not provided"
	}
	f := []string{g.bytesField("key", k)}
	ignoreValue, ignoreLease := g.chance(0.08), g.chance(0.05)
	if (!ignoreValue || g.chance(0.2)) && g.chance(0.95) {
		f = append(f, g.bytesField("value", g.value()))
	}
	if ignoreValue {
		f = append(f, g.field("ignore_value", "true"))
	}
	if ignoreLease {
		f = append(f, g.field("ignore_lease", "true"))
	}
	if (!ignoreLease || g.chance(0.2)) && g.chance(0.3) {
		f = append(f, g.field("lease", g.num(g.lease())))
	}
	if g.chance(0.4) {
		f = append(f, g.field("prev_kv", "true"))
	}
	return g.obj(f)
}

// deleteBody returns a DeleteRangeRequest; inside a txn never to "\x00"
// (mvcc's duplicate-key check differs there, mvcc/doc.go).
func (g *gen) deleteBody(inTxn bool) string {
	k := g.key()
	f := []string{g.bytesField("key", k)}
	f = append(f, g.rangeEnd(k, !inTxn)...)
	if g.chance(0.5) {
		f = append(f, g.field("prev_kv", "true"))
	}
	return g.obj(f)
}

func (g *gen) compareBody() string {
	k := g.key()
	f := []string{g.bytesField("key", k)}
	target := g.pick("VERSION", "CREATE", "MOD", "VALUE", "LEASE")
	if target != "VERSION" || g.chance(0.8) { // absent target = VERSION
		f = append(f, g.field("target", strconv.Quote(target)))
	}
	if g.chance(0.9) { // absent result = EQUAL
		f = append(f, g.field("result", strconv.Quote(g.pick("EQUAL", "GREATER", "LESS", "NOT_EQUAL"))))
	}
	if g.chance(0.15) {
		f = append(f, g.rangeEnd(k, true)...)
	}
	switch target {
	case "VERSION":
		f = append(f, g.field("version", g.num(g.rnd.Int64N(4))))
	case "CREATE":
		f = append(f, g.field("create_revision", g.num(g.rnd.Int64N(g.cur+1))))
	case "MOD":
		f = append(f, g.field("mod_revision", g.num(g.rnd.Int64N(g.cur+1))))
	case "VALUE":
		f = append(f, g.bytesField("value", g.value()))
	case "LEASE":
		f = append(f, g.field("lease", g.num(g.lease())))
	}
	return g.obj(f)
}

// maxTxnDepth bounds nesting well within etcd's and mvcc's limits.
const maxTxnDepth = 3

func (g *gen) requestOp(depth int) string {
	kinds := 3
	if depth < maxTxnDepth {
		kinds = 4
	}
	switch g.rnd.IntN(kinds) {
	case 0:
		body, _ := g.rangeBody(true)
		return `{"request_range":` + body + `}`
	case 1:
		return `{"request_put":` + g.putBody() + `}`
	case 2:
		return `{"request_delete_range":` + g.deleteBody(true) + `}`
	}
	return `{"request_txn":` + g.txnBody(depth+1) + `}`
}

func (g *gen) txnBody(depth int) string {
	var f []string
	list := func(name string, n int, elem func() string) {
		if n == 0 && g.chance(0.7) {
			return
		}
		xs := make([]string, n)
		for i := range xs {
			xs[i] = elem()
		}
		f = append(f, fmt.Sprintf("%q:[%s]", name, strings.Join(xs, ",")))
	}
	list("compare", g.rnd.IntN(3), g.compareBody)
	list("success", g.rnd.IntN(4), func() string { return g.requestOp(depth) })
	list("failure", g.rnd.IntN(3), func() string { return g.requestOp(depth) })
	return g.obj(f)
}

// compactionBody compacts at a past, current, already compacted or future
// revision. Never at <= 0 before the first compaction (etcd 3.4 accepts
// that, mvcc answers "compacted"; server/v3http/doc.go).
func (g *gen) compactionBody() string {
	rev := g.compacted + g.rnd.Int64N(max(g.cur-g.compacted, 1)+3) - 1
	if g.compacted == 0 {
		rev = max(rev, 1)
	}
	f := []string{g.field("revision", g.num(rev))}
	if g.chance(0.3) {
		f = append(f, g.field("physical", "true"))
	}
	return g.obj(f)
}

// leaseOp returns a lease request: grant, revoke, keepalive (one renewal
// per body), timetolive with keys, or the list; revoke, timetolive and
// leases sometimes on etcd's /v3/kv/lease/ aliases.
func (g *gen) leaseOp() (path, body string) {
	prefix := "/v3/lease/"
	if g.chance(0.2) {
		prefix = "/v3/kv/lease/"
	}
	id := g.obj([]string{g.field("ID", g.num(g.anyLease()))})
	switch y := g.rnd.IntN(12); {
	case y < 5:
		return "/v3/lease/grant", g.leaseGrantBody()
	case y < 8:
		return prefix + "revoke", id
	case y < 9:
		return "/v3/lease/keepalive", id
	case y < 11:
		return prefix + "timetolive", g.obj([]string{g.field("ID", g.num(g.anyLease())), g.field("keys", "true")})
	}
	return prefix + "leases", "{}"
}

// malformed are requests etcd refuses before they reach its store: bad
// JSON, bad base64, wrong types, missing keys, unknown enum names.
var malformed = []op{
	{Path: "/v3/kv/put", Body: `{"key":`},
	{Path: "/v3/kv/put", Body: `{"value":"eA=="}`},
	{Path: "/v3/kv/put", Body: `{"key":"!!!","value":"eA=="}`},
	{Path: "/v3/kv/put", Body: `{"key":"YQ==","ignore_value":true,"value":"eA=="}`},
	{Path: "/v3/kv/put", Body: `{"key":"YQ==","ignore_lease":true,"lease":"7"}`},
	{Path: "/v3/kv/range", Body: `{"key":"YQ==","limit":"x"}`},
	{Path: "/v3/kv/range", Body: `{"key":"YQ==","sort_order":"BOGUS"}`},
	{Path: "/v3/kv/range", Body: `[]`},
	{Path: "/v3/kv/deleterange", Body: `{}`},
	{Path: "/v3/kv/txn", Body: `{"compare":[{"key":"YQ==","target":"NOPE"}]}`},
	{Path: "/v3/kv/txn", Body: `{"success":[{"request_put":{"key":"YQ=="}},{"request_put":{"key":"YQ=="}}]}`},
	{Path: "/v3/kv/txn", Body: `{"success":[{}]}`},
	{Path: "/v3/kv/compaction", Body: `{"revision":"abc"}`},
}

// next returns the next op of the sequence.
func (g *gen) next() op {
	o := op{Member: g.n % 3}
	g.n++
	x := g.rnd.IntN(100)
	switch {
	case x < 30:
		o.Path, o.Body = "/v3/kv/put", g.putBody()
	case x < 58:
		o.Path = "/v3/kv/range"
		o.Body, o.Local = g.rangeBody(false)
	case x < 70:
		o.Path, o.Body = "/v3/kv/deleterange", g.deleteBody(false)
	case x < 94:
		o.Path, o.Body = "/v3/kv/txn", g.txnBody(1)
	case x < 96 && g.chance(g.compactShare):
		o.Path, o.Body = "/v3/kv/compaction", g.compactionBody()
	case x < 96:
		o.Path = "/v3/kv/range"
		o.Body, o.Local = g.rangeBody(false)
	case x < 98:
		o.Path, o.Body = g.leaseOp()
		o.Local = o.Path == "/v3/lease/keepalive"
	case x < 99:
		o.Path, o.Body = "/v3/watch", g.watchBody()
	default:
		m := malformed[g.rnd.IntN(len(malformed))]
		o.Path, o.Body = m.Path, m.Body
	}
	return o
}
