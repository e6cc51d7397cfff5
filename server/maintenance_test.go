package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/snapshot"
)

// TestMoveLeader: on a 3-member cluster a follower answers etcd's "not
// leader", an unknown target is etcd's "bad leader transferee", and the
// leader hands over to the target and answers {} once the target leads.
func TestMoveLeader(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	li := c.waitLeader()
	lead, target := c.servers[li], c.servers[(li+1)%3]
	body := fmt.Sprintf(`{"targetID":"%d"}`, uint64(target.ID()))
	if code, got := postT(t, target, "/v3/maintenance/transfer-leadership", body); code != 412 ||
		got != `{"error":"etcdserver: not leader","message":"etcdserver: not leader","code":9}` {
		t.Fatalf("on a follower: %d %s", code, got)
	}
	if code, got := postT(t, lead, "/v3/maintenance/transfer-leadership", `{"targetID":"5"}`); code != 412 ||
		got != `{"error":"etcdserver: bad leader transferee","message":"etcdserver: bad leader transferee","code":9}` {
		t.Fatalf("unknown target: %d %s", code, got)
	}
	if code, got := postT(t, lead, "/v3/maintenance/transfer-leadership", body); code != 200 || got != "{}" {
		t.Fatalf("transfer: %d %s", code, got)
	}
	if target.Leader() != target.ID() {
		t.Fatalf("answered before the target leads: leader %s", target.Leader())
	}
	if c.servers[c.waitLeader()] != target {
		t.Fatal("the cluster does not agree on the new leader")
	}
	put(t, lead, "after", "move")
}

