package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// A member learns that it was removed when it applies its own RemoveNode.
// But once the leader has applied that entry it stops replicating to the
// removed member, which may then never see the entry committed: it sits
// without a leader forever, campaigning in vain. etcd has the same gap and
// closes it by asking its peers; so does removalWatch. A member that has
// had no leader for a while asks the other members (on their client URLs)
// whether it is still one; if a member that has a leader and has applied at
// least as much of the log as we have lists us no more, we were removed
// and stop.

// removalCheckAfter is how many election timeouts without a leader pass
// before the member asks its peers.
const removalCheckAfter = 5

func (s *Server) removalWatch() {
	t := time.NewTicker(s.cfg.ElectionTimeout)
	defer t.Stop()
	leaderless := 0
	client := s.peerHTTP()
	for {
		select {
		case <-s.stopc:
			return
		case <-t.C:
		}
		if s.Leader() != raftpb.None {
			leaderless = 0
			continue
		}
		if leaderless++; leaderless < removalCheckAfter {
			continue
		}
		leaderless = 0
		if s.removedPerPeers(client) {
			s.log.Warn("the other members say this member was removed from the cluster; stopping")
			go s.Stop()
			return
		}
	}
}

// removedPerPeers asks each other member with a known client URL.
func (s *Server) removedPerPeers(client *http.Client) bool {
	applied := uint64(s.applied.get())
	for _, m := range s.members.list() {
		if m.ID == s.id || len(m.ClientURLs) == 0 {
			continue
		}
		var st struct {
			Leader           string `json:"leader"`
			RaftAppliedIndex string `json:"raftAppliedIndex"`
		}
		if !postJSON(client, m.ClientURLs[0]+"/v3/maintenance/status", &st) {
			continue
		}
		peerApplied, _ := strconv.ParseUint(st.RaftAppliedIndex, 10, 64)
		if st.Leader == "" || st.Leader == "0" || peerApplied < applied {
			continue
		}
		var list jsonMemberResponse
		if !postJSON(client, m.ClientURLs[0]+"/v3/cluster/member/list", &list) || len(list.Members) == 0 {
			continue
		}
		me := strconv.FormatUint(uint64(s.id), 10)
		found := false
		for _, jm := range list.Members {
			found = found || jm.ID == me
		}
		return !found
	}
	return false
}

func postJSON(client *http.Client, url string, out any) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte("{}")))
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(out) == nil
}
