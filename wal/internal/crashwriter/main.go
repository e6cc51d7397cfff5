// Command crashwriter is the victim of wal's crash test. It opens a WAL,
// then performs a random stream of Save / TruncateBack / CompactTo / ResetTo
// operations (crashwork.NextOp) forever, printing each operation's line
// before calling it and "ack N" after it returned. The test SIGKILLs it at
// random moments and checks the reopened log against the acknowledged
// operations.
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

func run(dir string, seed, gen uint64, segsize int) error {
	w, err := wal.Open(dir, wal.Options{SegmentSize: segsize})
	if err != nil {
		return err
	}
	v, err := view(w)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, gen))
	var termErr error
	termOf := func(i raftpb.Index) raftpb.Term {
		t, err := w.Term(i)
		if err != nil {
			termErr = err
		}
		return t
	}
	out := bufio.NewWriter(os.Stdout)
	for n := 1; ; n++ {
		op := crashwork.NextOp(rng, v, n, gen+uint64(n))
		fmt.Fprintln(out, op)
		if err := out.Flush(); err != nil {
			return err
		}
		if err := do(w, op); err != nil {
			return fmt.Errorf("%v: %w", op, err)
		}
		if v = v.Advance(op, termOf); termErr != nil {
			return termErr
		}
		fmt.Fprintf(out, "ack %d\n", n)
		if err := out.Flush(); err != nil {
			return err
		}
	}
}

// view reads the generator's view of w.
func view(w *wal.WAL) (crashwork.View, error) {
	first, err := w.FirstIndex()
	if err != nil {
		return crashwork.View{}, err
	}
	v := crashwork.View{Base: first - 1}
	if v.Last, err = w.LastIndex(); err != nil {
		return v, err
	}
	if v.LastTerm, err = w.Term(v.Last); err != nil {
		return v, err
	}
	v.HS, err = w.HardState()
	return v, err
}

// do performs op on w.
func do(w *wal.WAL, op crashwork.Op) error {
	switch op.Kind {
	case crashwork.Save:
		return w.Save(op.HS, op.Entries())
	case crashwork.Truncate:
		return w.TruncateBack(op.Index)
	case crashwork.Compact:
		return w.CompactTo(op.Index)
	default:
		return w.ResetTo(op.Index, op.Term)
	}
}
