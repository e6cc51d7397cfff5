package raft

import (
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// benchCluster is a minimal in-process cluster: instant delivery, storage in
// memory, every Ready handled synchronously by the contract. No formatting,
// no codec, so the benchmark measures the state machine.
type benchCluster struct {
	nodes   []*RawNode
	storage []*MemoryStorage
	inbox   [][]raftpb.Message
	applied int // normal entries applied on node 1 (the leader)
}

func newBenchCluster(b *testing.B, n int) *benchCluster {
	c := &benchCluster{inbox: make([][]raftpb.Message, n+1)}
	voters := make([]raftpb.NodeID, n)
	for i := range voters {
		voters[i] = raftpb.NodeID(i + 1)
	}
	for i := range n {
		ms := NewMemoryStorage()
		if err := ms.ApplySnapshot(raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{
			Index: 1, Term: 1, ConfState: raftpb.ConfState{Voters: voters}}}); err != nil {
			b.Fatal(err)
		}
		rn, err := NewRawNode(&Config{ID: raftpb.NodeID(i + 1), ElectionTick: 10, HeartbeatTick: 1,
			Storage: ms, MaxInflightMsgs: 256, MaxSizePerMsg: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		c.nodes = append(c.nodes, rn)
		c.storage = append(c.storage, ms)
	}
	if err := c.nodes[0].Campaign(); err != nil {
		b.Fatal(err)
	}
	c.pump()
	if c.nodes[0].Status().RaftState != StateLeader {
		b.Fatal("node 1 did not become leader")
	}
	c.applied = 0
	return c
}

// pump handles Readys and delivers messages until the cluster is quiet.
func (c *benchCluster) pump() {
	for moved := true; moved; {
		moved = false
		for i, rn := range c.nodes {
			if !rn.HasReady() {
				continue
			}
			moved = true
			rd := rn.Ready()
			ms := c.storage[i]
			_ = ms.Append(rd.Entries)
			if !rd.HardState.IsEmpty() {
				_ = ms.SetHardState(rd.HardState)
			}
			for _, m := range rd.Messages {
				c.inbox[m.To] = append(c.inbox[m.To], m)
			}
			if i == 0 {
				for _, e := range rd.CommittedEntries {
					if e.Type == raftpb.EntryNormal {
						c.applied++
					}
				}
			}
			rn.Advance(rd)
		}
		for id := 1; id < len(c.inbox); id++ {
			msgs := c.inbox[id]
			c.inbox[id] = nil
			for _, m := range msgs {
				moved = true
				_ = c.nodes[id-1].Step(m)
			}
		}
	}
}

// BenchmarkRawNode3 measures proposals committed and applied per second on a
// 3-member in-process cluster with instant delivery and no I/O. Proposals are
// issued in batches of 64 between pumps (as a driver batching client
// requests would). Run: go test ./raft -run '^$' -bench RawNode3 -benchtime 2s
func BenchmarkRawNode3(b *testing.B) {
	c := newBenchCluster(b, 3)
	data := make([]byte, 128)
	const batch = 64
	b.ReportAllocs()
	b.ResetTimer()
	for proposed := 0; proposed < b.N; {
		for i := 0; i < batch && proposed < b.N; i++ {
			if err := c.nodes[0].Propose(data); err != nil {
				b.Fatal(err)
			}
			proposed++
		}
		c.pump()
	}
	b.StopTimer()
	if c.applied != b.N {
		b.Fatalf("applied %d of %d proposals", c.applied, b.N)
	}
	b.ReportMetric(float64(c.applied)/b.Elapsed().Seconds(), "proposals/s")
}
