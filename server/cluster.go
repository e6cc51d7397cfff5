package server

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Member describes one member of the cluster as the operator named it.
type Member struct {
	ID       raftpb.NodeID
	Name     string
	PeerURLs []string
}

// ParseInitialCluster parses etcd's --initial-cluster syntax,
// "name1=http://host:port,name2=http://host:port", where a name may appear
// more than once to give a member several peer URLs. Member IDs are derived
// from the peer URLs and the cluster token exactly as etcd does it in
// spirit (a hash of both), so every member computes the same IDs.
func ParseInitialCluster(s, token string) ([]Member, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("--initial-cluster is empty")
	}
	byName := map[string][]string{}
	var order []string
	for _, part := range strings.Split(s, ",") {
		name, rawURL, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" || rawURL == "" {
			return nil, fmt.Errorf("--initial-cluster: %q is not name=url", part)
		}
		if err := checkURL(rawURL); err != nil {
			return nil, fmt.Errorf("--initial-cluster: member %q: %w", name, err)
		}
		if _, seen := byName[name]; !seen {
			order = append(order, name)
		}
		byName[name] = append(byName[name], rawURL)
	}
	members := make([]Member, 0, len(order))
	seen := map[raftpb.NodeID]string{}
	for _, name := range order {
		urls := byName[name]
		sort.Strings(urls)
		id := memberID(urls, token)
		if other, dup := seen[id]; dup {
			return nil, fmt.Errorf("--initial-cluster: members %q and %q have the same peer URLs", other, name)
		}
		seen[id] = name
		members = append(members, Member{ID: id, Name: name, PeerURLs: urls})
	}
	sort.Slice(members, func(i, j int) bool { return members[i].ID < members[j].ID })
	return members, nil
}

// checkURL accepts http:// and https:// URLs with a host and port and no path.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad URL %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" || u.Port() == "" {
		return fmt.Errorf("URL %q: needs host:port", raw)
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("URL %q: must not have a path", raw)
	}
	return nil
}

// memberID hashes a member's sorted peer URLs and the cluster token.
func memberID(sortedURLs []string, token string) raftpb.NodeID {
	h := sha1.Sum([]byte(strings.Join(sortedURLs, "") + token))
	id := binary.BigEndian.Uint64(h[:8])
	if id == 0 {
		id = 1 // 0 is raftpb.None
	}
	return raftpb.NodeID(id)
}

// clusterID derives the cluster's ID from its token alone, so a member that
// joins a running cluster later (--initial-cluster-state existing) computes
// the same ID as the founders without asking them. Distinct clusters must
// use distinct tokens (etcd gives the same advice); peers of a cluster with
// another token are refused at the transport handshake.
func clusterID(token string) uint64 {
	h := sha1.Sum([]byte("shelf-cluster/" + token))
	id := binary.BigEndian.Uint64(h[:8])
	if id == 0 {
		id = 1
	}
	return id
}
