package v3http

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
)

// reqGen produces a seeded random sequence of etcd KV requests as JSON
// bodies: valid ones with every option, and invalid ones of each kind the
// gateway reports (bad JSON, bad base64, wrong types, missing key, unknown
// enum names, ...). It avoids the inputs on which shelf deliberately differs
// from etcd 3.4 (doc.go): unknown sort targets and orders, compare enums
// out of range, null array elements, several members of a oneof, negative
// revisions inside a txn.
type reqGen struct {
	rnd *rand.Rand
	// cur and compacted track the oracle's revision and compact revision,
	// so generated revisions land around the interesting boundaries.
	cur, compacted int64
}

// genReq is one generated request.
type genReq struct {
	path, body string
}

func (r genReq) String() string { return fmt.Sprintf("POST %s %s", r.path, r.body) }

func newReqGen(seed uint64) *reqGen {
	return &reqGen{rnd: rand.New(rand.NewPCG(seed, seed^0x5eed)), cur: 1}
}

// genLeases are granted on both sides before the sequence starts, so puts
// can attach them and compares can test them; other IDs are not found.
var genLeases = []int64{7, 8}

var genKeys = []string{"a", "ab", "abc", "b", "b/1", "b/2", "c", "foo", "z", "\xff"}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func (g *reqGen) pick(xs ...string) string { return xs[g.rnd.IntN(len(xs))] }
func (g *reqGen) chance(p float64) bool    { return g.rnd.Float64() < p }

func (g *reqGen) key() string { return genKeys[g.rnd.IntN(len(genKeys))] }

// lease returns 0, a granted lease or an ID never granted.
func (g *reqGen) lease() int64 {
	switch x := g.rnd.IntN(10); {
	case x < 3:
		return 0
	case x < 9:
		return genLeases[g.rnd.IntN(len(genLeases))]
	}
	return 99
}

