package main

import (
	"testing"
	"time"

	"github.com/shelf-kv/shelf/server"
)

// TestCorruptCheckTimeFlag: --experimental-corrupt-check-time (and its
// SHELF_ variable) reaches the member's Config; its default is etcd's 1m.
func TestCorruptCheckTimeFlag(t *testing.T) {
	cfg, err := memberConfig([]string{"--data-dir", t.TempDir()})
	if err != nil || cfg.CorruptCheckTime != server.DefaultCorruptCheckTime {
		t.Fatalf("default: %v %v", cfg.CorruptCheckTime, err)
	}
	cfg, err = memberConfig([]string{"--data-dir", t.TempDir(), "--experimental-corrupt-check-time", "5s"})
	if err != nil || cfg.CorruptCheckTime != 5*time.Second {
		t.Fatalf("flag: %v %v", cfg.CorruptCheckTime, err)
	}
	t.Setenv("SHELF_EXPERIMENTAL_CORRUPT_CHECK_TIME", "7s")
	cfg, err = memberConfig([]string{"--data-dir", t.TempDir()})
	if err != nil || cfg.CorruptCheckTime != 7*time.Second {
		t.Fatalf("variable: %v %v", cfg.CorruptCheckTime, err)
	}
}
