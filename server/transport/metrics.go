package transport

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// metrics are the etcd_network_peer_* series, with etcd's names and labels
// (peer ids as lowercase hex, like etcd), so existing dashboards work. Each
// Transport owns its own collectors.
type metrics struct {
	rtt          *prometheus.HistogramVec // label To
	sentBytes    *prometheus.CounterVec   // label To
	recvBytes    *prometheus.CounterVec   // label From
	sentFailures *prometheus.CounterVec   // label To
	recvFailures *prometheus.CounterVec   // label From
	reg          prometheus.Registerer    // nil if not registered
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "etcd", Subsystem: "network", Name: "peer_round_trip_time_seconds",
			Help:    "Round-trip time of ping/pong frames on the peer control stream.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"To"}),
		// Bytes count whole frames including the 9-byte header, so they
		// match what crossed the socket (minus TLS overhead).
		sentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "network", Name: "peer_sent_bytes_total",
			Help: "Total bytes (frames, including headers) written to peers.",
		}, []string{"To"}),
		recvBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "network", Name: "peer_received_bytes_total",
			Help: "Total bytes (frames, including headers) read from peers.",
		}, []string{"From"}),
		sentFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "network", Name: "peer_sent_failures_total",
			Help: "Messages to peers that were dropped or failed (full queue, broken connection, unreachable peer).",
		}, []string{"To"}),
		recvFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "network", Name: "peer_received_failures_total",
			Help: "Inbound peer connections that ended with a protocol or I/O error.",
		}, []string{"From"}),
	}
	// Without a Registerer the collectors still count (tests read them
	// through a registry of their own); nothing is exported.
	if reg == nil {
		return m, nil
	}
	// Register all or nothing, so a failed New leaves reg as it was.
	var done []prometheus.Collector
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("%w: Registerer already has the peer metrics (another live Transport?): %w", ErrConfig, err)
			}
			return nil, fmt.Errorf("%w: registering metrics: %w", ErrConfig, err)
		}
		done = append(done, c)
	}
	m.reg = reg
	return m, nil
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.rtt, m.sentBytes, m.recvBytes, m.sentFailures, m.recvFailures}
}

// unregister removes the collectors from the Registerer given to newMetrics.
func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors() {
		m.reg.Unregister(c)
	}
}

// peerLabel formats an id the way etcd labels peers.
func peerLabel(id raftpb.NodeID) string { return id.String() }
