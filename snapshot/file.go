package snapshot

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

const (
	suffix    = ".snap"
	tmpSuffix = ".snap.tmp"
)

// FileName is the name of the snapshot of raft position (term, index). Names
// are fixed width, so they sort by term and then index.
func FileName(term raftpb.Term, index raftpb.Index) string {
	return fmt.Sprintf("%016x-%016x%s", uint64(term), uint64(index), suffix)
}

// parseName is the inverse of FileName.
func parseName(name string) (raftpb.Term, raftpb.Index, bool) {
	var t, i uint64
	if len(name) != 16+1+16+len(suffix) || !strings.HasSuffix(name, suffix) {
		return 0, 0, false
	}
	if _, err := fmt.Sscanf(name, "%016x-%016x.snap", &t, &i); err != nil {
		return 0, 0, false
	}
	return raftpb.Term(t), raftpb.Index(i), true
}

// Save writes a snapshot of v into dir and makes it durable: temp file,
// fsync, rename to FileName(m.Term, index), fsync of the directory. It
// returns the final path. A failure removes the temp file and leaves no
// file under a snapshot name.
func Save(dir string, m Meta, v *mvcc.View, opts Options) (string, Meta, Stats, error) {
	opts = opts.withDefaults()
	start := time.Now()
	name := FileName(m.Term, v.Header().AppliedIndex)
	path := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, name+".*"+".tmp")
	if err != nil {
		return "", m, Stats{}, fmt.Errorf("snapshot: create temp file in %s: %w", dir, err)
	}
	tmp := f.Name()
	fail := func(err error) (string, Meta, Stats, error) {
		f.Close()
		os.Remove(tmp)
		return "", m, Stats{}, err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	m, st, err := Write(bw, m, v, opts)
	if err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(fmt.Errorf("snapshot: write %s: %w", tmp, err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("snapshot: fsync %s: %w", tmp, err))
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", m, st, fmt.Errorf("snapshot: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", m, st, fmt.Errorf("snapshot: rename %s: %w", tmp, err)
	}
	if err := syncDir(dir); err != nil {
		return "", m, st, err
	}
	opts.Logger.Info("snapshot saved", "path", path, "index", m.Index, "term", m.Term,
		"revision", m.Revision, "records", st.Records, "bytes", st.FileBytes, "took", time.Since(start))
	return path, m, st, nil
}

// Load reads, verifies and restores the snapshot file at path.
func Load(path string, cfg mvcc.Config, opts Options) (*mvcc.Store, Meta, Stats, error) {
	opts = opts.withDefaults()
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return nil, Meta{}, Stats{}, fmt.Errorf("snapshot: %w", err)
	}
	defer f.Close()
	s, m, st, err := Read(bufio.NewReaderSize(f, 256<<10), cfg, opts)
	if err != nil {
		return nil, m, st, fmt.Errorf("%s: %w", path, err)
	}
	opts.Logger.Info("snapshot loaded", "path", path, "index", m.Index, "term", m.Term,
		"revision", m.Revision, "records", st.Records, "took", time.Since(start))
	return s, m, st, nil
}

// ReadMeta reads and verifies only the header of the file at path (cheap;
// it does not check the body: use Verify for that).
func ReadMeta(path string) (Meta, error) {
	f, err := os.Open(path)
	if err != nil {
		return Meta{}, fmt.Errorf("snapshot: %w", err)
	}
	defer f.Close()
	m, err := readHeader(bufio.NewReader(f), discardHash{})
	if err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Verify checks every byte of the snapshot at path by restoring it into a
// throwaway store.
func Verify(path string, opts Options) (Meta, Stats, error) {
	s, m, st, err := Load(path, mvcc.Config{Clock: wallClock{}}, opts)
	if err != nil {
		return m, st, err
	}
	s.Close()
	return m, st, nil
}

// List returns the paths of the snapshot files in dir, oldest (lowest term,
// then index) first. Temp files from an interrupted Save are not listed.
func List(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	var out []string
	for _, e := range ents {
		if _, _, ok := parseName(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Purge removes all but the newest keep snapshot files in dir, and any temp
// file left by an interrupted Save, then fsyncs the directory.
func Purge(dir string, keep int) error {
	paths, err := List(dir)
	if err != nil {
		return err
	}
	var remove []string
	if len(paths) > keep {
		remove = paths[:len(paths)-keep]
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") && strings.Contains(e.Name(), suffix) {
			remove = append(remove, filepath.Join(dir, e.Name()))
		}
	}
	if len(remove) == 0 {
		return nil
	}
	for _, p := range remove {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("snapshot: purge: %w", err)
		}
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("snapshot: open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("snapshot: fsync dir %s: %w", dir, err)
	}
	return nil
}

type discardHash struct{}

func (discardHash) Write(p []byte) (int, error) { return len(p), nil }
func (discardHash) Sum(b []byte) []byte         { return b }
func (discardHash) Reset()                      {}
func (discardHash) Size() int                   { return 4 }
func (discardHash) BlockSize() int              { return 1 }
func (discardHash) Sum32() uint32               { return 0 }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

var _ io.Writer = discardHash{}
