package raft

import (
	"errors"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// newTestLog returns a log whose storage holds a snapshot at (3,3) and
// stable entries 4/4, 5/5.
func newTestLog(t *testing.T) *raftLog {
	t.Helper()
	l, err := newLog(newStorageWith(t), noLimit)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLogMaybeAppendConflicts(t *testing.T) {
	for _, tc := range []struct {
		name             string
		index            raftpb.Index
		logTerm          raftpb.Term
		ents             []raftpb.Entry
		wantOK           bool
		wantLast         raftpb.Index
		wantTermAt6      raftpb.Term
		wantUnstableFrom raftpb.Index
	}{
		{"mismatch at prev", 5, 4, ents(6, 6), false, 5, 0, 6},
		{"prev beyond log", 7, 5, ents(8, 6), false, 5, 0, 6},
		{"plain append", 5, 5, ents(6, 6, 7, 6), true, 7, 6, 6},
		{"duplicate is a no-op", 4, 4, ents(5, 5), true, 5, 0, 6},
		{"conflict truncates stable tail", 4, 4, ents(5, 6, 6, 6), true, 6, 6, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newTestLog(t)
			last, ok := l.maybeAppend(tc.index, tc.logTerm, 0, tc.ents)
			if ok != tc.wantOK || l.lastIndex() != tc.wantLast {
				t.Fatalf("ok=%v last=%d, want %v %d", ok, l.lastIndex(), tc.wantOK, tc.wantLast)
			}
			if ok && last != tc.index+raftpb.Index(len(tc.ents)) {
				t.Errorf("lastnewi %d", last)
			}
			if got := l.termOrZero(6); got != tc.wantTermAt6 {
				t.Errorf("term at 6 = %d, want %d", got, tc.wantTermAt6)
			}
			if l.unstable.offset != tc.wantUnstableFrom {
				t.Errorf("unstable offset %d, want %d", l.unstable.offset, tc.wantUnstableFrom)
			}
		})
	}
}

func TestLogCommitOnlyWhatIsPersistedIsApplied(t *testing.T) {
	l := newTestLog(t)
	// Follower appends 6,7 (unstable) and learns commit 7 at once.
	if _, ok := l.maybeAppend(5, 5, 7, ents(6, 5, 7, 5)); !ok {
		t.Fatal("append refused")
	}
	if l.committed != 7 {
		t.Fatalf("committed %d", l.committed)
	}
	// Durability contract (2): only persisted entries are handed out.
	got := l.nextCommittedEnts()
	if len(got) != 2 || got[len(got)-1].Index != 5 {
		t.Fatalf("committed entries before persist = %v, want 4..5", got)
	}
	l.applying = 5
	if l.hasNextCommittedEnts() {
		t.Fatal("6 and 7 are not persisted yet")
	}
	l.stableTo(7, 5)
	if !l.hasNextCommittedEnts() {
		t.Fatal("after stableTo(7) entries 6..7 are appliable")
	}
	// A stableTo with the wrong term (entry replaced meanwhile) is ignored.
	l2 := newTestLog(t)
	l2.append(ents(6, 6)...)
	l2.stableTo(6, 5)
	if l2.unstable.offset != 6 {
		t.Fatal("stableTo with a mismatching term must not mark entries stable")
	}
}

func TestLogFindConflictByTerm(t *testing.T) {
	l := newTestLog(t)
	l.append(ents(6, 5, 7, 7, 8, 7, 9, 9)...)
	for _, tc := range []struct {
		index     raftpb.Index
		term      raftpb.Term
		wantIndex raftpb.Index
		wantTerm  raftpb.Term
	}{
		{9, 9, 9, 9},
		{9, 8, 8, 7},
		{9, 6, 6, 5},
		{9, 4, 4, 4},
		{9, 1, 2, 0}, // below the compaction point the term is unknown: a possible match
		{5, 9, 5, 5},
	} {
		i, tm := l.findConflictByTerm(tc.index, tc.term)
		if i != tc.wantIndex || tm != tc.wantTerm {
			t.Errorf("findConflictByTerm(%d, %d) = (%d, %d), want (%d, %d)",
				tc.index, tc.term, i, tm, tc.wantIndex, tc.wantTerm)
		}
	}
}

func TestLogSliceAcrossStableAndUnstable(t *testing.T) {
	l := newTestLog(t)
	l.append(ents(6, 6, 7, 6)...)
	got, err := l.slice(4, 8, noLimit)
	if err != nil || len(got) != 4 || got[0].Index != 4 || got[3].Index != 7 {
		t.Fatalf("slice(4,8) = %v, %v", got, err)
	}
	if _, err := l.slice(3, 5, noLimit); !errors.Is(err, ErrCompacted) {
		t.Errorf("slice below first index: %v", err)
	}
	// Size limit: each entry is EntrySize 16; 40 bytes fit two.
	if got, _ := l.slice(4, 8, 40); len(got) != 2 {
		t.Errorf("limited slice has %d entries, want 2", len(got))
	}
	if _, err := l.term(2); !errors.Is(err, ErrCompacted) {
		t.Errorf("term(2): %v", err)
	}
	if _, err := l.term(8); !errors.Is(err, ErrUnavailable) {
		t.Errorf("term(8): %v", err)
	}
}

func TestLogRestoreAndUpToDate(t *testing.T) {
	l := newTestLog(t)
	l.restore(raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 20, Term: 8}})
	if l.committed != 20 || l.lastIndex() != 20 || l.firstIndex() != 21 || l.lastTerm() != 8 {
		t.Fatalf("after restore: %s last=%d first=%d", l, l.lastIndex(), l.firstIndex())
	}
	if l.hasNextCommittedEnts() {
		t.Fatal("nothing to apply before the snapshot is persisted")
	}
	if !l.isUpToDate(20, 8) || l.isUpToDate(19, 8) || !l.isUpToDate(1, 9) || l.isUpToDate(30, 7) {
		t.Fatal("isUpToDate compares (last term, last index)")
	}
}

func TestLogMaybeCommitOnlyCurrentTerm(t *testing.T) {
	l := newTestLog(t)
	if l.maybeCommit(5, 6) {
		t.Fatal("entry 5 has term 5: committing it by count in term 6 is the Figure 8 bug")
	}
	if !l.maybeCommit(5, 5) || l.committed != 5 {
		t.Fatal("entry of the current term commits")
	}
}
