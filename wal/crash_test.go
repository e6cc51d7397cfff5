package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/wal/internal/crashwork"
)

// readState reads the whole log in dir into the crash model's form, and
// how many tail repairs Open made.
func readState(t *testing.T, dir string) (crashwork.State, uint64) {
	t.Helper()
	w := mustOpen(t, dir, Options{SegmentSize: crashSegSize})
	defer w.Close()
	first, err1 := w.FirstIndex()
	last, err2 := w.LastIndex()
	hs, err3 := w.HardState()
	bt, err4 := w.Term(first - 1)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatalf("reading reopened log: %v", err)
	}
	s := crashwork.State{Base: first - 1, BaseTerm: bt, HS: hs}
	if last >= first {
		es, err := w.Entries(first, last+1, ^uint64(0))
		if err != nil {
			t.Fatalf("Entries(%d, %d): %v", first, last+1, err)
		}
		s.Ents = es
	}
	return s, w.Stats().Repairs
}

// damageTail simulates what a power cut can add after the last record of
// the last segment: a zero-filled tail (4 KiB) or a torn record (a record
// cut short). It returns false if it did nothing (a library truncation is
// pending, so the last file may not survive Open).
func damageTail(t *testing.T, dir string, rng *rand.Rand) (string, bool) {
	t.Helper()
	segs, pending, err := listSegments(dir)
	if err != nil || pending || len(segs) == 0 {
		return "", false
	}
	var junk []byte
	kind := "zeros"
	if rng.IntN(2) == 0 {
		junk = make([]byte, 4096)
	} else {
		kind = "torn record"
		frame, _ := AppendFrame(nil, Frame{Type: RecordEntryNormal, Term: 1, Index: 1, Payload: make([]byte, 100+rng.IntN(200))})
		rec := binary.AppendUvarint(nil, uint64(len(frame)))
		rec = append(rec, frame...)
		junk = rec[:1+rng.IntN(len(rec)-1)]
	}
	f, err := os.OpenFile(segs[len(segs)-1].path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(junk); err != nil {
		t.Fatal(err)
	}
	return kind, true
}

const crashSegSize = 8 << 10 // small segments: rolls and removals every round

// crashSeed fixes the crash test's seed (workloads and kill points; the
// exact instant of each kill still depends on scheduling). 0 = random.
var crashSeed = flag.Uint64("wal.crash.seed", 0, "TestCrashRecovery seed (0 = random)")

// TestCrashRecovery SIGKILLs a writer process (wal/internal/crashwriter) at
// random moments and checks, after each kill, that the reopened log is
// exactly one of the states the writer's acknowledged operations allow:
// every acknowledged operation is fully present, byte for byte; the one
// operation in flight, if any, is absent, complete, or (for a Save) a prefix
// of its entries; nothing cut by an acknowledged TruncateBack, CompactTo or
// ResetTo or by an overwrite ever comes back. In a third of the rounds it
// also appends a zero-filled or torn tail after the kill, which Open must
// repair without losing anything acknowledged.
func TestCrashRecovery(t *testing.T) {
	rounds := 60
	if testing.Short() {
		rounds = 20
	}
	bin := filepath.Join(t.TempDir(), "crashwriter")
	build := exec.Command("go", "build", "-o", bin, "./internal/crashwriter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the crash writer: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "wal")
	seed := *crashSeed
	if seed == 0 {
		seed = rand.New(rand.NewPCG(42, uint64(time.Now().UnixNano()))).Uint64()
	}
	t.Logf("seed %d (replay the workload and kill points with -wal.crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	model := crashwork.State{}
	kinds := map[crashwork.Kind]int{}
	outcomes := map[string]int{}
	totalAcks := 0
	for round := 0; round < rounds; round++ {
		killAfter := rng.IntN(120) // acks before the kill
		cmd := exec.Command(bin, "-dir", dir, "-seed", fmt.Sprint(rng.Uint64()),
			"-gen", fmt.Sprint(uint64(round+1)*1_000_000), "-segsize", fmt.Sprint(crashSegSize))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var acked []crashwork.Op
		var inflight *crashwork.Op
		killed := false
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "ack ") {
				if inflight == nil || line != fmt.Sprintf("ack %d", inflight.N) {
					t.Fatalf("round %d: unexpected %q", round, line)
				}
				acked = append(acked, *inflight)
				kinds[inflight.Kind]++
				inflight = nil
			} else {
				op, err := crashwork.ParseOp(line)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				inflight = &op
			}
			if !killed && len(acked) >= killAfter {
				// Let the writer run on a little: kill it at a random point,
				// not always right after an ack was printed.
				if spin := rng.IntN(3); spin == 0 {
					_ = cmd.Process.Signal(syscall.SIGKILL)
					killed = true
				}
			}
		}
		if !killed {
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: writer did not die by SIGKILL: %v\nstderr:\n%s", round, err, stderr.String())
		}
		totalAcks += len(acked)
		for _, op := range acked {
			model = model.Apply(op)
		}
		damage, damaged := "", false
		if rng.IntN(3) == 0 {
			damage, damaged = damageTail(t, dir, rng)
		}
		got, repairs := readState(t, dir)
		if damaged {
			if repairs != 1 {
				t.Fatalf("round %d: appended %s to the last segment, Open made %d repairs", round, damage, repairs)
			}
			outcomes["tail repaired ("+damage+")"]++
		}
		cands := []crashwork.State{model}
		if inflight != nil {
			cands = model.Candidates(*inflight)
		}
		var diffs []string
		match := false
		for k, c := range cands {
			d := crashwork.Diff(got, c)
			if d == "" {
				match = true
				switch {
				case inflight == nil:
				case k == 0:
					outcomes["in-flight op absent"]++
				case k == len(cands)-1:
					outcomes["in-flight op complete"]++
				default:
					outcomes["in-flight save partial"]++
				}
				break
			}
			diffs = append(diffs, d)
		}
		if !match {
			t.Fatalf("round %d (kill seed %d): reopened log matches no legal state after %d acks, in flight %v:\n%s",
				round, seed, len(acked), inflight, strings.Join(diffs, "\n"))
		}
		model = got
	}
	t.Logf("%d rounds, %d acknowledged ops (%v), final log (%d, %d], outcomes: %v", rounds, totalAcks, kinds, model.Base, model.Last(), outcomes)
	if totalAcks < rounds || kinds[crashwork.Truncate] == 0 || kinds[crashwork.Compact] == 0 || kinds[crashwork.Reset] == 0 {
		t.Fatalf("workload too thin to prove anything: %d acks, kinds %v", totalAcks, kinds)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}
