package difftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// answer is one HTTP response as the comparison sees it.
type answer struct {
	status int
	body   string
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, strings.TrimSpace(a.body)) }

// memberFields are the header fields that name the member that answered
// (and its cluster and term): they differ between any two clusters and are
// dropped from every "header" object before comparing. Nothing else is.
var memberFields = []string{"cluster_id", "member_id", "raft_term"}

// decode parses a body as JSON (numbers kept as written), with the
// member-specific header fields removed. A body that is not JSON (net/http's
// plain 404, a transport error) comes back as its text.
func decode(body string) any {
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return body
	}
	normalise(v)
	return v
}

// normalise removes memberFields from every object held under a "header"
// key, at any depth (txn responses nest headers; watch streams hold one per
// message).
func normalise(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if h, ok := x.(map[string]any); ok && k == "header" {
				for _, f := range memberFields {
					delete(h, f)
				}
			}
			normalise(x)
		}
	case []any:
		for _, x := range v {
			normalise(x)
		}
	}
}

// compareAnswers returns the differences between the oracle's answer and the
// subject's to a request on path, one line per differing field ("http
// status", "header.revision", "responses[1].response_range.kvs[0].value",
// ...); none when they agree.
func compareAnswers(path string, want, got answer) []string {
	var out []string
	if want.status != got.status {
		out = append(out, fmt.Sprintf("http status: etcd %d, shelf %d", want.status, got.status))
	}
	a, b := decode(want.body), decode(got.body)
	normaliseLease(path, a, b)
	diffValues("", a, b, &out)
	return out
}

// ttlSlack is how far apart two remaining TTLs may be and still count as
// equal: the systems granted the lease a few milliseconds apart, and each
// rounds its remaining time down to seconds.
const ttlSlack = 2

// normaliseLease makes the lease answers whose exact content is not
// determined by the op sequence comparable, and nothing else:
//   - /v3/lease/leases and timetolive's keys list in the order of etcd's
//     internal maps, which Go randomises: both lists are sorted;
//   - timetolive's remaining TTL depends on when each system granted the
//     lease: two positive TTLs within ttlSlack seconds are made equal.
func normaliseLease(path string, a, b any) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		return
	}
	switch strings.Replace(path, "/v3/kv/lease/", "/v3/lease/", 1) {
	case "/v3/lease/leases":
		sortBy(am["leases"], "ID")
		sortBy(bm["leases"], "ID")
	case "/v3/lease/timetolive":
		sortBy(am["keys"], "")
		sortBy(bm["keys"], "")
		at, aerr := jsonInt(am["TTL"])
		bt, berr := jsonInt(bm["TTL"])
		if aerr == nil && berr == nil && at > 0 && bt > 0 && at-bt <= ttlSlack && bt-at <= ttlSlack {
			bm["TTL"] = am["TTL"]
		}
	}
}

// sortBy sorts a JSON array in place by the string form of each element's
// field (or of the element itself when field is "").
func sortBy(v any, field string) {
	xs, ok := v.([]any)
	if !ok {
		return
	}
	key := func(x any) string {
		if m, ok := x.(map[string]any); ok && field != "" {
			x = m[field]
		}
		return fmt.Sprint(x)
	}
	sort.SliceStable(xs, func(i, j int) bool { return key(xs[i]) < key(xs[j]) })
}

// jsonInt reads an int64 written as a string or a number.
func jsonInt(v any) (int64, error) {
	switch v := v.(type) {
	case string:
		return strconv.ParseInt(v, 10, 64)
	case json.Number:
		return v.Int64()
	}
	return 0, fmt.Errorf("not an integer: %v", v)
}

// diffValues appends a line per field where a and b differ, walking objects
// and arrays field by field.
func diffValues(path string, a, b any, out *[]string) {
	name := path
	if name == "" {
		name = "body"
	}
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: etcd %s, shelf %s", name, show(a), show(b)))
			return
		}
		keys := map[string]bool{}
		for k := range a {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			p := k
			if path != "" {
				p = path + "." + k
			}
			av, aok := a[k]
			bv, bok := bm[k]
			switch {
			case !aok:
				*out = append(*out, fmt.Sprintf("%s: etcd has none, shelf %s", p, show(bv)))
			case !bok:
				*out = append(*out, fmt.Sprintf("%s: etcd %s, shelf has none", p, show(av)))
			default:
				diffValues(p, av, bv, out)
			}
		}
	case []any:
		bs, ok := b.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: etcd %s, shelf %s", name, show(a), show(b)))
			return
		}
		if len(a) != len(bs) {
			*out = append(*out, fmt.Sprintf("%s: etcd has %d elements, shelf %d", name, len(a), len(bs)))
		}
		for i := 0; i < min(len(a), len(bs)); i++ {
			diffValues(fmt.Sprintf("%s[%d]", path, i), a[i], bs[i], out)
		}
	default:
		if !reflect.DeepEqual(a, b) {
			*out = append(*out, fmt.Sprintf("%s: etcd %s, shelf %s", name, show(a), show(b)))
		}
	}
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if e.Encode(v) != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(b.String())
}

