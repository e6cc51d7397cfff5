package server

import (
	"errors"

	"github.com/shelf-kv/shelf/server/v3http"
)

// Errors a client can get from a member besides the store's own (mvcc's
// sentinels). They are the HTTP layer's sentinels, which it renders with
// etcd's gRPC codes and texts.
var (
	ErrNoLeader         = v3http.ErrNoLeader
	ErrTimeout          = v3http.ErrTimeout
	ErrLeaderChanged    = v3http.ErrLeaderChanged
	ErrTooManyRequests  = v3http.ErrTooManyRequests
	ErrRequestTooLarge  = v3http.ErrRequestTooLarge
	ErrStopped          = v3http.ErrStopped
	ErrNoSpace          = v3http.ErrNoSpace
	ErrUnhealthyCluster = v3http.ErrUnhealthy
	ErrTTLOutOfRange    = errors.New("etcdserver: too large lease TTL")
)
