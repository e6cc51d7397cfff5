package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shelf-kv/shelf/mvcc"
)

// TestQuotaRefusesGrowthButNotReclaim fills a member past
// --quota-backend-bytes: puts are refused with etcd's NOSPACE error, while
// deletes and compaction go through and, once the space is reclaimed,
// puts are accepted again.
func TestQuotaRefusesGrowthButNotReclaim(t *testing.T) {
	c := newTestCluster(t, 1, func(cfg *Config) { cfg.QuotaBackendBytes = 20_000 })
	s := c.start(0)
	c.waitLeader()
	ctx := context.Background()
	val := []byte(strings.Repeat("x", 500))
	var err error
	n := 0
	for ; n < 1000; n++ {
		if _, err = s.Put(ctx, &mvcc.PutRequest{Key: []byte(fmt.Sprintf("q%03d", n)), Value: val}); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("after %d puts: %v, want ErrNoSpace", n, err)
	}
	if _, err := s.DeleteRange(ctx, &mvcc.DeleteRangeRequest{Key: []byte("q"), RangeEnd: []byte("r")}); err != nil {
		t.Fatalf("delete over quota: %v", err)
	}
	if _, err := s.Compact(ctx, s.Store().Rev()); err != nil {
		t.Fatalf("compact over quota: %v", err)
	}
	if err := s.Store().WaitCompaction(ctx, s.Store().Rev()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, &mvcc.PutRequest{Key: []byte("again"), Value: val}); err != nil {
		t.Fatalf("put after reclaiming space: %v", err)
	}
}
