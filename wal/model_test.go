package wal

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/wal/internal/crashwork"
)

// TestRandomOpsAgainstModel drives the WAL with the crash workload in
// process and compares it with the model after every operation, reopening
// it now and then (with a tiny cache, so reads come from the segments).
func TestRandomOpsAgainstModel(t *testing.T) {
	ops := 3000
	if testing.Short() {
		ops = 800
	}
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			dir := t.TempDir()
			o := Options{SegmentSize: 4 << 10, TailCacheBytes: 3000, NoSync: true} // durability is the crash test's job
			w := mustOpen(t, dir, o)
			defer func() { w.Close() }()
			rng := rand.New(rand.NewPCG(seed, 99))
			model := crashwork.State{}
			for n := 1; n <= ops; n++ {
				op := crashwork.NextOp(rng, model.View(), n, uint64(n))
				var err error
				switch op.Kind {
				case crashwork.Save:
					err = w.Save(op.HS, op.Entries())
				case crashwork.Truncate:
					err = w.TruncateBack(op.Index)
				case crashwork.Compact:
					err = w.CompactTo(op.Index)
				case crashwork.Reset:
					err = w.ResetTo(op.Index, op.Term)
				}
				if err != nil {
					t.Fatalf("op %v: %v", op, err)
				}
				model = model.Apply(op)
				reopen := rng.IntN(50) == 0
				if reopen {
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					w = mustOpen(t, dir, o)
				}
				if reopen || n%5 == 0 || op.Kind != crashwork.Save {
					if d := crashwork.Diff(stateOf(t, w), model); d != "" {
						t.Fatalf("after op %v (reopened: %v): %s", op, reopen, d)
					}
				} else {
					checkRange(t, w, model.Base+1, model.Last())
				}
			}
		})
	}
}

// stateOf reads all of w into the model's form.
func stateOf(t *testing.T, w *WAL) crashwork.State {
	t.Helper()
	first, _ := w.FirstIndex()
	last, _ := w.LastIndex()
	hs, _ := w.HardState()
	bt, err := w.Term(first - 1)
	if err != nil {
		t.Fatalf("Term(%d): %v", first-1, err)
	}
	s := crashwork.State{Base: first - 1, BaseTerm: bt, HS: hs}
	if last >= first {
		if s.Ents, err = w.Entries(first, last+1, ^uint64(0)); err != nil {
			t.Fatalf("Entries(%d, %d): %v", first, last+1, err)
		}
		for i := first; i <= last; i++ {
			if tm, err := w.Term(i); err != nil || tm != s.Ents[i-first].Term {
				t.Fatalf("Term(%d) = %d, %v; entry says %d", i, tm, err, s.Ents[i-first].Term)
			}
		}
	}
	return s
}

// TestReadersDuringFsync blocks the writer inside a Save (after the batch
// was handed to the library, before its fsync) and shows readers are served
// meanwhile, see only acknowledged entries, and see the batch once Save
// returned.
func TestReadersDuringFsync(t *testing.T) {
	var armed atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	hook := func(string) error {
		if armed.Load() {
			entered <- struct{}{}
			<-release
		}
		return nil
	}
	// A one-byte cache: every read below goes through the library.
	w := mustOpen(t, t.TempDir(), Options{FsyncHook: hook, TailCacheBytes: 1})
	defer w.Close()
	mustSave(t, w, raftpb.HardState{Term: 1, Commit: 3}, ents(1, 10, 1, "a"))
	mustSave(t, w, raftpb.HardState{}, ents(11, 11, 1, "a"))
	armed.Store(true)
	done := make(chan error, 1)
	go func() { done <- w.Save(raftpb.HardState{Term: 2, Commit: 10}, ents(12, 20, 2, "b")) }()
	<-entered // the writer is now inside the fsync step
	armed.Store(false)
	checkRange(t, w, 1, 11)
	checkEntries(t, w, ents(1, 11, 1, "a"))
	if _, err := w.Entries(5, 13, 1<<20); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("an entry of the batch being fsynced is visible: %v", err)
	}
	if hs, _ := w.HardState(); hs.Term != 1 {
		t.Fatalf("hard state of the batch being fsynced is visible: %v", hs)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkRange(t, w, 1, 20)
	checkEntries(t, w, append(ents(1, 11, 1, "a"), ents(12, 20, 2, "b")...))
}
