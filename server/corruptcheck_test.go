package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
)

// syncBuffer is a log sink shared by the members of a test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// corruptBehindRaft replaces s's store by a copy in which key's latest
// value differs: a silent divergence raft knows nothing about. It runs on
// the raft loop, so no entry is applied to the old store meanwhile.
func corruptBehindRaft(t *testing.T, s *Server, key string) {
	t.Helper()
	var err error
	runErr := s.onLoop(context.Background(), func() {
		old := s.Store()
		v := old.View()
		var r *mvcc.Restorer
		if r, err = mvcc.NewRestorer(s.mvccConfig(), v.Header()); err != nil {
			return
		}
		for _, l := range v.Leases() {
			if err = r.AddLease(l); err != nil {
				return
			}
		}
		if err = v.ForEach(func(kr mvcc.KeyRevision) error {
			if string(kr.Key) == key && !kr.Tombstone {
				kr.Value = []byte("silently changed")
			}
			return r.AddKeyRevision(kr)
		}); err != nil {
			return
		}
		var st *mvcc.Store
		if st, err = r.Finish(); err != nil {
			return
		}
		s.store.Store(st)
		old.Close()
	})
	if runErr != nil || err != nil {
		t.Fatalf("corrupting the store: %v %v", runErr, err)
	}
}

func counterValue(t *testing.T, s *Server, name string) float64 {
	t.Helper()
	mfs, err := s.cfg.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// waitSameRevision waits until every running member has applied rev.
func waitSameRevision(t *testing.T, c *testCluster, rev int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("every member at revision %d", rev), func() bool {
		for _, s := range c.servers {
			if s != nil && s.Store().Rev() < rev {
				return false
			}
		}
		return true
	})
}

// TestHashKVEqualOnEveryMember: after puts, deletes and a compaction, the
// hashkv of every member at the same revisions is the same, served with
// etcd's HashKVResponse shape; hash answers with etcd's HashResponse shape.
func TestHashKVEqualOnEveryMember(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	lead := c.servers[c.waitLeader()]
	for i := 0; i < 50; i++ {
		put(t, lead, fmt.Sprintf("k%02d", i%20), fmt.Sprint(i))
	}
	ctx := context.Background()
	if _, err := lead.DeleteRange(ctx, &mvcc.DeleteRangeRequest{Key: []byte("k05")}); err != nil {
		t.Fatal(err)
	}
	if _, err := lead.Compact(ctx, 30); err != nil {
		t.Fatal(err)
	}
	put(t, lead, "after", "compaction")
	rev := lead.Store().Rev()
	waitSameRevision(t, c, rev)
	for _, at := range []int64{30, 40, rev} {
		var want string
		for i, s := range c.servers {
			if err := s.Store().WaitCompaction(ctx, 30); err != nil {
				t.Fatal(err)
			}
			code, body := postT(t, s, "/v3/maintenance/hashkv", fmt.Sprintf(`{"revision":"%d"}`, at))
			var resp jsonHashKVResponse
			if err := json.Unmarshal([]byte(body), &resp); code != 200 || err != nil {
				t.Fatalf("member %d hashkv %d: %d %s", i, at, code, body)
			}
			if resp.CompactRevision != "30" || resp.Header.Revision != strconv.FormatInt(rev, 10) || resp.Header.MemberID != strconv.FormatUint(uint64(s.ID()), 10) {
				t.Fatalf("member %d hashkv %d: %s", i, at, body)
			}
			got := strconv.FormatUint(uint64(resp.Hash), 10)
			if i == 0 {
				want = got
			} else if got != want {
				t.Fatalf("hashkv at %d: member 0 has %s, member %d has %s", at, want, i, got)
			}
		}
	}
	// Different revisions hash differently; hash is the whole keyspace.
	_, b1 := postT(t, lead, "/v3/maintenance/hashkv", `{"revision":40}`)
	_, b2 := postT(t, lead, "/v3/maintenance/hashkv", fmt.Sprintf(`{"revision":%d}`, rev))
	if b1[strings.Index(b1, `"hash"`):] == b2[strings.Index(b2, `"hash"`):] {
		t.Fatalf("revisions 40 and %d hash the same: %s %s", rev, b1, b2)
	}
	code, body := postT(t, lead, "/v3/maintenance/hash", "{}")
	if code != 200 || !strings.HasPrefix(body, `{"header":{"cluster_id":"`) || !strings.Contains(body, `"hash":`) {
		t.Fatalf("hash: %d %s", code, body)
	}
	for req, want := range map[string]string{
		`{"revision":"10"}`:   "required revision has been compacted",
		`{"revision":"9999"}`: "required revision is a future revision",
		`{"revision":"x"}`:    "bad int64 x",
	} {
		if code, body := postT(t, lead, "/v3/maintenance/hashkv", req); code/100 == 2 || !strings.Contains(body, want) {
			t.Errorf("hashkv %s: %d %s, want an error with %q", req, code, body, want)
		}
	}
}

