package wal

import (
	"errors"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

func entryF(i raftpb.Index, t raftpb.Term) Frame {
	return Frame{Type: RecordEntryNormal, Term: t, Index: i, Payload: []byte{byte(i)}}
}

// TestLogStateReplay replays record sequences as Open would after a front
// cut (libFirst > 1) or from the start, and checks the result or error.
func TestLogStateReplay(t *testing.T) {
	for _, tc := range []struct {
		name     string
		libFirst uint64
		frames   []Frame
		base     raftpb.Index
		baseTerm raftpb.Term
		last     raftpb.Index
		err      string
	}{
		{"fresh", 1, nil, 0, 0, 0, ""},
		{"append and overwrite", 1, []Frame{entryF(1, 1), entryF(2, 1), entryF(3, 1), entryF(2, 2)}, 0, 0, 2, ""},
		{"head is entry, marker names base term", 9, []Frame{entryF(5, 2), entryF(6, 2), {Type: RecordCompact, Term: 2, Index: 4}}, 4, 2, 6, ""},
		{"head is entry, no marker", 9, []Frame{entryF(5, 2)}, 4, 0, 5, "base"},
		{"head is compact marker", 9, []Frame{{Type: RecordCompact, Term: 3, Index: 7}}, 7, 3, 7, ""},
		{"stale compact marker is ignored", 9, []Frame{entryF(5, 2), {Type: RecordCompact, Term: 1, Index: 2}, {Type: RecordCompact, Term: 2, Index: 4}}, 4, 2, 5, ""},
		{"reset drops everything", 1, []Frame{entryF(1, 1), {Type: RecordReset, Term: 5, Index: 100}, entryF(101, 5)}, 100, 5, 101, ""},
		{"truncate", 1, []Frame{entryF(1, 1), entryF(2, 1), {Type: RecordTruncate, Term: 1, Index: 1}}, 0, 0, 1, ""},
		{"head is a hard state", 9, []Frame{hardStateFrame(raftpb.HardState{Term: 1})}, 0, 0, 0, "log head is a HardState"},
		{"gap", 1, []Frame{entryF(1, 1), entryF(3, 1)}, 0, 0, 0, "out of place"},
		{"term goes backwards", 1, []Frame{entryF(1, 2), entryF(2, 1)}, 0, 0, 0, "below term"},
		{"truncate beyond last", 1, []Frame{entryF(1, 1), {Type: RecordTruncate, Index: 5}}, 0, 0, 0, "outside the log"},
		{"compact beyond last", 1, []Frame{entryF(1, 1), {Type: RecordCompact, Index: 5}}, 0, 0, 0, "beyond last"},
		{"compact with wrong term", 1, []Frame{entryF(1, 1), {Type: RecordCompact, Term: 9, Index: 1}}, 0, 0, 0, "says term 9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newLogState(tc.libFirst)
			c := newTailCache(1 << 20)
			var err error
			for k, f := range tc.frames {
				if err = st.apply(f, tc.libFirst+uint64(k), c, true); err != nil {
					break
				}
			}
			if err == nil && (!st.started || !st.baseKnown) {
				err = errBaseUnknown
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.base != tc.base || st.baseTerm != tc.baseTerm || st.last() != tc.last {
				t.Fatalf("state base %d/%d last %d, want %d/%d last %d", st.base, st.baseTerm, st.last(), tc.base, tc.baseTerm, tc.last)
			}
			// The cache mirrors the live tail exactly.
			for i := st.first(); i <= st.last(); i++ {
				e, _, ok := c.get(i)
				want, _ := st.term(i)
				if !ok || e.Term != want || e.Index != i {
					t.Fatalf("cache entry %d = %v, %v; want term %d", i, e, ok, want)
				}
			}
			if c.first() != 0 && c.first() < st.first() {
				t.Fatalf("cache holds %d, below first %d", c.first(), st.first())
			}
		})
	}
}

// errBaseUnknown stands for recover's "without a marker giving the term of
// its base index" check.
var errBaseUnknown = errors.New("log head without a marker naming its base term")

func TestTailCacheTrim(t *testing.T) {
	c := newTailCache(100)
	for i := raftpb.Index(1); i <= 10; i++ {
		c.add(raftpb.Entry{Index: i, Term: 1}, 30)
		c.trim(1)
	}
	if c.first() != 8 || c.bytes != 90 {
		t.Fatalf("after trim: first %d, bytes %d; want 8, 90", c.first(), c.bytes)
	}
	// The latest batch is kept whole even above the limit.
	for i := raftpb.Index(11); i <= 15; i++ {
		c.add(raftpb.Entry{Index: i, Term: 1}, 30)
	}
	c.trim(5)
	if c.first() != 11 || len(c.ents) != 5 {
		t.Fatalf("batch not kept: first %d, %d entries", c.first(), len(c.ents))
	}
	c.add(raftpb.Entry{Index: 13, Term: 2}, 30) // overwrite
	if e, _, _ := c.get(13); e.Term != 2 || len(c.ents) != 3 {
		t.Fatalf("overwrite: %v, %d entries", e, len(c.ents))
	}
	c.add(raftpb.Entry{Index: 40, Term: 3}, 30) // not contiguous: restart
	if c.first() != 40 || c.bytes != 30 {
		t.Fatalf("restart: first %d bytes %d", c.first(), c.bytes)
	}
}
