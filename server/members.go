package server

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// memberInfo is what the cluster knows of one member: carried in the
// Context of the membership change that added it, and in snapshots.
type memberInfo struct {
	ID         raftpb.NodeID `json:"id"`
	Name       string        `json:"name,omitempty"`
	PeerURLs   []string      `json:"peer_urls"`
	ClientURLs []string      `json:"client_urls,omitempty"`
	IsLearner  bool          `json:"is_learner,omitempty"`
}

// memberSet is the replicated membership with URLs. The raft loop changes
// it as it applies membership entries; HTTP handlers read it.
type memberSet struct {
	mu struct {
		sync.RWMutex
		byID map[raftpb.NodeID]memberInfo
	}
}

func newMemberSet() *memberSet {
	s := &memberSet{}
	s.mu.byID = make(map[raftpb.NodeID]memberInfo)
	return s
}

func (s *memberSet) set(m memberInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.byID[m.ID] = m
}

func (s *memberSet) remove(id raftpb.NodeID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mu.byID, id)
}

func (s *memberSet) get(id raftpb.NodeID) (memberInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.mu.byID[id]
	return m, ok
}

// list returns the members ordered by ID.
func (s *memberSet) list() []memberInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]memberInfo, 0, len(s.mu.byID))
	for _, m := range s.mu.byID {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// encode is the blob stored in snapshots.
func (s *memberSet) encode() []byte {
	b, _ := json.Marshal(s.list())
	return b
}

// replace loads the blob of a snapshot.
func (s *memberSet) replace(blob []byte) error {
	var ms []memberInfo
	if len(blob) > 0 {
		if err := json.Unmarshal(blob, &ms); err != nil {
			return fmt.Errorf("server: members in snapshot: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.byID = make(map[raftpb.NodeID]memberInfo, len(ms))
	for _, m := range ms {
		s.mu.byID[m.ID] = m
	}
	return nil
}