// TestConsistencyCheckRaisesCorrupt: on a 3-member cluster, one follower's
// store is changed behind raft's back; the leader's periodic check finds
// the mismatch, logs both hashes and member IDs, counts it in
// shelf_server_corruption_detected_total and raises a replicated CORRUPT
// alarm for that member, after which writes are refused.
func TestConsistencyCheckRaisesCorrupt(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	c := newTestCluster(t, 3, func(cfg *Config) {
		cfg.CorruptCheckTime = 50 * time.Millisecond
		cfg.Logger = logger
	})
	c.startAll()
	li := c.waitLeader()
	lead := c.servers[li]
	for i := 0; i < 20; i++ {
		put(t, lead, fmt.Sprintf("k%02d", i), fmt.Sprint(i))
	}
	waitSameRevision(t, c, lead.Store().Rev())
	victim := c.servers[(li+1)%3]
	waitFor(t, "the victim's client URLs to be published", func() bool {
		m, ok := lead.members.get(victim.ID())
		return ok && len(m.ClientURLs) > 0
	})
	corruptBehindRaft(t, victim, "k07")
	id := uint64(victim.ID())
	for _, s := range c.servers {
		waitFor(t, "the CORRUPT alarm on every member", func() bool { return hasAlarm(s, id, alarmCorrupt) })
	}
	if n := counterValue(t, lead, "shelf_server_corruption_detected_total"); n < 1 {
		t.Fatalf("corruption metric = %v", n)
	}
	mine, err := lead.HashKV(0)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := victim.HashKV(0)
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "hash mismatch") {
			line = l
			break
		}
	}
	for _, want := range []string{
		"leader=" + lead.ID().String(), fmt.Sprintf("leader_hash=%d", mine.Hash),
		"member=" + victim.ID().String(), fmt.Sprintf("member_hash=%d", theirs.Hash),
	} {
		if !strings.Contains(line, want) {
			t.Fatalf("mismatch log line %q lacks %q", line, want)
		}
	}
	if _, err := lead.Put(context.Background(), &mvcc.PutRequest{Key: []byte("x")}); err != ErrCorrupt {
		t.Fatalf("put after the CORRUPT alarm: %v", err)
	}
}

// TestConsistencyCheckNoFalseAlarm runs the check every 20ms while three
// writers put, delete and compact on a 3-member cluster: no alarm, no
// mismatch counted, and checks did compare members.
func TestConsistencyCheckNoFalseAlarm(t *testing.T) {
	var logs syncBuffer
	c := newTestCluster(t, 3, func(cfg *Config) {
		cfg.CorruptCheckTime = 20 * time.Millisecond
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	c.startAll()
	lead := c.servers[c.waitLeader()]
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := c.servers[w]
			// Write until the leader has compared hashes at least 10
			// times while writes were going on (and at least 300 ops).
			deadline := time.Now().Add(20 * time.Second)
			for i := 0; (i < 300 || lead.maint.compared.Load() < 10) && time.Now().Before(deadline); i++ {
				key := []byte(fmt.Sprintf("w%d-%02d", w, i%40))
				var err error
				switch {
				case i%50 == 49 && w == 0:
					_, err = s.Compact(ctx, s.Store().Rev()-10)
				case i%7 == 3:
					_, err = s.DeleteRange(ctx, &mvcc.DeleteRangeRequest{Key: key})
				default:
					_, err = s.Put(ctx, &mvcc.PutRequest{Key: key, Value: []byte(fmt.Sprint(i))})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := lead.maint.compared.Load(); n < 10 {
		t.Fatalf("only %d hash comparisons while writing", n)
	}
	if a := lead.alarms.list(alarmNone); len(a) != 0 {
		t.Fatalf("false alarm: %v\n%s", a, logs.String())
	}
	if n := counterValue(t, lead, "shelf_server_corruption_detected_total"); n != 0 {
		t.Fatalf("corruption metric = %v", n)
	}
}
