package tracker

import "github.com/shelf-kv/shelf/raft/raftpb"

func idx(i uint64) raftpb.Index  { return raftpb.Index(i) }
func nid(i uint64) raftpb.NodeID { return raftpb.NodeID(i) }
