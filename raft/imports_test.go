package raft

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The import policy of DESIGN.md for every non-test .go file under raft/
// (including subpackages such as raft/rafttest's harness):
//
//   - forbidden: net and net/..., os and os/..., time, log (log/slog is
//     allowed: it is how a Logger is usually provided), testing and
//     testing/..., math/rand (v1, whose package functions use a global
//     source), crypto/rand (not replayable);
//   - math/rand/v2 is allowed ONLY for its seeded-source types and
//     constructors: the identifiers New, NewPCG, NewChaCha8, NewZipf, Rand,
//     PCG, ChaCha8, Source and Zipf. Any other package-level identifier
//     (rand.IntN, rand.Shuffle, rand.Int64, ...) uses the global,
//     unseeded source and fails the test.
func TestImportPolicy(t *testing.T) {
	forbidden := func(path string) bool {
		for _, p := range []string{"net", "os", "testing"} {
			if path == p || strings.HasPrefix(path, p+"/") {
				return true
			}
		}
		switch path {
		case "time", "log", "math/rand", "crypto/rand":
			return true
		}
		return false
	}
	randV2Allowed := map[string]bool{"New": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true,
		"Rand": true, "PCG": true, "ChaCha8": true, "Source": true, "Zipf": true}
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		randName := ""
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if forbidden(p) {
				t.Errorf("%s imports %q, which raft/ must not use (no I/O, no clock, no global randomness)", path, p)
			}
			if p == "math/rand/v2" {
				randName = "rand"
				if imp.Name != nil {
					randName = imp.Name.Name
				}
			}
		}
		checked++
		if randName == "" {
			return nil
		}
		full, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(full, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == randName && x.Obj == nil && !randV2Allowed[sel.Sel.Name] {
				t.Errorf("%s: uses math/rand/v2's global %s.%s; use a seeded *rand.Rand",
					fset.Position(sel.Pos()), randName, sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("only %d files checked: the walk is broken", checked)
	}
}
