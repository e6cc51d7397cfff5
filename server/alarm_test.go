package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/mvcc"
)

// postT posts body to path on s's client URL and returns the status and
// the body.
func postT(t *testing.T, s *Server, path, body string) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+s.ClientAddrs()[0]+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func hasAlarm(s *Server, id uint64, t alarmType) bool {
	for _, m := range s.alarms.list(alarmNone) {
		if uint64(m.MemberID) == id && m.Alarm == t {
			return true
		}
	}
	return false
}

// TestNoSpaceAlarmRaisedRefusesGrowthAndClearsItself fills a member past
// the quota: the refusal raises a replicated NOSPACE alarm that status
// lists as etcd does; while it is active puts, txns with a put and lease
// grants are refused with etcd's error, while reads, deletes and compaction
// work; once space is reclaimed the alarm clears itself (shelf's
// deliberate difference from etcd) and puts work again.
func TestNoSpaceAlarmRaisedRefusesGrowthAndClearsItself(t *testing.T) {
	c := newTestCluster(t, 1, func(cfg *Config) { cfg.QuotaBackendBytes = 20_000 })
	s := c.start(0)
	c.waitLeader()
	ctx := context.Background()
	val := []byte(strings.Repeat("x", 500))
	var err error
	for n := 0; n < 1000 && err == nil; n++ {
		_, err = s.Put(ctx, &mvcc.PutRequest{Key: []byte(fmt.Sprintf("q%03d", n)), Value: val})
	}
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("filling: %v, want ErrNoSpace", err)
	}
	id := uint64(s.ID())
	waitFor(t, "the NOSPACE alarm", func() bool { return hasAlarm(s, id, alarmNoSpace) })

	code, body := postT(t, s, "/v3/maintenance/status", "{}")
	if want := fmt.Sprintf(`"errors":["memberID:%d alarm:NOSPACE "]`, id); code != 200 || !strings.Contains(body, want) {
		t.Fatalf("status: %d %s, want %s", code, body, want)
	}
	code, body = postT(t, s, "/v3/maintenance/alarm", `{"action":"GET"}`)
	if want := fmt.Sprintf(`{"alarms":[{"memberID":"%d","alarm":"NOSPACE"}]}`, id); code != 200 || body != want {
		t.Fatalf("alarm list: %d %s, want %s", code, body, want)
	}
	code, body = postT(t, s, "/v3/kv/put", `{"key":"YQ==","value":"Yg=="}`)
	if want := `{"error":"etcdserver: mvcc: database space exceeded","message":"etcdserver: mvcc: database space exceeded","code":8}`; code != 429 || body != want {
		t.Fatalf("put under NOSPACE: %d %s", code, body)
	}
	// The apply-time refusal (what a write proposed before the alarm meets).
	for name, req := range map[string]*request{
		"put":         {Put: &mvcc.PutRequest{Key: []byte("a")}},
		"txn put":     {Txn: &mvcc.TxnRequest{Success: []*mvcc.RequestOp{{RequestPut: &mvcc.PutRequest{Key: []byte("a")}}}}},
		"lease grant": {LeaseGrant: &leaseGrantRequest{ID: 1, TTL: 10}},
	} {
		if err := s.alarms.refuse(req); !errors.Is(err, ErrNoSpace) {
			t.Errorf("%s under NOSPACE: %v, want ErrNoSpace", name, err)
		}
	}
	if _, err := s.LeaseGrant(ctx, 0, 10); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("lease grant under NOSPACE: %v", err)
	}
	if got := mustGet(t, s, "q000", false); got != string(val) {
		t.Fatalf("read under NOSPACE: %q", got)
	}
	if _, err := s.DeleteRange(ctx, &mvcc.DeleteRangeRequest{Key: []byte("q"), RangeEnd: []byte("r")}); err != nil {
		t.Fatalf("delete under NOSPACE: %v", err)
	}
	if _, err := s.Compact(ctx, s.Store().Rev()); err != nil {
		t.Fatalf("compact under NOSPACE: %v", err)
	}
	if err := s.Store().WaitCompaction(ctx, s.Store().Rev()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "NOSPACE to clear itself", func() bool { return len(s.alarms.list(alarmNone)) == 0 })
	put(t, s, "again", "v")
}

