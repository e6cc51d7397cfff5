//go:build !unix

package wal

import "os"

// lockDir is a no-op where flock is unavailable: the caller must ensure a
// single WAL per directory.
func lockDir(string) (*os.File, error) { return nil, nil }
