package wal

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// recordOffsets returns the byte offset of every library record in the
// segment file at path.
func recordOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for off := 0; off < len(data); {
		_, end, ok := libRecord(data, off)
		if !ok {
			t.Fatalf("%s: incomplete record at %d", path, off)
		}
		offs = append(offs, int64(off))
		off = end
	}
	return offs
}

// lastSegment returns the path of the last segment file in dir.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, _, err := listSegments(dir)
	if err != nil || len(segs) == 0 {
		t.Fatalf("listSegments(%s): %v, %d segments", dir, err, len(segs))
	}
	return segs[len(segs)-1].path
}

// writeThreeBatches writes entries 1..30 in three batches of 10 (each with a
// hard state) and closes the WAL.
func writeThreeBatches(t *testing.T, dir string, o Options) {
	t.Helper()
	w := mustOpen(t, dir, o)
	for b := 0; b < 3; b++ {
		lo := raftpb.Index(b*10 + 1)
		mustSave(t, w, raftpb.HardState{Term: 1, Vote: 1, Commit: lo - 1}, ents(lo, lo+9, 1, "x"))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTornTailIsRepaired(t *testing.T) {
	dir := t.TempDir()
	writeThreeBatches(t, dir, Options{})
	seg := lastSegment(t, dir)
	offs := recordOffsets(t, seg)
	// Records: 10 entries + hs per batch = 11 per batch. Cut in the middle
	// of the 5th entry of the third batch (record 22+4).
	cut := offs[26] + 7
	if err := os.Truncate(seg, cut); err != nil {
		t.Fatal(err)
	}
	log, buf := testLogger()
	w := mustOpen(t, dir, Options{Logger: log})
	defer w.Close()
	// Entries 21..24 of the torn batch survived; the hard state of batch 3
	// (written after its entries) did not.
	checkRange(t, w, 1, 24)
	checkEntries(t, w, ents(1, 24, 1, "x"))
	if hs, _ := w.HardState(); hs.Commit != 10 {
		t.Fatalf("hard state = %v, want commit 10 (batch 2's)", hs)
	}
	if w.Stats().Repairs != 1 {
		t.Fatalf("Repairs = %d, want 1", w.Stats().Repairs)
	}
	if fi, _ := os.Stat(seg); fi.Size() != offs[26] {
		t.Fatalf("segment size after repair = %d, want %d", fi.Size(), offs[26])
	}
	msg := buf.String()
	if !strings.Contains(msg, "file="+seg) || !strings.Contains(msg, fmt.Sprintf("offset=%d", offs[26])) {
		t.Fatalf("repair log does not name file and offset:\n%s", msg)
	}
	// The repaired log accepts appends right after the surviving entries.
	mustSave(t, w, raftpb.HardState{}, ents(25, 26, 2, "y"))
	checkEntries(t, w, append(ents(1, 24, 1, "x"), ents(25, 26, 2, "y")...))
}

func TestZeroFilledTailIsRepaired(t *testing.T) {
	dir := t.TempDir()
	writeThreeBatches(t, dir, Options{})
	seg := lastSegment(t, dir)
	fi, _ := os.Stat(seg)
	f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	log, buf := testLogger()
	w := mustOpen(t, dir, Options{Logger: log})
	checkRange(t, w, 1, 30)
	checkEntries(t, w, ents(1, 30, 1, "x"))
	if fi2, _ := os.Stat(seg); fi2.Size() != fi.Size() {
		t.Fatalf("size after repair = %d, want %d", fi2.Size(), fi.Size())
	}
	if !strings.Contains(buf.String(), fmt.Sprintf("offset=%d", fi.Size())) {
		t.Fatalf("repair not logged with offset %d:\n%s", fi.Size(), buf.String())
	}
	// No phantom entries: the next index is 31, and it survives a reopen.
	mustSave(t, w, raftpb.HardState{}, ents(31, 31, 1, "x"))
	w.Close()
	w = mustOpen(t, dir, Options{})
	defer w.Close()
	checkRange(t, w, 1, 31)
	checkEntries(t, w, ents(1, 31, 1, "x"))
}

// flipByte xors one bit of the byte at off in path.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= 0x10
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
}

// wantCorrupt asserts Open fails with ErrCorrupt naming path and offset.
func wantCorrupt(t *testing.T, dir, path string, off int64) {
	t.Helper()
	w, err := Open(dir, Options{})
	if err == nil {
		w.Close()
		t.Fatalf("Open succeeded on a corrupt log")
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open error %v does not wrap ErrCorrupt", err)
	}
	if want := fmt.Sprintf("segment %s at byte offset %d", path, off); !strings.Contains(err.Error(), want) {
		t.Fatalf("Open error %q does not contain %q", err, want)
	}
}

func TestBitFlipMidLogRefusesToOpen(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rec   int   // which record
		delta int64 // byte within it
	}{
		{"payload", 5, 30},
		{"term", 12, 1 + 8},
		{"crc", 3, 1 + 24},
		{"length varint", 14, 0},
		{"type", 20, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeThreeBatches(t, dir, Options{})
			seg := lastSegment(t, dir)
			offs := recordOffsets(t, seg)
			flipByte(t, seg, offs[tc.rec]+tc.delta)
			wantCorrupt(t, dir, seg, offs[tc.rec])
		})
	}
}

