// Package raft is shelf's consensus algorithm as a pure state machine, in the
// shape of etcd-io/raft's RawNode: input arrives through Tick, Step, Propose,
// ProposeConfChange, ReadIndex and TransferLeader; output leaves through
// Ready; Advance hands control back. The package runs no goroutines, does no
// I/O, reads no clock and uses no global randomness (election jitter comes from
// Config.Rand), so a simulation that drives it replays bit for bit.
//
// # Driving a RawNode
//
// The driver (shelf's server/, or raft/rafttest's simulation) owns the
// goroutine, the timers, the disk and the network. Its loop is:
//
//	for {
//		// on a timer: rn.Tick(); on a peer message: rn.Step(m); on a request: rn.Propose(...)
//		if !rn.HasReady() { continue }
//		rd := rn.Ready()
//		// 1. persist rd.Snapshot, rd.Entries, rd.HardState (one fsync if rd.MustSync)
//		// 2. send rd.Messages (see the durability contract on Ready)
//		// 3. apply rd.Snapshot, then rd.CommittedEntries in order
//		//    (ApplyConfChange for EntryConfChange entries)
//		rn.Advance(rd)
//	}
//
// The durability contract the driver must follow is written on Ready.
//
// # Membership
//
// Membership changes are one at a time (no joint consensus). A change takes
// effect on each node when that node applies the committed EntryConfChange
// (the driver calls ApplyConfChange). The leader accepts a new change only
// when every earlier change in its log has been applied and it has applied an
// entry of its own term (its election no-op); a proposal that violates this is
// refused with an error wrapping ErrProposalDropped and ErrConfChangePending.
//
// # Differences from etcd-io/raft that a driver must know
//
//   - The leader counts its own log toward commitment only for entries
//     persisted by a completed Advance (its own Match moves in Advance, never
//     on append). A leader may therefore send MsgApp before its own fsync.
//   - Config.Rand (a seeded RandSource) drives election jitter; nothing global.
//   - A node whose persisted term is below its log's last term (a bootstrap
//     snapshot of term 1 with an empty HardState, or a torn write) starts in
//     that term and reports it in its first Ready (MustSync).
//   - Single-voter groups still require a commit in the leader's term before
//     answering ReadIndex (the persisted commit index may lag after a restart).
//   - A follower accepts a snapshot whose ConfState does not list it (a node
//     added after the snapshot was taken learns of itself from later
//     entries), but refuses any snapshot while CommittedEntries of an
//     un-Advanced Ready are being applied.
//   - A refused membership change is an error (ErrConfChangePending,
//     ErrConfChangeInvalid), not an empty entry; demoting a voter to a learner
//     in one step is refused (remove it, then add it as a learner).
//   - Between Ready and Advance, HasReady is false and Ready returns an empty
//     Ready; inputs (Step, Tick, Propose, ...) are still accepted.
//   - NewRawNode re-applies the conf changes between the storage's snapshot
//     and Config.Applied (InitialState's ConfState is the snapshot's).
//   - A follower stuck in StateSnapshot without news for an election timeout
//     is probed again (ReportSnapshot is recommended, not required).
//   - RawNode.Step refuses structurally impossible messages
//     (ErrInvalidMessage) instead of panicking on them.
//   - Lease-based reads are not served during a leadership transfer.
//   - A MsgVote of a lower term is rejected with the current term (the
//     paper's rule) rather than ignored.
//
// # Subpackages
//
// raft/quorum holds the majority math, raft/tracker the per-follower progress
// and in-flight window, raft/confchange the validation and application of a
// membership change to a tracker configuration.
package raft
