package server

import (
	"context"
	"time"

	"github.com/shelf-kv/shelf/server/v3http"
)

// Watch opens a watch stream served by this member's store (watches are
// served locally by any member, as in etcd).
func (b kvBackend) Watch(ctx context.Context) (v3http.WatchStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b.s.newMemberWatch()
}

// progressLoop sends etcd's periodic progress notifications: every
// WatchProgressNotifyInterval, each synced watcher that asked for them
// and got nothing since the last round receives one. The mvcc hub orders
// them after every event they cover. It runs until the member stops.
func (s *Server) progressLoop() {
	t := time.NewTicker(s.cfg.WatchProgressNotifyInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopc:
			return
		case <-t.C:
			s.Store().ProgressNotify()
		}
	}
}
