// Package rafttest is the deterministic whole-cluster simulation of shelf's
// raft library (tier 3 of DESIGN.md's testing tiers).
//
// One call to Run simulates a cluster of 3 or 5 members, all in one goroutine,
// on a scheduler driven by a single seeded math/rand/v2 source: the same
// Options replay bit for bit. The simulation owns:
//
//   - a network (network.go) that drops, delays, duplicates and reorders
//     messages, cuts links symmetrically or one way, heals, and round-trips
//     every message through raftpb's Marshal/Unmarshal;
//   - a disk per member (disk.go) with a written and a synced image: a crash
//     keeps only what was fsynced;
//   - a driver per member (node.go) that follows raft's DURABILITY CONTRACT
//     (below) exactly, unless told to inject the "ack before persist" bug;
//   - random faults and operations (ops.go): crashes and restarts,
//     partitions, client proposals, ReadIndex reads, membership changes,
//     leader transfers, snapshots and log compaction;
//   - an invariant checker (checker.go) called at every event of every step.
//
// The durability contract as the driver implements it, per Ready:
//
//  1. Snapshot, Entries and HardState are written to the member's disk when
//     the Ready is taken; the fsync (if MustSync) completes 0..k steps later.
//     Messages are sent only after the fsync, except MsgApp, MsgHeartbeat and
//     MsgSnap of a member that was leader when Ready() was called: those are
//     sent either before or after the fsync (chosen at random, so both orders
//     are exercised).
//  2. CommittedEntries are applied in order after the fsync; the checker
//     verifies that each one was already durable (synced) when the Ready was
//     taken. EntryConfChange entries go through ApplyConfChange.
//  3. Advance(rd) is called after the fsync and the application.
//
// While a Ready is in flight the member keeps ticking and stepping messages
// (as etcd-io/raft's node.go does); the next Ready is taken only after Advance.
//
// Applied state and restarts. A member's state machine is a running hash of
// the entries it applied (chain.go); it is made durable only by snapshots.
// Creating a snapshot fsyncs the member's log first (like a WAL snapshot
// record does), records the snapshot in the synced image and compacts.
// A restart rebuilds the member from its synced image alone, with
// Config.Applied = the snapshot index, and re-applies every committed entry
// after the snapshot. A member added by a membership change comes into
// existence (empty storage) when the change is first applied anywhere.
//
// Faults and operations are drawn per seed (options.go: drawProfile): message
// loss, duplication, delay and long-tail delay, slow networks, symmetric and
// one-way partitions, leader isolation (also right after an election, which
// produces Figure 8 histories), crashes (leader-targeted, quick restarts,
// torn: a prefix of the unsynced writes survives), slow fsyncs, client proposals and ReadIndex reads, membership changes
// (learner, promotion, voter, removal of voters including the leader), leader
// transfers, snapshots with compaction, and raft configurations (PreVote,
// CheckQuorum, AutoPromoteLearners, one-entry messages, small inflight
// windows, an uncommitted cap). After the fault phase comes the settle phase:
// every fault heals, every member restarts, and liveness is required.
//
// Invariants (checker.go, Inv* constants): election safety across all
// history, log matching on persisted logs, leader completeness, state machine
// safety (and equal membership from equal conf changes), vote safety, commit
// monotonicity, the library's half of the durability contract (MustSync,
// CommittedEntries already persisted, a leader's own Match within its synced
// log), in-order application, membership safety (only voters campaign, a
// removed leader steps down), refused proposals never applied, linearizable
// ReadIndex, every acknowledged write applied by every member, and liveness.
//
// Nothing in this package (outside _test.go files) imports "testing". The
// tests turn flags into Options:
//
//	go test ./raft/rafttest                         # 2,000 seeds, 3 and 5 members
//	go test ./raft/rafttest -run '^TestSimulation$' -sim.seeds=20000 [-sim.first=S]
//	go test ./raft/rafttest -run '^TestSimulation$' -sim.seed=S -sim.nodes=N -v [-sim.v] [-sim.steps=K]
//
// TestCheckerCatches switches on, one at a time, the library's TestingKnobs
// and the driver's injected bugs (AckBeforePersist, LocalReads) and shows the
// checker catches each; TestRegressionSeeds and TestRegressionStress replay
// the seeds and seed families that once found library bugs (the bugs are
// described in /work/notes/raft-bugs.md as SIM-1..SIM-4); TestLeaseReads
// checks ReadOnlyLeaseBased reads with steady clocks.
package rafttest
