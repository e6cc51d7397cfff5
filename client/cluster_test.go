package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestStatusAndMembers covers Status on each member and every member call.
func TestStatusAndMembers(t *testing.T) {
	cl := startCluster(t, 3)
	c := newClient(t, cl.endpoints, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var leader uint64
	for i, ep := range cl.endpoints {
		st, err := c.Status(ctx, ep)
		if err != nil {
			t.Fatalf("status of %s: %v", ep, err)
		}
		if st.Header.MemberID != uint64(cl.servers[i].ID()) || st.Leader == 0 || st.RaftIndex == 0 || st.IsLearner {
			t.Fatalf("status of member %d: %+v", i, st)
		}
		if leader != 0 && st.Leader != leader {
			t.Fatalf("members disagree on the leader: %d vs %d", leader, st.Leader)
		}
		leader = st.Leader
	}
	if _, err := c.Status(ctx, "127.0.0.1:2379"); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("status of a bad URL: %v", err)
	}

	list, err := c.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Members) != 3 || list.Header.ClusterID == 0 {
		t.Fatalf("member list: %+v", list)
	}
	for _, m := range list.Members {
		if m.ID == 0 || len(m.PeerURLs) != 1 {
			t.Fatalf("member %+v", m)
		}
	}

	// A learner that never starts: it does not count for quorum, and
	// promoting it is refused, as etcd does, because it has not caught up;
	// it is removed again.
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	add, err := c.MemberAddAsLearner(ctx, []string{peer})
	if err != nil {
		t.Fatal(err)
	}
	if add.Member == nil || !add.Member.IsLearner || add.Member.ID == 0 || len(add.Members) != 4 {
		t.Fatalf("add learner: %+v", add)
	}
	var se *Error
	if _, err := c.MemberPromote(ctx, add.Member.ID); !errors.As(err, &se) || se.Code != CodeFailedPrecondition ||
		!strings.Contains(se.Message, "in sync with leader") {
		t.Fatalf("promoting a learner that never started: %v", err)
	}
	rm, err := c.MemberRemove(ctx, add.Member.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rm.Members) != 3 {
		t.Fatalf("after remove: %+v", rm.Members)
	}
	if _, err := c.MemberRemove(ctx, add.Member.ID); !errors.As(err, &se) {
		t.Fatalf("second remove: %v", err)
	}
	if _, err := c.MemberAdd(ctx, nil); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("add without URLs: %v", err)
	}
	if _, err := c.MemberAdd(ctx, []string{"not a url"}); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("add with a bad URL: %v", err)
	}
	if _, err := c.MemberRemove(ctx, 0); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("remove 0: %v", err)
	}
}

// TestConfig checks New's validation: each bad input is refused with an
// error that names it.
func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "Endpoints is empty"},
		{Config{Endpoints: []string{"127.0.0.1:2379"}}, `"127.0.0.1:2379"`},
		{Config{Endpoints: []string{"ftp://h:1"}}, `scheme must be http or https`},
		{Config{Endpoints: []string{"http://h"}}, `"http://h": no port`},
		{Config{Endpoints: []string{"http://:1"}}, `no host`},
		{Config{Endpoints: []string{"http://h:1/v3"}}, `without path`},
		{Config{Endpoints: []string{"http://h:1", "http://%zz"}}, `"http://%zz"`},
		{Config{Endpoints: []string{"http://h:1"}, DialTimeout: -1}, "DialTimeout is negative"},
		{Config{Endpoints: []string{"http://h:1"}, RequestTimeout: -1}, "RequestTimeout is negative"},
	} {
		_, err := New(tc.cfg)
		if !errors.Is(err, ErrInvalidConfig) || !contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want ErrInvalidConfig naming %s", tc.cfg, err, tc.want)
		}
	}
	c, err := New(Config{Endpoints: []string{"http://h:1/", "https://[::1]:2379"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Endpoints(); !eq(got, []string{"http://h:1", "https://[::1]:2379"}) {
		t.Fatalf("endpoints %v", got)
	}
	c.Close()
	if _, err := c.Get(context.Background(), "k"); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
