package wal

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// testLogger returns a logger writing into buf (so tests can assert on
// repairs) and the buffer.
func testLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// ents builds entries lo..hi (inclusive) of term t with data derived from
// index, term and tag.
func ents(lo, hi raftpb.Index, t raftpb.Term, tag string) []raftpb.Entry {
	var out []raftpb.Entry
	for i := lo; i <= hi; i++ {
		out = append(out, raftpb.Entry{Term: t, Index: i, Type: raftpb.EntryNormal, Data: []byte(fmt.Sprintf("%s-%d-%d", tag, i, t))})
	}
	return out
}

func mustOpen(t testing.TB, dir string, o Options) *WAL {
	t.Helper()
	w, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return w
}

func mustSave(t testing.TB, w *WAL, hs raftpb.HardState, es []raftpb.Entry) {
	t.Helper()
	if err := w.Save(hs, es); err != nil {
		t.Fatalf("Save(%v, %d entries from %v): %v", hs, len(es), firstIdx(es), err)
	}
}

func firstIdx(es []raftpb.Entry) raftpb.Index {
	if len(es) == 0 {
		return 0
	}
	return es[0].Index
}

// checkRange asserts FirstIndex/LastIndex.
func checkRange(t testing.TB, w *WAL, first, last raftpb.Index) {
	t.Helper()
	f, err := w.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	l, err := w.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	if f != first || l != last {
		t.Fatalf("range = [%d, %d], want [%d, %d]", f, l, first, last)
	}
}

// checkEntries asserts Entries(lo, hi+1) equals want exactly.
func checkEntries(t testing.TB, w *WAL, want []raftpb.Entry) {
	t.Helper()
	if len(want) == 0 {
		return
	}
	got, err := w.Entries(want[0].Index, want[len(want)-1].Index+1, ^uint64(0))
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Entries returned %d entries, want %d", len(got), len(want))
	}
	for k := range want {
		g, e := got[k], want[k]
		if g.Index != e.Index || g.Term != e.Term || g.Type != e.Type || !bytes.Equal(g.Data, e.Data) {
			t.Fatalf("entry %d = %v, want %v", e.Index, g, e)
		}
	}
}