// TestCorruptAlarmRefusesWritesNotReads raises CORRUPT by hand on a
// 3-member cluster: every member then refuses put, delete, write txn,
// compaction and lease grant/revoke with etcd's "corrupt cluster" (DataLoss,
// HTTP 500), and still serves reads, as etcd 3.4 does; disarming it lets
// writes through again.
func TestCorruptAlarmRefusesWritesNotReads(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	lead := c.servers[c.waitLeader()]
	put(t, lead, "k", "v")
	id := uint64(c.servers[1].ID())
	code, body := postT(t, c.servers[0], "/v3/maintenance/alarm", fmt.Sprintf(`{"action":"ACTIVATE","memberID":"%d","alarm":"CORRUPT"}`, id))
	if want := fmt.Sprintf(`{"alarms":[{"memberID":"%d","alarm":"CORRUPT"}]}`, id); code != 200 || body != want {
		t.Fatalf("activate: %d %s, want %s", code, body, want)
	}
	for i, s := range c.servers {
		waitFor(t, "the alarm on every member", func() bool { return hasAlarm(s, id, alarmCorrupt) })
		code, body := postT(t, s, "/v3/kv/put", `{"key":"YQ==","value":"Yg=="}`)
		if want := `{"error":"etcdserver: corrupt cluster","message":"etcdserver: corrupt cluster","code":15}`; code != 500 || body != want {
			t.Fatalf("member %d: put under CORRUPT: %d %s", i, code, body)
		}
		ctx := context.Background()
		if _, err := s.DeleteRange(ctx, &mvcc.DeleteRangeRequest{Key: []byte("k")}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("member %d: delete under CORRUPT: %v", i, err)
		}
		if _, err := s.Compact(ctx, 1); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("member %d: compact under CORRUPT: %v", i, err)
		}
		if _, err := s.LeaseGrant(ctx, 0, 10); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("member %d: lease grant under CORRUPT: %v", i, err)
		}
		if _, err := s.LeaseRevoke(ctx, 5); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("member %d: lease revoke under CORRUPT: %v", i, err)
		}
		txn := &mvcc.TxnRequest{Success: []*mvcc.RequestOp{{RequestDeleteRange: &mvcc.DeleteRangeRequest{Key: []byte("k")}}}}
		if _, err := s.Txn(ctx, txn); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("member %d: write txn under CORRUPT: %v", i, err)
		}
		if got := mustGet(t, s, "k", false); got != "v" {
			t.Fatalf("member %d: read under CORRUPT: %q", i, got)
		}
	}
	code, body = postT(t, c.servers[2], "/v3/maintenance/alarm", fmt.Sprintf(`{"action":"DEACTIVATE","memberID":"%d","alarm":"CORRUPT"}`, id))
	if want := fmt.Sprintf(`{"alarms":[{"memberID":"%d","alarm":"CORRUPT"}]}`, id); code != 200 || body != want {
		t.Fatalf("deactivate: %d %s, want %s", code, body, want)
	}
	// Disarming what is not raised answers {} as etcd does.
	if code, body = postT(t, c.servers[2], "/v3/maintenance/alarm", fmt.Sprintf(`{"action":"DEACTIVATE","memberID":"%d","alarm":"CORRUPT"}`, id)); code != 200 || body != "{}" {
		t.Fatalf("second deactivate: %d %s", code, body)
	}
	put(t, c.servers[1], "k", "v2")
}

// TestAlarmBadRequests: unknown actions and alarm types are refused with
// InvalidArgument naming the field (etcd 3.4 crashes on an unknown action
// number); activating NONE is refused.
func TestAlarmBadRequests(t *testing.T) {
	c := newTestCluster(t, 1, nil)
	s := c.start(0)
	c.waitLeader()
	for body, want := range map[string]string{
		`{"action":"BOGUS"}`: `unknown value \"BOGUS\" for action`,
		`{"action":7}`:       `unknown value 7 for action`,
		`{"action":"ACTIVATE","memberID":"1","alarm":"FIRE"}`: `unknown value \"FIRE\" for alarm`,
		`{"action":"ACTIVATE","memberID":"1"}`:                `alarm other than NONE`,
		`{"action":"ACTIVATE","alarm":"NOSPACE"}`:             `needs a memberID`,
		`{"action":`: `unexpected end of JSON input`,
	} {
		code, got := postT(t, s, "/v3/maintenance/alarm", body)
		if code != 400 || !strings.Contains(got, want) || !strings.Contains(got, `"code":3`) {
			t.Errorf("%s: %d %s, want 400 with %s", body, code, got, want)
		}
	}
	if code, got := postT(t, s, "/v3/maintenance/alarm", ""); code != 200 || got != "{}" {
		t.Errorf("empty GET: %d %s", code, got)
	}
}