func TestBadLastRecordOfNonLastSegmentRefusesToOpen(t *testing.T) {
	dir := t.TempDir()
	// Tiny segments: each batch rolls to a new file.
	o := Options{SegmentSize: 256}
	writeThreeBatches(t, dir, o)
	segs, _, _ := listSegments(dir)
	if len(segs) < 3 {
		t.Fatalf("got %d segments, want >= 3", len(segs))
	}
	// Cut the first segment mid-record: a "torn tail" anywhere but the last
	// segment is corruption.
	offs := recordOffsets(t, segs[0].path)
	if err := os.Truncate(segs[0].path, offs[len(offs)-1]+3); err != nil {
		t.Fatal(err)
	}
	wantCorrupt(t, dir, segs[0].path, offs[len(offs)-1])
}

func TestSegmentRollSyncsDir(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{SegmentSize: 1000})
	defer w.Close()
	before := w.Stats().DirFsyncs
	rolls := 0
	for i := raftpb.Index(1); i <= 200; i++ {
		nsegs := func() int { s, _, _ := listSegments(dir); return len(s) }
		n0, d0 := nsegs(), w.Stats().DirFsyncs
		mustSave(t, w, raftpb.HardState{}, ents(i, i, 1, strings.Repeat("p", int(i%50))))
		// The prediction of the library's roll-over must match reality.
		if fi, err := os.Stat(lastSegment(t, dir)); err != nil || int(fi.Size()) != w.tailBytes {
			t.Fatalf("after entry %d: predicted tail size %d, file has %v (%v)", i, w.tailBytes, fi.Size(), err)
		}
		if n := nsegs(); n != n0 {
			rolls++
			if w.Stats().DirFsyncs == d0 {
				t.Fatalf("entry %d created a segment without a directory fsync", i)
			}
		}
	}
	if rolls < 5 || w.Stats().DirFsyncs-before < uint64(rolls) {
		t.Fatalf("rolls = %d, dir fsyncs = %d", rolls, w.Stats().DirFsyncs-before)
	}
	w.Close()
	w2 := mustOpen(t, dir, Options{SegmentSize: 1000})
	defer w2.Close()
	checkRange(t, w2, 1, 200)
}

func TestInterruptedLibraryTruncationIsFinished(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 300}
	writeThreeBatches(t, dir, o)
	segs, _, _ := listSegments(dir)
	if len(segs) < 3 {
		t.Fatalf("%d segments, want >= 3", len(segs))
	}
	// Simulate a crash inside the library's TruncateFront after it renamed
	// the START file into place but before it removed the older segments:
	// START = a copy of segment 2 (its records are intact), plus a leftover
	// temp file from an earlier interrupted attempt.
	data, err := os.ReadFile(segs[1].path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(segs[1].path+".START", data, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(segs[2].path+".END.TEMP", []byte("junk"), 0o640); err != nil {
		t.Fatal(err)
	}
	// Our own markers are missing (the crash came before CompactTo wrote
	// one), so the new head is a bare entry without its base term: the
	// library finishes its job, and we refuse rather than guess.
	_, err = Open(dir, o)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "without a marker") {
		t.Fatalf("Open after a truncation no CompactTo asked for: %v", err)
	}
	if _, err := os.Stat(segs[2].path + ".END.TEMP"); !os.IsNotExist(err) {
		t.Fatalf("leftover temp file not removed: %v", err)
	}
	if _, err := os.Stat(segs[0].path); !os.IsNotExist(err) {
		t.Fatalf("library did not finish the truncation: %v", err)
	}
}

func TestMispredictedRollIsCaught(t *testing.T) {
	log, buf := testLogger()
	w := mustOpen(t, t.TempDir(), Options{Logger: log})
	defer w.Close()
	mustSave(t, w, raftpb.HardState{Term: 1}, ents(1, 3, 1, "a"))
	w.tailBytes += 7 // as if our model of the library's rule were wrong
	d0 := w.Stats().DirFsyncs
	mustSave(t, w, raftpb.HardState{}, ents(4, 4, 1, "a"))
	if !strings.Contains(buf.String(), "roll-over not predicted") || w.Stats().DirFsyncs != d0+1 {
		t.Fatalf("misprediction not handled: dir fsyncs %d -> %d, log:\n%s", d0, w.Stats().DirFsyncs, buf.String())
	}
	if fi, err := w.tailFile.Stat(); err != nil || fi.Size() != int64(w.tailBytes) {
		t.Fatalf("tail not re-read: %v, %d", err, w.tailBytes)
	}
}