// num formats an int64 the way clients do: usually a string, sometimes a
// bare number (the gateway accepts both).
func (g *reqGen) num(v int64) string {
	if g.chance(0.2) {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%q", fmt.Sprint(v))
}

// rev returns a revision near the interesting boundaries: current,
// compacted, future, zero.
func (g *reqGen) rev() int64 {
	switch g.rnd.IntN(6) {
	case 0:
		return 0
	case 1:
		return g.cur + 1
	case 2:
		return max(g.compacted-1, 1)
	case 3:
		return g.compacted
	}
	return 1 + g.rnd.Int64N(g.cur)
}

// obj joins "name":value pairs into a JSON object, in a random order.
func (g *reqGen) obj(fields []string) string {
	g.rnd.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
	return "{" + strings.Join(fields, ",") + "}"
}

// rangeEnd returns a range_end field (or none) for key k; "\x00" only
// when toEnd allows it.
func (g *reqGen) rangeEnd(k string, toEnd bool) []string {
	switch g.rnd.IntN(6) {
	case 0:
		if !toEnd {
			return nil
		}
		return []string{`"range_end":"AA=="`} // "\x00": every key >= k
	case 1:
		end := k[:len(k)-1] + string(k[len(k)-1]+1) // prefix end
		if k[len(k)-1] == 0xff {
			if !toEnd {
				return nil
			}
			end = "\x00"
		}
		return []string{fmt.Sprintf(`"range_end":%q`, b64(end))}
	case 2:
		return []string{fmt.Sprintf(`"range_end":%q`, b64(g.key()))} // may sort before k
	}
	return nil
}

func (g *reqGen) rangeBody(inTxn bool) string {
	k := g.key()
	f := []string{fmt.Sprintf(`"key":%q`, b64(k))}
	f = append(f, g.rangeEnd(k, true)...)
	if g.chance(0.3) {
		f = append(f, `"limit":`+g.num(g.rnd.Int64N(4)))
	}
	if g.chance(0.3) {
		rev := g.rev()
		if inTxn {
			// etcd checks every put of a txn (lease, ignore_*) before
			// any range revision; mvcc checks them in op order, so a
			// txn failing both ways would name a different error
			// (reported to mvcc). Txn ranges stay readable.
			rev = max(rev, g.compacted)
			rev = min(rev, g.cur)
		} else if g.chance(0.05) {
			rev = -1
		}
		f = append(f, `"revision":`+g.num(rev))
	}
	if g.chance(0.4) {
		orders := []string{`"NONE"`, `"ASCEND"`, `"DESCEND"`, `0`, `1`, `2`}
		targets := []string{`"KEY"`, `"VERSION"`, `"CREATE"`, `"MOD"`, `"VALUE"`, `3`}
		f = append(f, `"sort_order":`+orders[g.rnd.IntN(len(orders))])
		if g.chance(0.8) {
			f = append(f, `"sort_target":`+targets[g.rnd.IntN(len(targets))])
		}
	}
	for _, b := range []string{"serializable", "keys_only", "count_only"} {
		if g.chance(0.15) {
			f = append(f, fmt.Sprintf(`%q:%v`, b, g.chance(0.8)))
		}
	}
	for _, m := range []string{"min_mod_revision", "max_mod_revision", "min_create_revision", "max_create_revision"} {
		if g.chance(0.08) {
			f = append(f, fmt.Sprintf(`%q:%s`, m, g.num(g.rnd.Int64N(g.cur+2))))
		}
	}
	return g.obj(f)
}

func (g *reqGen) putBody() string {
	f := []string{fmt.Sprintf(`"key":%q`, b64(g.key()))}
	ignoreValue, ignoreLease := g.chance(0.08), g.chance(0.05)
	if !ignoreValue || g.chance(0.2) {
		if g.chance(0.9) {
			f = append(f, fmt.Sprintf(`"value":%q`, b64(fmt.Sprint("v", g.rnd.IntN(20)))))
		}
	}
	if ignoreValue {
		f = append(f, `"ignore_value":true`)
	}
	if ignoreLease {
		f = append(f, `"ignore_lease":true`)
	}
	if !ignoreLease && g.chance(0.15) {
		f = append(f, `"lease":`+g.num(g.lease()))
	} else if g.chance(0.03) {
		f = append(f, `"lease":`+g.num(1+g.rnd.Int64N(1000))) // mostly not granted: lease not found
	}
	if g.chance(0.4) {
		f = append(f, `"prev_kv":true`)
	}
	return g.obj(f)
}

// deleteBody returns a DeleteRangeRequest. Inside a txn it never deletes
// to the end of the keyspace ("\x00"): etcd's duplicate-key check treats
// that range as empty, mvcc deliberately does not (mvcc's doc.go).
func (g *reqGen) deleteBody(inTxn bool) string {
	k := g.key()
	f := []string{fmt.Sprintf(`"key":%q`, b64(k))}
	f = append(f, g.rangeEnd(k, !inTxn)...)
	if g.chance(0.5) {
		f = append(f, `"prev_kv":true`)
	}
	return g.obj(f)
}

func (g *reqGen) compareBody() string {
	targets := []string{"VERSION", "CREATE", "MOD", "VALUE", "LEASE"}
	results := []string{"EQUAL", "GREATER", "LESS", "NOT_EQUAL"}
	ti := g.rnd.IntN(len(targets))
	k := g.key()
	f := []string{fmt.Sprintf(`"key":%q`, b64(k))}
	if g.chance(0.9) {
		f = append(f, fmt.Sprintf(`"target":%q`, targets[ti]))
	} else {
		ti = 0 // absent target = VERSION
	}
	if g.chance(0.9) {
		f = append(f, fmt.Sprintf(`"result":%q`, g.pick(results...)))
	}
	if g.chance(0.15) {
		f = append(f, g.rangeEnd(k, true)...)
	}
	switch ti {
	case 0:
		f = append(f, `"version":`+g.num(g.rnd.Int64N(4)))
	case 1:
		f = append(f, `"create_revision":`+g.num(g.rnd.Int64N(g.cur+1)))
	case 2:
		f = append(f, `"mod_revision":`+g.num(g.rnd.Int64N(g.cur+1)))
	case 3:
		if g.chance(0.9) {
			f = append(f, fmt.Sprintf(`"value":%q`, b64(fmt.Sprint("v", g.rnd.IntN(20)))))
		}
	case 4:
		f = append(f, `"lease":`+g.num(g.lease()))
	}
	return g.obj(f)
}

func (g *reqGen) opBody(depth int) string {
	n := 3
	if depth < 3 {
		n = 4
	}
	switch g.rnd.IntN(n) {
	case 0:
		return `{"request_range":` + g.rangeBody(true) + `}`
	case 1:
		return `{"request_put":` + g.putBody() + `}`
	case 2:
		return `{"request_delete_range":` + g.deleteBody(true) + `}`
	}
	return `{"request_txn":` + g.txnBody(depth+1) + `}`
}

func (g *reqGen) txnBody(depth int) string {
	var f []string
	list := func(name string, n int, elem func() string) {
		if n == 0 && g.chance(0.7) {
			return
		}
		var xs []string
		for i := 0; i < n; i++ {
			xs = append(xs, elem())
		}
		f = append(f, fmt.Sprintf(`%q:[%s]`, name, strings.Join(xs, ",")))
	}
	list("compare", g.rnd.IntN(3), g.compareBody)
	list("success", g.rnd.IntN(4), func() string { return g.opBody(depth) })
	list("failure", g.rnd.IntN(3), func() string { return g.opBody(depth) })
	return g.obj(f)
}

func (g *reqGen) compactionBody() string {
	rev := g.compacted + g.rnd.Int64N(max(g.cur-g.compacted, 1)+2) - 1
	if g.compacted == 0 {
		// etcd 3.4 accepts a compaction at 0 (or below) until the first
		// real one; mvcc cannot tell "never compacted" from "compacted
		// at 0" and answers "compacted" (reported in doc.go).
		rev = max(rev, 1)
	}
	f := []string{`"revision":` + g.num(rev)}
	if g.chance(0.3) {
		f = append(f, `"physical":true`)
	}
	return g.obj(f)
}

// invalid returns a malformed or unusual request of one of the kinds the
// gateway reports on (or quietly accepts).
func (g *reqGen) invalid() genReq {
	paths := []string{"/v3/kv/range", "/v3/kv/put", "/v3/kv/deleterange", "/v3/kv/txn", "/v3/kv/compaction"}
	p := g.pick(paths...)
	if p == "/v3/kv/compaction" && g.compacted == 0 {
		p = "/v3/kv/range" // see compactionBody
	}
	bodies := []string{
		``, ` `, `null`, `{}`, `[]`, `"x"`, `5`, `{`, `{"key":`, `{"key":"Zm9v"} trailing`, `xx`,
		`{"key":"!!!"}`, `{"key":"Zm9"}`, `{"key":"_-8="}`, `{"key":"Zm9v\n"}`, `{"key":5}`, `{"key":null}`,
		`{"key":"Zm9v","limit":"x"}`, `{"key":"Zm9v","limit":1.5}`, `{"key":"Zm9v","limit":""}`,
		`{"key":"Zm9v","revision":"1e0"}`, `{"key":"Zm9v","revision":"99999999999999999999"}`,
		`{"key":"Zm9v","revision":true}`, `{"key":"Zm9v","revision":{}}`, `{"key":"Zm9v","revision":"null"}`,
		`{"key":"Zm9v","sort_order":"BOGUS"}`, `{"key":"Zm9v","sort_order":"<&>"}`, `{"key":"Zm9v","sort_order":"\u0041SCEND"}`, `{"key":"Zm9v","sort_order":"2"}`, `{"key":"Zm9v","sort_order":1.5}`,
		`{"key":"Zm9v","sort_order":true}`, `{"key":"Zm9v","sort_target":"value"}`,
		`{"key":"Zm9v","keys_only":"true"}`, `{"key":"Zm9v","count_only":1}`, `{"key":"Zm9v","bogus":[1,2]}`,
		`{"key":"Zm9v","rangeEnd":"AA==","keysOnly":true}`, `{"key":"Zm9v","range_end":"AA==","rangeEnd":"Zm9w"}`,
		`{"key":"Zm9v","prev_kv":"yes"}`, `{"key":"Zm9v","prevKv":true,"value":"eA=="}`,
		`{"key":"Zm9v","ignore_value":true,"value":"eA=="}`, `{"key":"Zm9v","ignore_lease":true,"lease":"5"}`,
		`{"key":"","value":"eA=="}`, `{"revision":"x","key":"!"}`, `{"key":"Zm9v","key":"YmFy"}`,
		`{"compare":{}}`, `{"compare":[{"key":"","target":"VALUE"}]}`, `{"compare":[{"key":"YQ==","target":"NOPE"}]}`,
		`{"compare":[{"key":"YQ==","result":"NOPE"}]}`, `{"compare":[{"key":"YQ==","result":1.5}]}`,
		`{"compare":[5]}`, `{"success":[{}]}`, `{"success":[{"request_put":null}]}`, `{"success":{}}`,
		`{"success":[{"request_put":{"key":"YQ=="}},{"request_put":{"key":"YQ=="}}]}`,
		`{"success":[{"requestPut":{"key":"YQ==","value":"eA=="}},{"requestRange":{"key":"YQ=="}}]}`,
		`{"failure":[{"request_range":{"key":"YQ==","revision":"1"}}],"compare":[{"key":"YQ==","version":"9"}]}`,
		`{"revision":"abc"}`, `{"revision":-5}`, `{"physical":"true"}`,
	}
	return genReq{p, g.pick(bodies...)}
}

// next returns the next request of the sequence.
func (g *reqGen) next() genReq {
	x := g.rnd.IntN(100)
	switch {
	case x < 30:
		return genReq{"/v3/kv/put", g.putBody()}
	case x < 55:
		return genReq{"/v3/kv/range", g.rangeBody(false)}
	case x < 67:
		return genReq{"/v3/kv/deleterange", g.deleteBody(false)}
	case x < 87:
		return genReq{"/v3/kv/txn", g.txnBody(1)}
	case x < 90:
		return genReq{"/v3/kv/compaction", g.compactionBody()}
	}
	return g.invalid()
}