// TestAlarmSurvivesRestartAndSnapshot: an alarm is part of the replicated
// state: a member restarted from its WAL, from its own snapshot, or from a
// snapshot the leader sent still has it.
func TestAlarmSurvivesRestartAndSnapshot(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.SnapshotCatchUpEntries = 1 })
	c.startAll()
	li := c.waitLeader()
	lagging := (li + 1) % 3
	put(t, c.servers[li], "k", "v")
	c.stop(lagging)
	ctx := context.Background()
	id := uint64(c.servers[li].ID())
	if _, err := c.servers[li].Alarm(ctx, alarmRequest{Action: alarmActivate, MemberID: jsonUint64(id), Alarm: alarmCorrupt}); err != nil {
		t.Fatal(err)
	}
	raisedAt := c.servers[li].applied.get()
	for range 5 { // entries past the lagging member's log, so the WAL cut leaves it behind
		if _, err := c.servers[li].Alarm(ctx, alarmRequest{Action: alarmGet}); err != nil {
			t.Fatal(err)
		}
	}
	other := 3 - li - lagging
	// From the WAL only.
	c.stop(other)
	c.start(other)
	waitFor(t, "the alarm replayed from the WAL", func() bool { return hasAlarm(c.servers[other], id, alarmCorrupt) })
	// From the member's own snapshot (Defragment writes one now).
	c.waitLeader()
	if err := c.servers[other].Defragment(ctx); err != nil {
		t.Fatal(err)
	}
	if first, _ := c.servers[other].w.FirstIndex(); first <= raisedAt {
		t.Fatalf("WAL still holds the alarm's entry %d (first index %d)", raisedAt, first)
	}
	c.stop(other)
	c.start(other)
	if !hasAlarm(c.servers[other], id, alarmCorrupt) || c.servers[other].snapIndex == 0 {
		t.Fatalf("alarm lost across a restart from a snapshot (snapshot index %d)", c.servers[other].snapIndex)
	}
	// From a snapshot sent by the leader.
	li = c.waitLeader()
	if err := c.servers[li].Defragment(ctx); err != nil {
		t.Fatal(err)
	}
	s := c.start(lagging)
	waitFor(t, "the lagging member to install a snapshot", func() bool { return s.snapIndexSeen() > 0 })
	if !hasAlarm(s, id, alarmCorrupt) {
		t.Fatal("alarm missing on a member that installed the leader's snapshot")
	}
}

// TestSnapBlobReadsOldMemberList: snapshots written before alarms existed
// hold the bare member list; they still load.
func TestSnapBlobReadsOldMemberList(t *testing.T) {
	s := &Server{members: newMemberSet(), alarms: newAlarmSet()}
	old, _ := json.Marshal([]memberInfo{{ID: 7, Name: "a", PeerURLs: []string{"http://127.0.0.1:1"}}})
	if err := s.restoreSnapBlob(old); err != nil {
		t.Fatal(err)
	}
	if m, ok := s.members.get(7); !ok || m.Name != "a" {
		t.Fatalf("member from an old blob: %+v %v", m, ok)
	}
	s.alarms.set(alarmMember{MemberID: 7, Alarm: alarmNoSpace}, true)
	blob := s.encodeSnapBlob()
	r := &Server{members: newMemberSet(), alarms: newAlarmSet()}
	if err := r.restoreSnapBlob(blob); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(blob, []byte(`"alarms"`)) || !hasAlarm(r, 7, alarmNoSpace) {
		t.Fatalf("round trip lost the alarm: %s", blob)
	}
	if err := r.restoreSnapBlob([]byte(`{"members":`)); err == nil {
		t.Fatal("a corrupt blob was accepted")
	}
}
