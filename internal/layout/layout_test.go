// Package layout holds the tests that keep the repository's shape: the import
// rules of DESIGN.md's layout table and the hard limit on file length.
package layout

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/shelf-kv/shelf"

// hardFileLimit is DESIGN.md's "hard stop" for one Go file; the soft target is ~600.
const hardFileLimit = 1500

// forbidden maps a top-level package directory to the import paths (exact or
// prefix with "/...") that its non-test files must never import.
var forbidden = map[string][]string{
	"raft":        {module + "/wal/...", module + "/mvcc/...", module + "/server/...", module + "/snapshot/..."},
	"wal":         {module + "/raft", module + "/mvcc/...", module + "/server/...", module + "/snapshot/..."},
	"mvcc":        {module + "/server/...", module + "/apiserver/...", module + "/wal/...", "net/http", "net"},
	"snapshot":    {module + "/raft", module + "/server/...", module + "/wal/..."},
	"client":      {module + "/server/...", module + "/mvcc/...", module + "/raft/..."},
	"controllers": {module + "/server/...", module + "/client/...", module + "/mvcc/...", module + "/raft/..."},
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from %s: %v", root, err)
	}
	return root
}

func goFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "data" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func matches(imp, rule string) bool {
	if base, ok := strings.CutSuffix(rule, "/..."); ok {
		return imp == base || strings.HasPrefix(imp, base+"/")
	}
	return imp == rule
}

// TestImportRules enforces DESIGN.md's "may import" column for the packages
// whose boundaries matter most. raft/'s own purity rule (no net, os, time...)
// is checked by a test inside raft/.
func TestImportRules(t *testing.T) {
	root := repoRoot(t)
	fset := token.NewFileSet()
	checked := 0
	for _, path := range goFiles(t, root) {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		rel, _ := filepath.Rel(root, path)
		top := strings.Split(filepath.ToSlash(rel), "/")[0]
		rules, ok := forbidden[top]
		if !ok {
			continue
		}
		// raft's subpackages may import raftpb; raftpb itself is the shared type package.
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		checked++
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			for _, rule := range rules {
				if matches(imp, rule) {
					t.Errorf("%s imports %q, which %s/ must not (DESIGN.md layout)", rel, imp, top)
				}
			}
		}
	}
	t.Logf("checked imports of %d files", checked)
}

// TestFileLength enforces DESIGN.md's hard stop on file length.
func TestFileLength(t *testing.T) {
	root := repoRoot(t)
	for _, path := range goFiles(t, root) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			n++
		}
		f.Close()
		if n > hardFileLimit {
			rel, _ := filepath.Rel(root, path)
			t.Errorf("%s has %d lines; the hard limit is %d (split it by concept)", rel, n, hardFileLimit)
		}
	}
}

// TestMatches pins the rule matcher, so a typo in it cannot silently make the
// import rules vacuous.
func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		imp, rule string
		want      bool
	}{
		{module + "/raft", module + "/raft", true},
		{module + "/raft/raftpb", module + "/raft", false},
		{module + "/raft/raftpb", module + "/raft/...", true},
		{module + "/rafter", module + "/raft/...", false},
		{"net/http", "net", false},
		{"net", "net", true},
	} {
		if got := matches(tc.imp, tc.rule); got != tc.want {
			t.Errorf("matches(%q, %q) = %v, want %v", tc.imp, tc.rule, got, tc.want)
		}
	}
}
