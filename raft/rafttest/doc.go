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
// Nothing in this package (outside _test.go files) imports "testing"; the
// tests in sim_test.go turn flags (-sim.seeds, -sim.seed, -sim.nodes,
// -sim.steps, -sim.v) into Options.
package rafttest
