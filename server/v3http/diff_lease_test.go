package v3http

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/internal/etcdtest"
)

// leaseStep is one request of TestLeaseDifferentialEtcd. In body, {R0}
// stands for the ID the first "ID 0" grant got on each side (etcd picks a
// random one).
type leaseStep struct {
	method, path, body string
}

// leaseSteps covers every lease endpoint and alias: grants with an
// explicit ID and with ID 0, a duplicate ID, TTLs at or below zero and
// below etcd's minimum (raised to 2 s with etcd's default election
// timeout), a too large TTL, malformed bodies; timetolive with and without
// keys and of an unknown lease; the lease list; keepalive streams of live
// and unknown leases, an empty stream, a first message that does not
// decode and a later one that does not; revokes (unknown, with keys, via
// the /v3/kv/lease alias). Short-TTL leases are revoked right after their
// grant, so etcd's expiry never races the comparison.
var leaseSteps = []leaseStep{
	{"POST", "/v3/lease/grant", `{"ID":"100","TTL":"60"}`},
	{"POST", "/v3/lease/grant", `{"ID":"100","TTL":"60"}`},
	{"POST", "/v3/lease/grant", `{"TTL":"120"}`},
	{"POST", "/v3/lease/grant", `{"ID":"101","TTL":"0"}`},
	{"POST", "/v3/kv/lease/revoke", `{"ID":"101"}`},
	{"POST", "/v3/lease/grant", `{"ID":"102","TTL":"-5"}`},
	{"POST", "/v3/lease/revoke", `{"ID":"102"}`},
	{"POST", "/v3/lease/grant", `{"ID":"103","TTL":"1"}`},
	{"POST", "/v3/lease/revoke", `{"ID":"103"}`},
	{"POST", "/v3/lease/grant", `{"ID":"-4","TTL":"300"}`},
	{"POST", "/v3/lease/grant", `{"ID":"104","TTL":"9000000001"}`},
	{"POST", "/v3/lease/grant", `{"ID":"105","TTL":"9000000000"}`},
	{"POST", "/v3/lease/grant", `{"ID":"x"}`},
	{"POST", "/v3/lease/grant", `{"ID":true}`},
	{"POST", "/v3/lease/grant", `[1]`},
	{"POST", "/v3/lease/grant", `{"ID":"106","TTL":"30","unknown":1}`},
	{"POST", "/v3/kv/put", `{"key":"YQ==","value":"dg==","lease":"100"}`},
	{"POST", "/v3/kv/put", `{"key":"Yg==","value":"dg==","lease":"100"}`},
	{"POST", "/v3/kv/put", `{"key":"Yw==","value":"dg==","lease":"{R0}"}`},
	{"POST", "/v3/lease/timetolive", `{"ID":"100"}`},
	{"POST", "/v3/lease/timetolive", `{"ID":"100","keys":true}`},
	{"POST", "/v3/kv/lease/timetolive", `{"ID":"{R0}","keys":true}`},
	{"POST", "/v3/lease/timetolive", `{"ID":"106","keys":true}`},
	{"POST", "/v3/lease/timetolive", `{"ID":"999","keys":true}`},
	{"POST", "/v3/lease/timetolive", ``},
	{"POST", "/v3/lease/timetolive", `{"ID":"100","keys":"yes"}`},
	{"POST", "/v3/lease/leases", ``},
	{"POST", "/v3/kv/lease/leases", `{}`},
	{"POST", "/v3/lease/leases", `[1]`},
	{"POST", "/v3/lease/leases", `x`},
	{"POST", "/v3/lease/keepalive", "{\"ID\":\"100\"}\n{\"ID\":\"999\"}\n{\"ID\":\"{R0}\"}"},
	{"POST", "/v3/lease/keepalive", ``},
	{"POST", "/v3/lease/keepalive", `{}`},
	{"POST", "/v3/lease/keepalive", `null`},
	{"POST", "/v3/lease/keepalive", `{"ID":"x"}`},
	{"POST", "/v3/lease/keepalive", `{"ID":"100"}{"ID":"x"}{"ID":"100"}`},
	{"POST", "/v3/lease/keepalive", `{"ID":"100","unknown":1}`},
	{"POST", "/v3/lease/revoke", `{"ID":"999"}`},
	{"POST", "/v3/lease/revoke", ``},
	{"POST", "/v3/lease/revoke", `{"ID":"0"}`},
	{"POST", "/v3/lease/revoke", `{"ID":"100"}`},
	{"POST", "/v3/kv/range", `{"key":"YQ==","range_end":"ZA=="}`},
	{"POST", "/v3/lease/timetolive", `{"ID":"100","keys":true}`},
	{"POST", "/v3/lease/keepalive", `{"ID":"100"}`},
	{"POST", "/v3/kv/lease/revoke", `{"ID":"{R0}"}`},
	{"POST", "/v3/lease/revoke", `{"ID":"-4"}`},
	{"POST", "/v3/lease/revoke", `{"ID":"105"}`},
	{"POST", "/v3/lease/leases", ``},
	{"POST", "/v3/lease/revoke", `{"ID":"106"}`},
	{"POST", "/v3/lease/leases", ``},
	{"GET", "/v3/lease/grant", ``},
	{"POST", "/v3/kv/lease/keepalive", `{"ID":"1"}`},
	{"POST", "/v3/kv/lease/grant", `{"TTL":"5"}`},
}