// TestDefragmentWritesSnapshotAndCutsWAL: defragment saves a snapshot at
// the applied index and cuts the WAL before it (keeping the catch-up
// entries); a restart loads it and keeps every write.
func TestDefragmentWritesSnapshotAndCutsWAL(t *testing.T) {
	c := newTestCluster(t, 1, func(cfg *Config) { cfg.SnapshotCatchUpEntries = 10 })
	s := c.start(0)
	c.waitLeader()
	for i := 0; i < 200; i++ {
		put(t, s, fmt.Sprintf("k%03d", i), fmt.Sprint(i))
	}
	if code, got := postT(t, s, "/v3/maintenance/defragment", "{}"); code != 200 || got != "{}" {
		t.Fatalf("defragment: %d %s", code, got)
	}
	applied := s.Store().AppliedIndex()
	paths, err := snapshot.List(s.snapDir)
	if err != nil || len(paths) == 0 {
		t.Fatalf("no snapshot after defragment: %v", err)
	}
	meta, err := snapshot.ReadMeta(paths[len(paths)-1])
	if err != nil || meta.Index != applied {
		t.Fatalf("newest snapshot at %d, applied %d (%v)", meta.Index, applied, err)
	}
	if first, _ := s.w.FirstIndex(); first < applied-10 {
		t.Fatalf("WAL starts at %d, want the cut at %d", first, applied-10)
	}
	// Nothing applied since: a second defragment returns at once.
	if err := s.Defragment(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.stop(0)
	s = c.start(0)
	c.waitLeader()
	for i := 0; i < 200; i += 37 {
		if got := mustGet(t, s, fmt.Sprintf("k%03d", i), false); got != fmt.Sprint(i) {
			t.Fatalf("k%03d = %q after restart", i, got)
		}
	}
}

// readSnapshotStream reads a /v3/maintenance/snapshot stream into a file.
func readSnapshotStream(t *testing.T, s *Server, path string) {
	t.Helper()
	resp, err := http.Post("http://"+s.ClientAddrs()[0]+"/v3/maintenance/snapshot", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var lines int
	var last jsonSnapshotResponse
	for sc.Scan() {
		var msg struct {
			Result *jsonSnapshotResponse `json:"result"`
			Error  json.RawMessage       `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil || msg.Result == nil {
			t.Fatalf("line %d: %s (%v)", lines, sc.Bytes(), err)
		}
		if lines == 0 && msg.Result.RemainingBytes == "" {
			t.Fatalf("first message has no remaining_bytes: %.200s", sc.Bytes())
		}
		f.Write(msg.Result.Blob)
		last = *msg.Result
		lines++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if lines < 2 || last.RemainingBytes != "" {
		t.Fatalf("%d messages, last remaining %q", lines, last.RemainingBytes)
	}
}

// TestSnapshotStreamsConsistentFile: the streamed snapshot, taken while
// writes go on, is a valid shelf snapshot file that loads and holds every
// key written before it was asked for.
func TestSnapshotStreamsConsistentFile(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	lead := c.servers[c.waitLeader()]
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ { // incompressible values: the file spans several messages
		var v strings.Builder
		for range 20 {
			fmt.Fprintf(&v, "%016x", rnd.Uint64())
		}
		put(t, lead, fmt.Sprintf("k%03d", i), v.String())
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // writes while the snapshot is taken and streamed
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := lead.Put(context.Background(), &mvcc.PutRequest{Key: []byte(fmt.Sprintf("during%d", i)), Value: []byte("x")}); err != nil {
				return
			}
		}
	}()
	path := filepath.Join(t.TempDir(), "snap.db")
	follower := c.servers[(c.waitLeader()+1)%3]
	// A snapshot is of the member's own applied state, as in etcd: catch
	// the follower up with the 500 acknowledged puts first (a linearizable
	// read waits for them).
	if _, err := follower.Range(context.Background(), &mvcc.RangeRequest{Key: []byte("k499")}, false); err != nil {
		t.Fatal(err)
	}
	readSnapshotStream(t, follower, path)
	close(stop)
	wg.Wait()
	meta, _, err := snapshot.Verify(path, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, meta2, _, err := snapshot.Load(path, mvcc.Config{Clock: wallClock{}}, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if meta.ClusterID != follower.ClusterID() || meta2.Index != meta.Index || len(meta.ConfState.Voters) != 3 {
		t.Fatalf("meta %+v", meta)
	}
	resp, err := st.Range(&mvcc.RangeRequest{Key: []byte("k"), RangeEnd: []byte("l"), CountOnly: true})
	if err != nil || resp.Count != 500 {
		t.Fatalf("snapshot holds %v keys k*, want 500 (%v)", resp, err)
	}
	if entries, _ := os.ReadDir(follower.cfg.DataDir); len(entries) > 2 {
		t.Fatalf("temporary snapshot left behind: %v", entries)
	}
}

// TestMemberUpdatePeerURLs: a member's peer URLs are updated through raft
// on every member; the member, restarted to listen on the new URL, is
// dialed there and catches up. Bad input gets etcd's errors.
func TestMemberUpdatePeerURLs(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.startAll()
	li := c.waitLeader()
	lead := c.servers[li]
	fi := (li + 1) % 3
	fid := c.servers[fi].ID()
	c.stop(fi)
	newURL := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	code, got := postT(t, lead, "/v3/cluster/member/update", fmt.Sprintf(`{"ID":"%d","peerURLs":["%s"]}`, uint64(fid), newURL))
	if code != 200 || !strings.Contains(got, fmt.Sprintf(`"peerURLs":["%s"]`, newURL)) || !strings.HasPrefix(got, `{"header":{`) {
		t.Fatalf("update: %d %s", code, got)
	}
	for _, bad := range []struct{ body, want string }{
		{`{"ID":"5","peerURLs":["http://127.0.0.1:1"]}`, `"etcdserver: member not found","code":5`},
		{fmt.Sprintf(`{"ID":"%d","peerURLs":["nope"]}`, uint64(fid)), `"etcdserver: given member URLs are invalid","code":3`},
		{fmt.Sprintf(`{"ID":"%d","peerURLs":["%s"]}`, uint64(fid), lead.cfg.AdvertisePeerURLs[0]), `"etcdserver: Peer URLs already exists","code":9`},
	} {
		if code, got := postT(t, lead, "/v3/cluster/member/update", bad.body); code == 200 || !strings.Contains(got, bad.want) {
			t.Errorf("%s: %d %s, want %s", bad.body, code, got, bad.want)
		}
	}
	put(t, lead, "while", "away")
	c.cfgs[fi].ListenPeerURLs = []string{newURL} // its ID still comes from the initial cluster
	s := c.start(fi)
	for _, m := range []*Server{lead, s} {
		waitFor(t, "the new URL in the member list", func() bool {
			mi, ok := m.members.get(fid)
			return ok && len(mi.PeerURLs) == 1 && mi.PeerURLs[0] == newURL
		})
	}
	put(t, lead, "after", "update")
	waitFor(t, "the moved member to catch up", func() bool { return s.Store().Rev() >= lead.Store().Rev() })
	if got := mustGet(t, s, "after", true); got != "update" {
		t.Fatalf("moved member reads %q", got)
	}
}
