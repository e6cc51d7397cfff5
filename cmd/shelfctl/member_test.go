package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/client"
	"github.com/shelf-kv/shelf/internal/freeport"
)

// TestMemberAddPromoteRemove adds a learner that never starts (so the
// quorum is unchanged), shows it in the list, fails to promote it (it
// has not caught up), and removes it; in simple and json output.
func TestMemberAddPromoteRemove(t *testing.T) {
	port, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	peer := fmt.Sprintf("http://127.0.0.1:%d", port)
	out := ok(t, ctl(t, "member", "add", "newbie", "--peer-urls", peer, "--learner"))
	var id uint64
	if _, err := fmt.Sscanf(out, "Member %x added to cluster", &id); err != nil || id == 0 {
		t.Fatalf("member add: %q (%v)", out, err)
	}
	c, err := client.New(client.Config{Endpoints: []string{env.members[0].client}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	list, err := c.MemberList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var conf []string
	for _, m := range list.Members {
		name := m.Name
		if m.ID == id {
			name = "newbie"
		}
		conf = append(conf, name+"="+m.PeerURLs[0])
	}
	want := fmt.Sprintf("Member %16x added to cluster %16x\n\nSHELF_NAME=\"newbie\"\nSHELF_INITIAL_CLUSTER=%q\n"+
		"SHELF_INITIAL_ADVERTISE_PEER_URLS=%q\nSHELF_INITIAL_CLUSTER_STATE=\"existing\"\n", id, env.cluster, strings.Join(conf, ","), peer)
	if out != want {
		t.Errorf("member add\n got %q\nwant %q", out, want)
	}
	listOut := ok(t, ctl(t, "member", "list"))
	if row := fmt.Sprintf("%x, unstarted, , %s, , true\n", id, peer); !strings.Contains(listOut, row) {
		t.Errorf("member list %q lacks %q", listOut, row)
	}
	r := ctl(t, "member", "promote", fmt.Sprintf("%x", id))
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: etcdserver: can only promote a learner member which is in sync with leader") {
		t.Errorf("promote of a learner that never started: %+v", r)
	}
	expect(t, "member remove", ctl(t, "member", "remove", fmt.Sprintf("%x", id)),
		fmt.Sprintf("Member %16x removed from cluster %16x\n", id, env.cluster))
	fails(t, "remove again", ctl(t, "member", "remove", fmt.Sprintf("%x", id)), 1, "Error: etcdserver: member not found\n")

	// The same in JSON: the new member, then the list without it.
	out = ok(t, ctl(t, "member", "add", "newbie2", "--peer-urls", peer, "--learner", "-w", "json"))
	var added struct {
		Header struct {
			ClusterID uint64 `json:"cluster_id"`
		} `json:"header"`
		Member  map[string]any   `json:"member"`
		Members []map[string]any `json:"members"`
	}
	if err := json.Unmarshal([]byte(out), &added); err != nil {
		t.Fatalf("member add -w json: %v: %s", err, out)
	}
	id2, _ := added.Member["ID"].(float64)
	if added.Header.ClusterID != env.cluster || added.Member["isLearner"] != true || len(added.Members) != 4 ||
		!strings.Contains(out, fmt.Sprintf(`"peerURLs":[%q],"isLearner":true`, peer)) || id2 == 0 {
		t.Errorf("member add -w json: %s", out)
	}
	// The ID is a JSON number too large for a float; read it back from the list.
	var newID uint64
	list, err = c.MemberList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list.Members {
		if m.IsLearner {
			newID = m.ID
		}
	}
	if !strings.Contains(out, fmt.Sprintf(`"member":{"ID":%d,`, newID)) {
		t.Errorf("member add -w json: member ID %d not in %s", newID, out)
	}
	out = ok(t, ctl(t, "member", "remove", fmt.Sprintf("%x", newID), "-w", "json"))
	if strings.Contains(out, "isLearner") || strings.Count(out, `"ID":`) != 3 || !strings.HasPrefix(out, `{"header":{"cluster_id":`) {
		t.Errorf("member remove -w json: %s", out)
	}
	fails(t, "member add -w table", ctl(t, "member", "add", "x", "--peer-urls", peer, "-w", "table"), 4,
		"Error: table not supported as output format\n")
}
