//go:build unix

package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockName is the lock file in the WAL directory. The library ignores it:
// its name is shorter than a segment name.
const lockName = "LOCK"

// lockDir takes an exclusive, non-blocking flock on dir/LOCK so that two
// processes (or two WALs in one process) never write the same directory.
// The kernel drops the lock when the process dies, so a crash never leaves
// a stale lock.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("wal: opening lock file in %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s is in use by another WAL (flock: %v)", ErrLocked, dir, err)
	}
	return f, nil
}