// leaseSide is one system under comparison and what its answers need to
// be normalised with.
type leaseSide struct {
	url string
	r0  string // the ID its first "ID 0" grant got
}

var (
	leaseTTLPair = regexp.MustCompile(`"TTL":"(-?[0-9]+)","grantedTTL":"([0-9]+)"`)
	leaseList    = regexp.MustCompile(`"leases":\[(.*?)\]`)
	leaseKeys    = regexp.MustCompile(`"keys":\[(.*?)\]`)
)

// normalise makes a's body comparable: the random ID becomes R0, a
// timetolive's remaining TTL becomes "T" when it is within 2 s of the
// granted TTL (etcd's clock runs between grant and question), and the
// lease list and a lease's keys are sorted (etcd lists leases by expiry
// and keys in map order; shelf both in order).
func (s *leaseSide) normalise(a answer) answer {
	if a.status == http.StatusNotFound && !strings.HasPrefix(a.body, "{") {
		a.body = "" // net/http's and the gateway's plain-text 404 differ; the status is what counts
	}
	if s.r0 != "" {
		a.body = strings.ReplaceAll(a.body, `"`+s.r0+`"`, `"R0"`)
	}
	a.body = leaseTTLPair.ReplaceAllStringFunc(a.body, func(m string) string {
		p := leaseTTLPair.FindStringSubmatch(m)
		ttl, _ := strconv.ParseInt(p[1], 10, 64)
		granted, _ := strconv.ParseInt(p[2], 10, 64)
		if ttl <= granted && ttl >= granted-2 {
			return `"TTL":"T","grantedTTL":"` + p[2] + `"`
		}
		return m
	})
	a.body = leaseList.ReplaceAllStringFunc(a.body, func(m string) string {
		inner := leaseList.FindStringSubmatch(m)[1]
		items := strings.Split(inner, "},{")
		for i := range items {
			items[i] = strings.Trim(items[i], "{}")
		}
		sort.Strings(items)
		return `"leases":[{` + strings.Join(items, "},{") + `}]`
	})
	a.body = leaseKeys.ReplaceAllStringFunc(a.body, func(m string) string {
		items := strings.Split(leaseKeys.FindStringSubmatch(m)[1], ",")
		sort.Strings(items)
		return `"keys":[` + strings.Join(items, ",") + `]`
	})
	return a
}

func (s *leaseSide) send(t *testing.T, c *http.Client, st leaseStep) answer {
	t.Helper()
	body := strings.ReplaceAll(st.body, "{R0}", s.r0)
	if st.method == http.MethodPost {
		return s.normalise(post(t, c, s.url+st.path, body))
	}
	req, err := http.NewRequest(st.method, s.url+st.path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{status: -1, body: err.Error()}
	}
	defer resp.Body.Close()
	return answer{status: resp.StatusCode}
}

// TestLeaseDifferentialEtcd sends leaseSteps to a real etcd and to a
// Handler over an mvcc store, and requires the same HTTP status and the
// same body after removing the member-specific header fields and
// normalising what is random or clock-dependent (see normalise).
func TestLeaseDifferentialEtcd(t *testing.T) {
	etcd := etcdtest.Start(t)
	shelf, _ := newTestServer(t, 0)
	c := &http.Client{Timeout: 30 * time.Second}
	sides := []*leaseSide{{url: etcd.ClientURL}, {url: shelf.URL}}
	for i, st := range leaseSteps {
		var got [2]answer
		for j, s := range sides {
			got[j] = s.send(t, c, st)
			if s.r0 == "" && st.path == "/v3/lease/grant" && !strings.Contains(st.body, `"ID"`) && got[j].status == http.StatusOK {
				var g struct{ ID string }
				if err := json.Unmarshal([]byte(got[j].body), &g); err != nil || g.ID == "" {
					t.Fatalf("step %d: grant with ID 0 answered %s", i, got[j].body)
				}
				s.r0 = g.ID
				got[j] = s.normalise(got[j])
			}
		}
		if got[0] != got[1] {
			t.Fatalf("step %d %s %s %s differs:\netcd:  %d %s\nshelf: %d %s", i, st.method, st.path, st.body,
				got[0].status, got[0].body, got[1].status, got[1].body)
		}
	}
	t.Logf("%d lease requests, identical answers from %s and shelf", len(leaseSteps), etcd.Version)
}
