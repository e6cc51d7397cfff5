package server

import (
	"context"

	"github.com/shelf-kv/shelf/server/v3http"
)

// newMemberWatch opens a watch stream on the member's current store.
func (s *Server) newMemberWatch(ctx context.Context) (v3http.WatchStream, error) {
	return v3http.NewStoreBackend(s.Store(), v3http.HeaderInfo{}, "").Watch(ctx)
}
