package server

import "errors"

// Errors a client can get from a member besides the store's own (mvcc's
// sentinels). Their texts are etcd's, so the HTTP layer can pass them on.
var (
	ErrNoLeader         = errors.New("etcdserver: no leader")
	ErrTimeout          = errors.New("etcdserver: request timed out")
	ErrLeaderChanged    = errors.New("etcdserver: leader changed")
	ErrTooManyRequests  = errors.New("etcdserver: too many requests")
	ErrRequestTooLarge  = errors.New("etcdserver: request is too large")
	ErrStopped          = errors.New("etcdserver: server stopped")
	ErrNoSpace          = errors.New("etcdserver: mvcc: database space exceeded")
	ErrTTLOutOfRange    = errors.New("etcdserver: too large lease TTL")
	ErrUnhealthyCluster = errors.New("etcdserver: unhealthy cluster")
)
