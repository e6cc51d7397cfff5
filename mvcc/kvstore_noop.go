package mvcc

import "github.com/shelf-kv/shelf/raft/raftpb"

// MarkApplied records raft entry idx as applied without changing the
// keyspace: the server calls it for entries that carry no keyspace write
// (a leader's empty entry, a membership change, an undecodable entry), so
// the applied index stored with the data always equals the last entry the
// server applied, and a snapshot taken at it matches the raft membership at
// that index. An idx at or below the applied index is ignored with
// ErrIndexApplied, like every other mutating call.
func (s *Store) MarkApplied(idx raftpb.Index) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.beginApplyLocked(idx)
}
