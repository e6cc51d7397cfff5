package server

import (
	"context"

	"github.com/shelf-kv/shelf/server/v3http"
)

// Watch opens a watch stream served by this member's store.
func (b kvBackend) Watch(ctx context.Context) (v3http.WatchStream, error) {
	return b.s.newMemberWatch(ctx)
}
