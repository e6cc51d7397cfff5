package raft

import (
	"fmt"
	"math"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// ReadOnlyOption selects how linearizable reads (ReadIndex) are served.
type ReadOnlyOption int

const (
	// ReadOnlySafe (the default) confirms leadership for each read with a
	// heartbeat round acknowledged by a quorum. It needs no clock assumption.
	ReadOnlySafe ReadOnlyOption = iota
	// ReadOnlyLeaseBased answers a read from the leader's lease without a
	// heartbeat round. It is CLOCK-DEPENDENT: it is only correct if no other
	// node can be elected within the lease, i.e. if ticks on all members run
	// at about the same rate (bounded clock drift). It requires CheckQuorum
	// (Validate refuses it with DisableCheckQuorum). Opt-in only.
	ReadOnlyLeaseBased
)

func (o ReadOnlyOption) String() string {
	switch o {
	case ReadOnlySafe:
		return "ReadOnlySafe"
	case ReadOnlyLeaseBased:
		return "ReadOnlyLeaseBased"
	}
	return fmt.Sprintf("ReadOnlyOption(%d)", int(o))
}

// RandSource is the seeded source of election jitter. Both *rand.Rand from
// math/rand/v2 (rand.New(rand.NewPCG(seed, id))) and its sources (*rand.PCG,
// *rand.ChaCha8) satisfy it, as does math/rand's *rand.Rand; this package
// imports neither. It is called only from Tick/Step/Campaign, i.e. from the
// driver's goroutine.
type RandSource interface {
	Uint64() uint64
}

// Logger is the tiny logging interface raft writes to. *slog.Logger satisfies
// it. Messages are informational: raft never depends on a Logger for
// correctness, and a nil Logger discards everything.
type Logger interface {
	Debug(msg string, args ...any)
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}

// TestingKnobs switch on classic raft bugs. They exist ONLY for the
// simulation's "the checker is not vacuous" tests (raft/rafttest): every knob
// breaks safety. Never set them in production; the zero value is correct.
type TestingKnobs struct {
	// CountStaleVotes counts a granted vote response even when it was granted
	// in an older term than the candidate's current one.
	CountStaleVotes bool
	// CommitPreviousTermByCount lets a leader commit an entry of an earlier
	// term by counting replicas (the Figure 8 bug of the Raft paper).
	CommitPreviousTermByCount bool
	// IgnoreLogUpToDate grants votes without checking that the candidate's
	// log is at least as up to date as the voter's.
	IgnoreLogUpToDate bool
}

// Config configures one raft node. The zero values of the optional fields are
// replaced by the documented defaults in NewRawNode (through Validate).
type Config struct {
	// ID is this node's id. Required, not None.
	ID raftpb.NodeID
	// ElectionTick is the number of Ticks a follower waits without hearing
	// from a leader before campaigning; the actual timeout is drawn uniformly
	// from [ElectionTick, 2*ElectionTick) after every reset. Required, must
	// be greater than HeartbeatTick (10x is customary).
	ElectionTick int
	// HeartbeatTick is the number of Ticks between a leader's heartbeats.
	// Required, > 0.
	HeartbeatTick int
	// Storage is the node's durable log. Required. raft only reads from it.
	Storage Storage
	// Applied is the last index the application has durably applied; after a
	// restart CommittedEntries start after it. An Applied below the storage's
	// snapshot index is raised to it (the application is expected to have
	// restored that snapshot); an Applied above the persisted commit index is
	// an error. Membership changes in the log between the storage's snapshot
	// and Applied are re-applied by raft itself (the application does not
	// call ApplyConfChange for them again): Storage.InitialState's ConfState
	// must be the membership as of the snapshot, as MemoryStorage's is.
	Applied raftpb.Index
	// MaxSizePerMsg caps the byte size (EntrySize) of the entries in one
	// MsgApp; at least one entry is always sent. 0 means 1 MiB. Use
	// math.MaxUint64 for unlimited.
	MaxSizePerMsg uint64
	// MaxCommittedSizePerReady caps the byte size of Ready.CommittedEntries
	// (at least one entry). 0 means MaxSizePerMsg.
	MaxCommittedSizePerReady uint64
	// MaxUncommittedEntriesSize caps the total data size of the leader's
	// uncommitted log tail; a proposal beyond it fails with
	// ErrProposalDropped joined with ErrUncommittedCapExceeded. A single
	// proposal is always accepted when the tail is empty. 0 means no cap.
	MaxUncommittedEntriesSize uint64
	// MaxInflightMsgs caps the MsgApps in flight (sent, not acknowledged) to
	// one follower in the replicate state. 0 means 256.
	MaxInflightMsgs int
	// MaxInflightBytes caps the entry bytes in flight to one follower. 0
	// means no byte cap (only MaxInflightMsgs applies).
	MaxInflightBytes uint64
	// DisablePreVote turns off the pre-vote phase (on by default), which keeps
	// a partitioned node that rejoins from bumping the term and deposing a
	// healthy leader.
	DisablePreVote bool
	// DisableCheckQuorum turns off CheckQuorum (on by default): a leader steps
	// down when it has not heard from a quorum within an election timeout,
	// and a node that heard from a leader within the timeout ignores vote
	// requests (the leader lease).
	DisableCheckQuorum bool
	// ReadOnlyOption selects how ReadIndex is served. Default ReadOnlySafe.
	ReadOnlyOption ReadOnlyOption
	// Rand is the seeded source of election jitter. nil means a deterministic
	// source seeded from ID (still no global randomness); production drivers
	// should pass a source seeded per process so that members' timeouts differ.
	Rand RandSource
	// Logger receives informational logs; nil discards them.
	Logger Logger
	// AutoPromoteLearners makes the leader propose the promotion of a learner
	// to voter (ConfChangeAddNode) once the learner's Match is within
	// AutoPromoteLag entries of the leader's last index and no other
	// membership change is pending.
	AutoPromoteLearners bool
	// TestingKnobs inject known bugs for checker tests. Never set in production.
	TestingKnobs TestingKnobs
}

// AutoPromoteLag is how far (in entries) a learner's Match may trail the
// leader's last index for AutoPromoteLearners to promote it.
const AutoPromoteLag raftpb.Index = 16

const (
	defaultMaxSizePerMsg   = 1 << 20
	defaultMaxInflightMsgs = 256
)

// Validate checks c and fills in defaults. Every error wraps ErrInvalidConfig
// and names the offending field. NewRawNode calls it on a copy of the Config.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if c.ID == raftpb.None {
		return bad("ID must not be 0 (None)")
	}
	if c.HeartbeatTick <= 0 {
		return bad("HeartbeatTick must be > 0, got %d", c.HeartbeatTick)
	}
	if c.ElectionTick <= c.HeartbeatTick {
		return bad("ElectionTick (%d) must be greater than HeartbeatTick (%d)", c.ElectionTick, c.HeartbeatTick)
	}
	if c.ElectionTick > math.MaxInt32/2 {
		return bad("ElectionTick %d is too large", c.ElectionTick)
	}
	if c.Storage == nil {
		return bad("Storage must not be nil")
	}
	if c.MaxInflightMsgs < 0 {
		return bad("MaxInflightMsgs must be >= 0, got %d", c.MaxInflightMsgs)
	}
	if c.ReadOnlyOption != ReadOnlySafe && c.ReadOnlyOption != ReadOnlyLeaseBased {
		return bad("unknown ReadOnlyOption %d", int(c.ReadOnlyOption))
	}
	if c.ReadOnlyOption == ReadOnlyLeaseBased && c.DisableCheckQuorum {
		return bad("ReadOnlyLeaseBased requires CheckQuorum (DisableCheckQuorum is set)")
	}
	if c.MaxSizePerMsg == 0 {
		c.MaxSizePerMsg = defaultMaxSizePerMsg
	}
	if c.MaxCommittedSizePerReady == 0 {
		c.MaxCommittedSizePerReady = c.MaxSizePerMsg
	}
	if c.MaxInflightMsgs == 0 {
		c.MaxInflightMsgs = defaultMaxInflightMsgs
	}
	if c.MaxInflightBytes != 0 && c.MaxInflightBytes < c.MaxSizePerMsg {
		return bad("MaxInflightBytes (%d) must be 0 or >= MaxSizePerMsg (%d)", c.MaxInflightBytes, c.MaxSizePerMsg)
	}
	if c.Rand == nil {
		c.Rand = newSplitMix(uint64(c.ID))
	}
	if c.Logger == nil {
		c.Logger = discardLogger{}
	}
	return nil
}

// splitMix is the default deterministic RandSource (SplitMix64), seeded from
// the node id so that members of a group draw different timeouts.
type splitMix struct{ state uint64 }

func newSplitMix(seed uint64) *splitMix { return &splitMix{state: seed} }

func (s *splitMix) Uint64() uint64 {
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

type discardLogger struct{}

func (discardLogger) Debug(string, ...any) {}
func (discardLogger) Info(string, ...any)  {}
func (discardLogger) Warn(string, ...any)  {}