// TestCompareAnswers: member-specific header fields are ignored at every
// depth, everything else (status, revisions, values, missing fields, extra
// elements, error messages) is reported with its path.
func TestCompareAnswers(t *testing.T) {
	etcdPut := `{"header":{"cluster_id":"1","member_id":"2","revision":"5","raft_term":"3"},"prev_kv":{"key":"YQ==","value":"djE="}}`
	tests := []struct {
		name      string
		want, got answer
		diffs     []string
	}{
		{"member fields ignored",
			answer{200, etcdPut},
			answer{200, `{"header":{"cluster_id":"9","member_id":"8","revision":"5","raft_term":"7"},"prev_kv":{"key":"YQ==","value":"djE="}}`},
			nil},
		{"nested headers too",
			answer{200, `{"responses":[{"response_range":{"header":{"revision":"3"}}}]}`},
			answer{200, `{"responses":[{"response_range":{"header":{"revision":"3","member_id":"1"}}}]}`},
			nil},
		{"revision and value differ",
			answer{200, etcdPut},
			answer{200, `{"header":{"revision":"6"},"prev_kv":{"key":"YQ==","value":"djI="}}`},
			[]string{`header.revision: etcd "5", shelf "6"`, `prev_kv.value: etcd "djE=", shelf "djI="`}},
		{"missing field and extra element",
			answer{200, `{"kvs":[{"key":"YQ=="}],"count":"1"}`},
			answer{200, `{"kvs":[{"key":"YQ=="},{"key":"Yg=="}]}`},
			[]string{`count: etcd "1", shelf has none`, `kvs: etcd has 1 elements, shelf 2`}},
		{"errors compared with status, code and message",
			answer{400, `{"error":"etcdserver: mvcc: required revision has been compacted","code":11}`},
			answer{200, `{"error":"etcdserver: mvcc: required revision is a future revision","code":11}`},
			[]string{`http status: etcd 400, shelf 200`, `error: etcd "etcdserver: mvcc: required revision has been compacted", shelf "etcdserver: mvcc: required revision is a future revision"`}},
		{"numbers as written", answer{200, `{"code":11}`}, answer{200, `{"code":11.0}`}, []string{`code: etcd 11, shelf 11.0`}},
		{"non-JSON bodies", answer{404, "404 page not found\n"}, answer{404, "404 page not found\n"}, nil},
	}
	for _, tt := range tests {
		got := compareAnswers("/v3/kv/range", tt.want, tt.got)
		if !reflect.DeepEqual(got, tt.diffs) {
			t.Errorf("%s: differences\n  %q\nwant\n  %q", tt.name, got, tt.diffs)
		}
	}
}

// TestCompareLeaseAnswers: lease lists and timetolive keys compare in any
// order, remaining TTLs within ttlSlack compare equal, and nothing more is
// forgiven.
func TestCompareLeaseAnswers(t *testing.T) {
	tests := []struct {
		path      string
		want, got string
		diffs     int
	}{
		{"/v3/lease/leases", `{"leases":[{"ID":"1"},{"ID":"7"}]}`, `{"leases":[{"ID":"7"},{"ID":"1"}]}`, 0},
		{"/v3/lease/leases", `{"leases":[{"ID":"1"},{"ID":"7"}]}`, `{"leases":[{"ID":"7"}]}`, 2},
		{"/v3/kv/lease/leases", `{"leases":[{"ID":"1"},{"ID":"7"}]}`, `{"leases":[{"ID":"7"},{"ID":"1"}]}`, 0},
		{"/v3/lease/timetolive", `{"ID":"7","TTL":"599","grantedTTL":"600","keys":["YQ==","Yg=="]}`,
			`{"ID":"7","TTL":"600","grantedTTL":"600","keys":["Yg==","YQ=="]}`, 0},
		{"/v3/lease/timetolive", `{"ID":"7","TTL":"590","grantedTTL":"600"}`, `{"ID":"7","TTL":"600","grantedTTL":"600"}`, 1},
		{"/v3/lease/timetolive", `{"ID":"7","TTL":"-1"}`, `{"ID":"7","TTL":"1"}`, 1},
		{"/v3/lease/timetolive", `{"ID":"7","TTL":"599","grantedTTL":"600"}`, `{"ID":"7","TTL":"600","grantedTTL":"601"}`, 1},
		// The same tolerance does not apply elsewhere.
		{"/v3/lease/grant", `{"ID":"7","TTL":"599"}`, `{"ID":"7","TTL":"600"}`, 1},
		{"/v3/kv/range", `{"kvs":[{"key":"YQ=="},{"key":"Yg=="}]}`, `{"kvs":[{"key":"Yg=="},{"key":"YQ=="}]}`, 2},
	}
	for _, tt := range tests {
		d := compareAnswers(tt.path, answer{200, tt.want}, answer{200, tt.got})
		if len(d) != tt.diffs {
			t.Errorf("%s %s vs %s: %d differences %q, want %d", tt.path, tt.want, tt.got, len(d), d, tt.diffs)
		}
	}
}
