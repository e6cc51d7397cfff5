// Command crashwriter is the victim of wal's crash test. It opens a WAL,
// then performs a random stream of Save / TruncateBack / CompactTo / ResetTo
// operations forever, printing each operation's line (crashwork.Op) before
// calling it and "ack N" after it returned. The test SIGKILLs it at random
// moments and checks the reopened log against the acknowledged operations.
//
// Usage: crashwriter -dir DIR -seed N -gen N [-segsize BYTES]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/wal"
	"github.com/shelf-kv/shelf/wal/internal/crashwork"
)

func main() {
	dir := flag.String("dir", "", "WAL directory")
	seed := flag.Uint64("seed", 1, "workload seed")
	gen := flag.Uint64("gen", 0, "first generation number (unique per run)")
	segsize := flag.Int("segsize", 16<<10, "WAL segment size")
	flag.Parse()
	if err := run(*dir, *seed, *gen, *segsize); err != nil {
		fmt.Fprintln(os.Stderr, "crashwriter:", err)
		os.Exit(2)
	}
}

// writer holds the workload's view of the log.
type writer struct {
	w        *wal.WAL
	rng      *rand.Rand
	base     raftpb.Index
	last     raftpb.Index
	termLast raftpb.Term // term of the last index (or of the base)
	hs       raftpb.HardState
}

func run(dir string, seed, gen uint64, segsize int) error {
	w, err := wal.Open(dir, wal.Options{SegmentSize: segsize})
	if err != nil {
		return err
	}
	first, err := w.FirstIndex()
	if err != nil {
		return err
	}
	st := &writer{w: w, rng: rand.New(rand.NewPCG(seed, gen)), base: first - 1}
	if st.last, err = w.LastIndex(); err != nil {
		return err
	}
	if st.termLast, err = w.Term(st.last); err != nil {
		return err
	}
	if st.hs, err = w.HardState(); err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	for n := 1; ; n++ {
		op := st.next(n, gen+uint64(n))
		fmt.Fprintln(out, op)
		if err := out.Flush(); err != nil {
			return err
		}
		if err := st.do(op); err != nil {
			return fmt.Errorf("%v: %w", op, err)
		}
		fmt.Fprintf(out, "ack %d\n", n)
		if err := out.Flush(); err != nil {
			return err
		}
	}
}

// termNow is the highest term the writer has seen.
func (s *writer) termNow() raftpb.Term { return max(s.hs.Term, s.termLast, 1) }

// next picks the n-th operation.
func (s *writer) next(n int, gen uint64) crashwork.Op {
	r := s.rng.IntN(100)
	has := s.last > s.base
	switch {
	case has && s.last-s.base > 300:
		return crashwork.Op{N: n, Kind: crashwork.Compact, Index: s.last - 50}
	case r < 60 || (!has && r < 85):
		return s.save(n, gen, s.last+1, 1+s.rng.IntN(20), s.termNow(), false)
	case r < 70 && has:
		back := raftpb.Index(s.rng.IntN(int(min(s.last-s.base, 6))))
		return s.save(n, gen, s.last-back, 1+s.rng.IntN(10), s.termNow()+1, false)
	case r < 75 && s.hs.Term > 0:
		return s.save(n, gen, s.last+1, 0, s.hs.Term, true)
	case r < 83 && has:
		return crashwork.Op{N: n, Kind: crashwork.Truncate, Index: s.base + raftpb.Index(s.rng.IntN(int(s.last-s.base)))}
	case r < 93 && has:
		return crashwork.Op{N: n, Kind: crashwork.Compact, Index: s.base + 1 + raftpb.Index(s.rng.IntN(int(s.last-s.base)))}
	default:
		return crashwork.Op{N: n, Kind: crashwork.Reset, Index: s.last + 1 + raftpb.Index(s.rng.IntN(30)), Term: s.termNow()}
	}
}

// save builds a Save op of count entries from lo in term t, with a hard
// state that never goes backwards (or none), or a commit-only move.
func (s *writer) save(n int, gen uint64, lo raftpb.Index, count int, t raftpb.Term, commitOnly bool) crashwork.Op {
	op := crashwork.Op{N: n, Kind: crashwork.Save, Lo: lo, Count: count, Term: t, Gen: gen}
	hs := s.hs
	switch {
	case commitOnly:
		hs.Commit++
	case t > hs.Term:
		hs = raftpb.HardState{Term: t, Vote: raftpb.NodeID(1 + s.rng.IntN(3)), Commit: hs.Commit}
	case s.rng.IntN(3) == 0:
		return op // hard state unchanged
	default:
		hs.Commit += raftpb.Index(s.rng.IntN(3))
	}
	op.HS = hs
	return op
}

// do performs op and advances the writer's view.
func (s *writer) do(op crashwork.Op) error {
	switch op.Kind {
	case crashwork.Save:
		if err := s.w.Save(op.HS, op.Entries()); err != nil {
			return err
		}
		if op.HS != (raftpb.HardState{}) {
			s.hs = op.HS
		}
		if op.Count > 0 {
			s.last, s.termLast = op.Lo+raftpb.Index(op.Count)-1, op.Term
		}
		return nil
	case crashwork.Truncate:
		err := s.w.TruncateBack(op.Index)
		s.last = op.Index
		return s.refreshTerm(err)
	case crashwork.Compact:
		err := s.w.CompactTo(op.Index)
		s.base = op.Index
		return s.refreshTerm(err)
	default:
		err := s.w.ResetTo(op.Index, op.Term)
		s.base, s.last, s.termLast = op.Index, op.Index, op.Term
		return err
	}
}

// refreshTerm re-reads the term of the last index after a cut.
func (s *writer) refreshTerm(err error) error {
	if err != nil {
		return err
	}
	s.termLast, err = s.w.Term(s.last)
	return err
}
