package raft

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
)

// The documented ways of providing a Logger and a RandSource compile.
var (
	_ Logger     = (*slog.Logger)(nil)
	_ RandSource = (*rand.Rand)(nil)
	_ RandSource = (*rand.PCG)(nil)
	_ RandSource = (*rand.ChaCha8)(nil)
)

func TestInjectedSlogLogger(t *testing.T) {
	var buf bytes.Buffer
	ms := bootStorage(t, 1)
	rn, err := NewRawNode(&Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: ms,
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	must(rn.Campaign())
	if !strings.Contains(buf.String(), "raft: became leader") {
		t.Fatalf("log output: %q", buf.String())
	}
}
