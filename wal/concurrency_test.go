package wal

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// TestConcurrentReadersDuringWrites runs one writer (appends, overwrites,
// cuts, compactions) against readers that check every entry they see is
// well formed: data always matches the (index, term) it is returned with.
// Run under -race it also proves the locking.
func TestConcurrentReadersDuringWrites(t *testing.T) {
	w := mustOpen(t, t.TempDir(), Options{SegmentSize: 4096, TailCacheBytes: 2048})
	defer w.Close()
	rounds := 300
	if testing.Short() {
		rounds = 100
	}
	var done atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				first, err1 := w.FirstIndex()
				last, err2 := w.LastIndex()
				if err := errors.Join(err1, err2); err != nil {
					errc <- err
					return
				}
				if last < first {
					continue
				}
				got, err := w.Entries(first, last+1, 4096)
				if err != nil {
					// The writer may compact or cut between our calls.
					if errors.Is(err, ErrCompacted) || errors.Is(err, ErrUnavailable) {
						continue
					}
					errc <- err
					return
				}
				for k, e := range got {
					want := fmt.Sprintf("v-%d-%d", e.Index, e.Term)
					if e.Index != first+raftpb.Index(k) || !bytes.Equal(e.Data, []byte(want)) {
						errc <- fmt.Errorf("reader saw entry %v at position %d from %d", e, k, first)
						return
					}
				}
				if _, err := w.Term(last); err != nil && !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrCompacted) {
					errc <- err
					return
				}
				reads.Add(1)
			}
		}()
	}
	term := raftpb.Term(1)
	next := raftpb.Index(1)
	for i := 0; i < rounds; i++ {
		switch {
		case i%37 == 36:
			if err := w.CompactTo(next - 5); err != nil {
				t.Fatal(err)
			}
		case i%11 == 10:
			term++ // a new leader overwrites the last 3 entries
			next -= 3
		case i%23 == 22:
			if err := w.TruncateBack(next - 2); err != nil {
				t.Fatal(err)
			}
			next -= 1
		}
		mustSave(t, w, raftpb.HardState{Term: term}, ents(next, next+4, term, "v"))
		next += 5
	}
	// Let the readers finish at least one pass over the final state.
	deadline := time.Now().Add(time.Minute)
	for start := reads.Load(); reads.Load() < start+3; runtime.Gosched() {
		select {
		case err := <-errc:
			t.Fatal(err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("readers made no progress for a minute")
		}
	}
	done.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

// TestConcurrentColdReads has several readers read old entries (evicted
// from the tail cache, spread over many segments) at once. tidwall/wal
// mutates its segment cache under a read lock, so the WAL must serialize
// such reads itself; -race checks it does.
func TestConcurrentColdReads(t *testing.T) {
	w := mustOpen(t, t.TempDir(), Options{SegmentSize: 1024, TailCacheBytes: 1, NoSync: true})
	defer w.Close()
	for i := raftpb.Index(1); i <= 400; i += 10 {
		mustSave(t, w, raftpb.HardState{}, ents(i, i+9, 1, "v"))
	}
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for k := 0; k < 200; k++ {
				lo := raftpb.Index(1 + (k*37+r*101)%390)
				got, err := w.Entries(lo, lo+5, 1<<20)
				if err != nil {
					errc <- err
					return
				}
				for j, e := range got {
					if want := fmt.Sprintf("v-%d-1", lo+raftpb.Index(j)); string(e.Data) != want {
						errc <- fmt.Errorf("entry %d = %q, want %q", e.Index, e.Data, want)
						return
					}
				}
			}
		}(r)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}
