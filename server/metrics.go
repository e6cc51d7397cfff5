package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the member's Prometheus series, named as etcd's so existing
// dashboards work. The WAL registers its own (etcd_disk_wal_fsync_*), the
// transport its own (etcd_network_peer_*).
type metrics struct {
	leaderChanges      prometheus.Counter
	proposalsCommitted prometheus.Counter
	proposalsApplied   prometheus.Counter
	proposalsFailed    prometheus.Counter
	walBatch           prometheus.Histogram
	snapshotSave       prometheus.Histogram
	corruptDetected    prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, s *Server) *metrics {
	m := &metrics{
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "etcd_server_leader_changes_seen_total", Help: "The number of leader changes seen."}),
		proposalsCommitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "etcd_server_proposals_committed_total", Help: "The total number of consensus proposals committed."}),
		proposalsApplied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "etcd_server_proposals_applied_total", Help: "The total number of consensus proposals applied."}),
		proposalsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "etcd_server_proposals_failed_total", Help: "The total number of failed proposals seen."}),
		walBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "etcd_disk_backend_commit_duration_seconds",
			Help:    "The latency distributions of commit called by backend (here: one WAL batch of a Ready, including its fsync).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		snapshotSave: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "etcd_debugging_snap_save_total_duration_seconds",
			Help:    "The total latency distributions of save called by snapshot.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		corruptDetected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelf_server_corruption_detected_total",
			Help: "Consistency checks (leader only) that found a member whose hash differs from the leader's."}),
	}
	reg.MustRegister(m.corruptDetected, m.leaderChanges, m.proposalsCommitted, m.proposalsApplied, m.proposalsFailed, m.walBatch, m.snapshotSave,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "etcd_server_has_leader", Help: "Whether or not a leader exists. 1 is existence, 0 is not."},
			func() float64 {
				if s.Leader() != 0 {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "etcd_server_is_leader", Help: "Whether or not this member is a leader. 1 if is, 0 otherwise."},
			func() float64 {
				if s.Leader() == s.id {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "etcd_server_proposals_pending", Help: "The current number of pending proposals to commit."},
			func() float64 { return float64(s.waits.len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "etcd_mvcc_db_total_size_in_bytes", Help: "Total size of the keyspace in memory, in bytes (history included)."},
			func() float64 { return float64(s.Store().Status().SizeTotal) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "etcd_mvcc_db_total_size_in_use_in_bytes", Help: "Size of the retained revisions of the keyspace, in bytes."},
			func() float64 { return float64(s.Store().Status().SizeInUse) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}
