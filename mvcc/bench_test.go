package mvcc

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Benchmarks report numbers; they assert nothing about speed.
//
//	go test -run '^$' -bench . -benchtime 2s ./mvcc/

const benchKeys = 1_000_000

var bigStore struct {
	once sync.Once
	s    *Store
}

func benchKey(i int) []byte { return []byte(fmt.Sprintf("key/%08d", i)) }

// loadBig returns a shared store holding benchKeys keys with 32-byte values.
func loadBig(b *testing.B) *Store {
	bigStore.once.Do(func() {
		s, err := New(Config{Clock: newFakeClock()})
		if err != nil {
			b.Fatal(err)
		}
		val := make([]byte, 32)
		for i := 0; i < benchKeys; i++ {
			if _, err := s.Put(raftpb.Index(i+1), &PutRequest{Key: benchKey(i), Value: val}); err != nil {
				b.Fatal(err)
			}
		}
		bigStore.s = s
	})
	return bigStore.s
}

func BenchmarkPut(b *testing.B) {
	s, err := New(Config{Clock: newFakeClock()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	keys := make([][]byte, 100_000)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	val := make([]byte, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Put(raftpb.Index(i+1), &PutRequest{Key: keys[i%len(keys)], Value: val}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}

func BenchmarkRangeSingleKey1M(b *testing.B) {
	s := loadBig(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := s.Range(&RangeRequest{Key: benchKey((i * 7919) % benchKeys)})
		if err != nil || len(r.Kvs) != 1 {
			b.Fatal(err)
		}
	}
}

func BenchmarkRange1000Keys1M(b *testing.B) {
	s := loadBig(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := (i * 7919) % (benchKeys - 1000)
		r, err := s.Range(&RangeRequest{Key: benchKey(start), RangeEnd: benchKey(start + 1000)})
		if err != nil || len(r.Kvs) != 1000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryPerKey reports the heap bytes each key costs beyond its
// key and value bytes (index item, revision record, watch log entry,
// btree slack), measured with runtime.MemStats around loading n keys.
func BenchmarkMemoryPerKey(b *testing.B) {
	const n = 200_000
	key := func(i int) []byte { return benchKey(i) }
	val := make([]byte, 32)
	var overhead float64
	for iter := 0; iter < b.N; iter++ {
		keys := make([][]byte, n)
		for i := range keys {
			keys[i] = key(i)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s, err := New(Config{Clock: newFakeClock()})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if _, err := s.Put(raftpb.Index(i+1), &PutRequest{Key: keys[i], Value: val}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		payload := float64(n * (len(keys[0]) + len(val)))
		overhead = (float64(after.HeapAlloc-before.HeapAlloc) - payload) / n
		runtime.KeepAlive(keys)
		s.Close()
	}
	b.ReportMetric(overhead, "overhead-B/key")
}
