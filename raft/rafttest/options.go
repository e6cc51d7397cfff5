package rafttest

import (
	"io"
	"math/rand/v2"

	"github.com/shelf-kv/shelf/raft"
)

// Options configure one simulation run. Everything random in the run derives
// from Seed: equal Options replay bit for bit.
type Options struct {
	// Seed selects the run: the fault profile, the schedule, every message's
	// fate and every member's election jitter.
	Seed uint64
	// Nodes is the number of initial voters (3 or 5 in the test suite; >= 1).
	Nodes int
	// Steps is the length of the fault phase; the settle phase that follows
	// (faults healed, liveness checked) adds at most SettleTimeouts election
	// timeouts. 0 means DefaultSteps.
	Steps int
	// Knobs are the library's TestingKnobs, set on every member. Only the
	// "checker is not vacuous" tests set them.
	Knobs raft.TestingKnobs
	// AckBeforePersist injects the classic driver bug: every member sends all
	// of a Ready's messages (MsgAppResp, MsgVoteResp, ...) before its fsync.
	AckBeforePersist bool
	// LocalReads injects a read bug: ReadIndex is answered at once with the
	// member's own commit index (a serializable read passed off as
	// linearizable).
	LocalReads bool
	// TraceLen is how many recent events a failure report shows. 0 means 60.
	TraceLen int
	// Verbose, if non-nil, receives every event as it happens (-sim.v).
	Verbose io.Writer

	// tweak, if set, adjusts the seed's drawn profile (regression tests pin
	// the features a bug needs, e.g. a one-message inflight window).
	tweak func(*profile)
}

// DefaultSteps is the default length of the fault phase, in scheduler steps.
const DefaultSteps = 1200

// SettleTimeouts bounds the settle phase: after the faults heal, a leader must
// be elected, a fresh proposal must commit, and every member must apply
// everything acknowledged within this many election timeouts.
const SettleTimeouts = 50

// profile is the per-seed fault and configuration mix, drawn once from the
// seed so that different seeds stress different corners (a lossy network, a
// slow disk, many crashes, small messages, ...).
type profile struct {
	electionTick  int
	heartbeatTick int
	preVote       bool
	checkQuorum   bool
	autoPromote   bool
	maxSizePerMsg uint64
	maxInflight   int
	maxUncommit   uint64
	// leaseRead selects ReadOnlyLeaseBased (never drawn: lease reads are
	// clock-dependent; only a test that also pins tickP = 1 sets it).
	leaseRead bool

	tickP    float64 // chance a live member ticks in a step (clock drift)
	readyP   float64 // chance a member with a Ready takes it in a step
	dropP    float64 // per-message loss
	dupP     float64 // per-message duplication
	maxDelay int     // message delay is 1..maxDelay steps
	// longDelayP is the chance a message is instead held up for
	// 1..longDelay steps (a stalled connection, a paused process): stale
	// votes and appends then arrive terms later.
	longDelayP float64
	longDelay  int
	maxFsync   int     // fsync completes 0..maxFsync steps after the write
	earlyP     float64 // chance a leader sends MsgApp/MsgHeartbeat/MsgSnap before its fsync
	// stepInReady lets messages be stepped into a member between Ready() and
	// Advance() (as etcd-io/raft's node.go does); otherwise they wait.
	stepInReady bool
	// applyEarlyP is the chance a Ready's CommittedEntries are applied when
	// it is taken (they are durable already) rather than after the fsync.
	applyEarlyP float64

	crashP     float64 // per step: crash a live member
	tornP      float64 // chance a crash keeps a prefix of the unsynced writes (a torn tail)
	leaderP    float64 // chance a crash targets the leader
	quickP     float64 // chance a crashed member restarts within an election timeout
	maxDown    int     // members down at once
	partitionP float64 // per step: cut the network
	isolateP   float64 // per step: cut the current leader off from everyone (the classic raft nemesis)
	// isolateNewP is the chance a newly elected leader is cut off a few
	// steps after its election, before its first entries replicate: the
	// history of Figure 8 of the Raft paper (leaders of several terms with
	// unreplicated tails).
	isolateNewP float64
	healP       float64 // per step: heal every cut
	proposeP    float64 // per step: a client proposal
	readP       float64 // per step: a ReadIndex request
	confP       float64 // per step: a membership change
	transferP   float64 // per step: a leader transfer
	snapP       float64 // per step and member: snapshot + compact if worthwhile
	snapEvery   int     // applied entries since the last snapshot that make one worthwhile
	maxPayload  int     // proposal payload padding, bytes
}

func drawProfile(r *rand.Rand, nodes int) profile {
	p := profile{
		electionTick:  10,
		heartbeatTick: 1 + r.IntN(2),
		preVote:       r.IntN(4) != 0,
		checkQuorum:   r.IntN(4) != 0,
		autoPromote:   r.IntN(2) == 0,
		maxInflight:   []int{1, 4, 256}[r.IntN(3)],
		tickP:         0.85 + 0.15*r.Float64(),
		readyP:        0.5 + 0.5*r.Float64(),
		maxDelay:      1 + r.IntN(4),
		maxFsync:      r.IntN(6),
		leaderP:       r.Float64(),
		quickP:        r.Float64(),
		earlyP:        r.Float64(),
		stepInReady:   r.IntN(4) != 0,
		applyEarlyP:   r.Float64(),
		maxDown:       1 + r.IntN((nodes+1)/2),
		proposeP:      0.05 + 0.25*r.Float64(),
		readP:         0.02 + 0.08*r.Float64(),
		confP:         0.002 + 0.008*r.Float64(),
		transferP:     0.001 + 0.004*r.Float64(),
		snapP:         0.02 + 0.1*r.Float64(),
		snapEvery:     5 + r.IntN(40),
		maxPayload:    r.IntN(64),
	}
	switch r.IntN(3) {
	case 0:
		p.maxSizePerMsg = 1 // one entry per MsgApp
	case 1:
		p.maxSizePerMsg = 256
	}
	if r.IntN(4) == 0 {
		p.maxUncommit = 512
	}
	if r.IntN(3) != 0 {
		p.dropP = 0.1 * r.Float64()
	}
	if r.IntN(3) != 0 {
		p.dupP = 0.05 * r.Float64()
	}
	if r.IntN(4) != 0 {
		p.crashP = 0.001 + 0.02*r.Float64()
	}
	if r.IntN(3) == 0 {
		p.isolateNewP = 0.2 + 0.5*r.Float64()
		p.healP = max(p.healP, 0.02+0.05*r.Float64())
	}
	if r.IntN(3) == 0 {
		p.isolateP = 0.005 + 0.03*r.Float64()
		p.healP = max(p.healP, 0.02+0.05*r.Float64())
	}
	if r.IntN(6) == 0 {
		// A slow network: votes and appends routinely outlive an election
		// timeout, so elections split and stale responses abound.
		p.maxDelay = p.electionTick/2 + r.IntN(p.electionTick)
	}
	if r.IntN(2) == 0 {
		p.longDelayP = 0.02 * r.Float64()
		p.longDelay = p.electionTick * (1 + r.IntN(4))
	}
	if r.IntN(4) != 0 {
		p.partitionP = 0.002 + 0.01*r.Float64()
		p.healP = 0.005 + 0.02*r.Float64()
	}
	return p
}
