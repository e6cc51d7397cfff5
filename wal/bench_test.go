package wal

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// benchNoSync separates CPU cost from fsync cost:
// go test -run '^$' -bench BenchmarkSave ./wal/ -wal.bench.nosync
var benchNoSync = flag.Bool("wal.bench.nosync", false, "BenchmarkSave without fsync (CPU cost only)")

// BenchmarkSave measures group commit on the real disk under t.TempDir():
// each op is one Save of `batch` 128-byte entries plus a hard state (one
// fsync). It reports entries/s, fsyncs/s and the mean fsync time; compare
// batch=1 with batch=100 to see what batching buys. Numbers, never
// pass/fail.
func BenchmarkSave(b *testing.B) {
	for _, batch := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			benchSave(b, Options{NoSync: *benchNoSync}, batch)
		})
	}
}

// benchSave runs b.N Saves of batch entries on a fresh WAL opened with o.
func benchSave(b *testing.B, o Options, batch int) {
	w := mustOpen(b, b.TempDir(), o)
	defer w.Close()
	data := make([]byte, 128)
	es := make([]raftpb.Entry, batch)
	next := raftpb.Index(1)
	b.SetBytes(int64(batch * len(data)))
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for k := range es {
			es[k] = raftpb.Entry{Term: 1, Index: next + raftpb.Index(k), Data: data}
		}
		hs := raftpb.HardState{Term: 1, Vote: 1, Commit: next - 1}
		if err := w.Save(hs, es); err != nil {
			b.Fatal(err)
		}
		next += raftpb.Index(batch)
	}
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*batch)/secs, "entries/s")
	b.ReportMetric(float64(w.Stats().Fsyncs)/secs, "fsyncs/s")
	if n := w.Stats().Fsyncs; n > 0 {
		var m dto.Metric
		if err := w.m.fsyncDur.Write(&m); err == nil {
			b.ReportMetric(m.GetHistogram().GetSampleSum()*1e6/float64(n), "µs/fsync")
		}
	}
}

// BenchmarkSaveProfile shows what batching buys on the emulated disk
// classes (see doc.go): the added fsync latency dominates at batch=1 and is
// shared by 100 entries at batch=100. network (100ms per fsync) is left out
// to keep `make bench` short; run it with -bench 'SaveProfile/network'.
// With -wal.bench.nosync the profile latency replaces the real fsync: a
// pure emulation of the disk class, whatever the host's disk.
func BenchmarkSaveProfile(b *testing.B) {
	for _, p := range []DiskProfile{ProfileNVMe, ProfileSSD, ProfileHDD, ProfileNetwork} {
		for _, batch := range []int{1, 100} {
			name := fmt.Sprintf("%s/batch=%d", p, batch)
			if p == ProfileNetwork && !strings.Contains(benchFilter(), "network") {
				continue
			}
			b.Run(name, func(b *testing.B) { benchSave(b, Options{DiskProfile: p, NoSync: *benchNoSync}, batch) })
		}
	}
}

// benchFilter returns the -test.bench pattern.
func benchFilter() string {
	if f := flag.Lookup("test.bench"); f != nil {
		return f.Value.String()
	}
	return ""
}

// BenchmarkEntriesDuringFsync measures a reader fetching recent entries
// while the writer saves: served from the tail cache, it does not wait for
// the library lock held across each fsync.
func BenchmarkEntriesDuringFsync(b *testing.B) {
	w := mustOpen(b, b.TempDir(), Options{})
	defer w.Close()
	mustSave(b, w, raftpb.HardState{Term: 1}, ents(1, 100, 1, "r"))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		next := raftpb.Index(101)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := w.Save(raftpb.HardState{}, ents(next, next, 1, "r")); err != nil {
				return
			}
			next++
		}
	}()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		last, _ := w.LastIndex()
		if _, err := w.Entries(last-50, last+1, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	<-done
}
