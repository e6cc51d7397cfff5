package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/snapshot"
)

func activateAlarm(t *testing.T, ep string, member uint64, alarm string) {
	t.Helper()
	resp, err := http.Post(ep+"/v3/maintenance/alarm", "application/json",
		strings.NewReader(fmt.Sprintf(`{"action":"ACTIVATE","memberID":"%d","alarm":"%s"}`, member, alarm)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("activate: HTTP %d", resp.StatusCode)
	}
}

// TestClientAlarms: AlarmList sees a raised CORRUPT alarm, writes fail with
// ErrCorrupt, and AlarmDisarm of the zero member clears every alarm.
func TestClientAlarms(t *testing.T) {
	c := startCluster(t, 3)
	cl := newClient(t, c.endpoints, nil)
	ctx := context.Background()
	if r, err := cl.AlarmList(ctx); err != nil || len(r.Alarms) != 0 {
		t.Fatalf("no alarms yet: %+v %v", r, err)
	}
	activateAlarm(t, c.endpoints[0], c.id(1), "CORRUPT")
	r, err := cl.AlarmList(ctx)
	if err != nil || len(r.Alarms) != 1 || r.Alarms[0] != (AlarmMember{MemberID: c.id(1), Alarm: AlarmCorrupt}) {
		t.Fatalf("list: %+v %v", r, err)
	}
	if r.Alarms[0].Alarm.String() != "CORRUPT" {
		t.Fatalf("String: %s", r.Alarms[0].Alarm)
	}
	if _, err := cl.Put(ctx, "k", "v"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("put under CORRUPT: %v", err)
	}
	d, err := cl.AlarmDisarm(ctx, AlarmMember{})
	if err != nil || len(d.Alarms) != 1 || d.Alarms[0].MemberID != c.id(1) {
		t.Fatalf("disarm all: %+v %v", d, err)
	}
	if r, err := cl.AlarmList(ctx); err != nil || len(r.Alarms) != 0 {
		t.Fatalf("after disarm: %+v %v", r, err)
	}
	if _, err := cl.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
}

// TestClientHashDefragMoveLeader: HashKV at the same revision is equal on
// every member; Hash and Defragment answer per member; MoveLeader hands
// leadership to a follower, found through Status.
func TestClientHashDefragMoveLeader(t *testing.T) {
	c := startCluster(t, 3)
	cl := newClient(t, c.endpoints, nil)
	ctx := context.Background()
	var rev int64
	for i := 0; i < 30; i++ {
		r, err := cl.Put(ctx, fmt.Sprintf("k%d", i%7), fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		rev = r.Header.Revision
	}
	var want uint32
	for i, ep := range c.endpoints {
		var h *HashKVResponse
		deadline := time.Now().Add(10 * time.Second)
		var err error
		for { // a follower may not have applied rev yet
			if h, err = cl.HashKV(ctx, ep, rev); !errors.Is(err, ErrFutureRev) || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("hashkv on %s: %v", ep, err)
		}
		if h.Header.MemberID != c.id(i) || h.CompactRevision != 0 {
			t.Fatalf("hashkv header on %s: %+v", ep, h)
		}
		if i == 0 {
			want = h.Hash
		} else if h.Hash != want {
			t.Fatalf("hashkv at %d: %d on member 0, %d on member %d", rev, want, h.Hash, i)
		}
		if _, err := cl.Hash(ctx, ep); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Defragment(ctx, ep); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.HashKV(ctx, c.endpoints[0], -1); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("negative revision: %v", err)
	}
	f := c.follower()
	if _, err := cl.MoveLeader(ctx, c.id(f)); err != nil {
		t.Fatal(err)
	}
	st, err := cl.Status(ctx, c.endpoints[f])
	if err != nil || st.Leader != c.id(f) {
		t.Fatalf("after MoveLeader to %x: %+v %v", c.id(f), st, err)
	}
}

// TestClientSnapshot: Snapshot returns the bytes of a valid shelf snapshot
// file holding the data.
func TestClientSnapshot(t *testing.T) {
	c := startCluster(t, 3)
	cl := newClient(t, c.endpoints, nil)
	ctx := context.Background()
	for i := 0; i < 300; i++ {
		if _, err := cl.Put(ctx, fmt.Sprintf("key%03d", i), strings.Repeat(fmt.Sprint(i), 100)); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := cl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.snap")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := snapshot.Verify(path, snapshot.Options{}); err != nil {
		t.Fatal(err)
	}
	st, _, _, err := snapshot.Load(path, mvcc.Config{Clock: clock{}}, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := st.Range(&mvcc.RangeRequest{Key: []byte("key123")})
	if err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != strings.Repeat("123", 100) {
		t.Fatalf("key123 in the snapshot: %+v %v", r, err)
	}
}

type clock struct{}

func (clock) Now() time.Time { return time.Now() }

// TestClientMemberUpdate: MemberUpdate changes a member's peer URLs on
// every member's list; bad input is refused before sending.
func TestClientMemberUpdate(t *testing.T) {
	c := startCluster(t, 3)
	cl := newClient(t, c.endpoints, nil)
	ctx := context.Background()
	f := c.follower()
	c.stop(f)
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	r, err := cl.MemberUpdate(ctx, c.id(f), []string{url})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, m := range r.Members {
		if m.ID == c.id(f) {
			found = len(m.PeerURLs) == 1 && m.PeerURLs[0] == url
		}
	}
	if !found {
		t.Fatalf("member list after update: %+v", r.Members)
	}
	if _, err := cl.MemberUpdate(ctx, 0, []string{url}); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("ID 0: %v", err)
	}
	if _, err := cl.MemberUpdate(ctx, c.id(f), nil); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("no URLs: %v", err)
	}
}

// TestSnapshotReaderDecodesAndDetectsTruncation: the stream decoder joins
// the blobs, reports a stream that ends while bytes were still announced
// (or with no message at all) as io.ErrUnexpectedEOF, and turns an error
// message into an *Error.
func TestSnapshotReaderDecodesAndDetectsTruncation(t *testing.T) {
	first := `{"result":{"remaining_bytes":"3","blob":"YWI="}}` + "\n"
	last := `{"result":{"blob":"Y2Rl"}}` + "\n"
	read := func(s string) ([]byte, error) {
		r := &snapshotReader{ep: "http://x", body: io.NopCloser(nil), r: bufio.NewReader(strings.NewReader(s))}
		return io.ReadAll(r)
	}
	if b, err := read(first + last); err != nil || string(b) != "abcde" {
		t.Fatalf("whole stream: %q %v", b, err)
	}
	for name, s := range map[string]string{"cut": first, "empty": ""} {
		if _, err := read(s); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s stream: %v, want io.ErrUnexpectedEOF", name, err)
		}
	}
	_, err := read(first + `{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: server stopped"}}` + "\n")
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUnavailable || !errors.Is(err, ErrStopped) {
		t.Fatalf("error message: %v", err)
	}
	if _, err := read("not json\n"); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("garbage: %v", err)
	}
}
