package server

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns the member's client HTTP handler: health, metrics and the
// KV API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", s.serveHealth)
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		// etcd's /version: etcd tools read it to learn what they talk to.
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"etcdserver": Version, "etcdcluster": ClusterVersion})
	})
	mux.HandleFunc("/livez", func(w http.ResponseWriter, r *http.Request) {
		if s.Err() != nil {
			http.Error(w, "not ok: "+s.Err().Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.Err() != nil || s.Leader() == 0 {
			http.Error(w, "not ready: no leader", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	if s.cfg.EnablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	s.mountCluster(mux)
	s.mountMaintenance(mux)
	s.mountKV(mux)
	s.mountLease(mux)
	return mux
}

// serveHealth answers like etcd's /health: {"health":"true"} with 200 when
// the member has a leader and can serve a linearizable read, 503 otherwise.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	body := map[string]string{"health": "true"}
	status := http.StatusOK
	switch {
	case s.Err() != nil:
		body = map[string]string{"health": "false", "reason": s.Err().Error()}
	case s.Leader() == 0:
		body = map[string]string{"health": "false", "reason": "RAFT NO LEADER"}
	default:
		if r.URL.Query().Get("serializable") != "true" {
			if err := s.linearizableWait(r.Context()); err != nil {
				body = map[string]string{"health": "false", "reason": "RANGE ERROR: " + err.Error()}
			}
		}
	}
	if body["health"] != "true" {
		status = http.StatusServiceUnavailable
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
