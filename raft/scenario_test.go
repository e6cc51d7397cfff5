package raft

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Scenario tests: each raft/testdata/*.txt file is a script of commands, each
// followed by "----" and the output it must produce, then a blank line:
//
//	# comments and blank lines between blocks are kept
//	campaign 1
//	----
//	ok
//
// `go test ./raft -run TestScenarios -rewrite` rewrites the expected outputs
// from what the code produces now; read the diff before committing it.

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of scenario files")

type scenarioBlock struct {
	comments []string // lines before the command (comments, blanks)
	cmd      string
	want     string
	line     int
}

func parseScenario(t *testing.T, path string) (blocks []scenarioBlock, trailer []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var pending []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			pending = append(pending, l)
			continue
		}
		b := scenarioBlock{comments: pending, cmd: l, line: i + 1}
		pending = nil
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("%s:%d: command %q not followed by ----", path, i+1, l)
		}
		i += 2
		var out []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			out = append(out, lines[i])
		}
		i-- // the blank separator is read again as a pending line
		b.want = strings.Join(out, "\n")
		blocks = append(blocks, b)
	}
	return blocks, pending
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			blocks, trailer := parseScenario(t, path)
			env := newScenarioEnv()
			var b strings.Builder
			for _, blk := range blocks {
				got := env.run(blk.cmd)
				if got == "" {
					got = "ok"
				}
				if !*rewrite && got != blk.want {
					t.Errorf("%s:%d: %s\n--- got:\n%s\n--- want:\n%s", path, blk.line, blk.cmd, got, blk.want)
				}
				for _, c := range blk.comments {
					b.WriteString(c + "\n")
				}
				fmt.Fprintf(&b, "%s\n----\n%s\n", blk.cmd, got)
			}
			for _, c := range trailer {
				b.WriteString(c + "\n")
			}
			if *rewrite {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

var randomNoCompact = flag.Bool("random.nocompact", false, "TestRandomizedCluster: never compact (debugging)")
var randomSeeds = flag.Uint64("random.seeds", 300, "TestRandomizedCluster: number of seeds (60 with -short)")
var randomSeed = flag.Uint64("random.seed", 0, "TestRandomizedCluster: replay only this seed")
