package raft

import (
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// FuzzRawNodeStep feeds arbitrary decoded messages into a follower and into a
// leader of a 3-voter group and drives Ready/Advance: a node must never
// panic on input from the network, whatever the message says.
func FuzzRawNodeStep(f *testing.F) {
	seed := []raftpb.Message{
		{Type: raftpb.MsgApp, From: 1, To: 2, Term: 3, Index: 2, LogTerm: 2, Commit: 9,
			Entries: []raftpb.Entry{{Term: 3, Index: 3}, {Term: 3, Index: 4}}},
		{Type: raftpb.MsgApp, From: 1, To: 2, Term: 3, Index: 5, LogTerm: 2, Entries: []raftpb.Entry{{Term: 3, Index: 7}}},
		{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Term: 3, Commit: 100},
		{Type: raftpb.MsgSnap, From: 1, To: 2, Term: 3, Snapshot: &raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{
			Index: 50, Term: 3, ConfState: raftpb.ConfState{Voters: []raftpb.NodeID{1, 2, 3}}}}},
		{Type: raftpb.MsgAppResp, From: 3, To: 1, Term: 2, Index: 1000},
		{Type: raftpb.MsgAppResp, From: 3, To: 1, Term: 2, Index: 1, Reject: true, RejectHint: 77, LogTerm: 9},
		{Type: raftpb.MsgVote, From: 3, To: 2, Term: 9, Index: 1, LogTerm: 1},
		{Type: raftpb.MsgReadIndexResp, From: 1, To: 2, Term: 2, Index: 99},
		{Type: raftpb.MsgProp, From: 3, To: 1, Entries: []raftpb.Entry{{Type: raftpb.EntryConfChange, Data: []byte{1, 2}}}},
		{Type: raftpb.MsgTransferLeader, From: 3, To: 1, Term: 2},
	}
	for i := range seed {
		f.Add(seed[i].Marshal(), uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		var m raftpb.Message
		if err := m.Unmarshal(data); err != nil {
			return
		}
		env := newScenarioEnv()
		env.run("add-nodes 3 voters=(1,2,3) index=2")
		env.run("campaign 1")
		env.run("stabilize")
		target := env.nodes[raftpb.NodeID(pick%3)+1]
		_ = target.rn.Step(m)
		for target.rn.HasReady() {
			env.processReady(target)
		}
		env.stabilize()
	})
}
