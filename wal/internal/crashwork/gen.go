package crashwork

import (
	"math/rand/v2"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// View is what the operation generator needs to know about a log.
type View struct {
	Base     raftpb.Index
	Last     raftpb.Index
	LastTerm raftpb.Term // term of Last (of Base if the log is empty)
	HS       raftpb.HardState
}

// View returns the generator's view of s.
func (s State) View() View {
	return View{Base: s.Base, Last: s.Last(), LastTerm: s.termOf(s.Last()), HS: s.HS}
}

// termNow is the highest term the log has seen.
func (v View) termNow() raftpb.Term { return max(v.HS.Term, v.LastTerm, 1) }

// NextOp draws the n-th operation for a log in state v: mostly appends,
// with overwrites in a new term, commit-only moves, TruncateBack, CompactTo
// (forced when the log exceeds 300 entries) and ResetTo ahead of the log.
// Every op it returns is valid for v.
func NextOp(rng *rand.Rand, v View, n int, gen uint64) Op {
	r := rng.IntN(100)
	has := v.Last > v.Base
	switch {
	case has && v.Last-v.Base > 300:
		return Op{N: n, Kind: Compact, Index: v.Last - 50}
	case r < 60 || (!has && r < 85):
		return save(rng, v, n, gen, v.Last+1, 1+rng.IntN(20), v.termNow(), false)
	case r < 70 && has:
		back := raftpb.Index(rng.IntN(int(min(v.Last-v.Base, 6))))
		return save(rng, v, n, gen, v.Last-back, 1+rng.IntN(10), v.termNow()+1, false)
	case r < 75 && v.HS.Term > 0:
		return save(rng, v, n, gen, v.Last+1, 0, v.HS.Term, true)
	case r < 83 && has:
		return Op{N: n, Kind: Truncate, Index: v.Base + raftpb.Index(rng.IntN(int(v.Last-v.Base)))}
	case r < 93 && has:
		return Op{N: n, Kind: Compact, Index: v.Base + 1 + raftpb.Index(rng.IntN(int(v.Last-v.Base)))}
	default:
		return Op{N: n, Kind: Reset, Index: v.Last + 1 + raftpb.Index(rng.IntN(30)), Term: v.termNow()}
	}
}

// save builds a Save op of count entries from lo in term t, with a hard
// state that never goes backwards (or none), or a commit-only move.
func save(rng *rand.Rand, v View, n int, gen uint64, lo raftpb.Index, count int, t raftpb.Term, commitOnly bool) Op {
	op := Op{N: n, Kind: Save, Lo: lo, Count: count, Term: t, Gen: gen}
	hs := v.HS
	switch {
	case commitOnly:
		hs.Commit++
	case t > hs.Term:
		hs = raftpb.HardState{Term: t, Vote: raftpb.NodeID(1 + rng.IntN(3)), Commit: hs.Commit}
	case rng.IntN(3) == 0:
		return op // hard state unchanged
	default:
		hs.Commit += raftpb.Index(rng.IntN(3))
	}
	op.HS = hs
	return op
}

// Advance returns the view after op succeeded. termOf answers the term of
// an index still in the log (needed after a cut).
func (v View) Advance(op Op, termOf func(raftpb.Index) raftpb.Term) View {
	switch op.Kind {
	case Save:
		if op.HS != (raftpb.HardState{}) {
			v.HS = op.HS
		}
		if op.Count > 0 {
			v.Last, v.LastTerm = op.Lo+raftpb.Index(op.Count)-1, op.Term
		}
	case Truncate:
		v.Last = op.Index
		v.LastTerm = termOf(v.Last)
	case Compact:
		v.Base = op.Index
	case Reset:
		v.Base, v.Last, v.LastTerm = op.Index, op.Index, op.Term
	}
	return v
}
