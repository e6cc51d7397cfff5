package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shelf-kv/shelf/wal"
)

// Config is everything one member needs to run. cmd/shelf fills it from
// etcd-named flags; tests fill it directly. Validate is called by New.
type Config struct {
	// Name is this member's name in InitialCluster.
	Name string
	// DataDir holds the WAL (DataDir/wal) and snapshots (DataDir/snap).
	DataDir string

	// ListenClientURLs and ListenPeerURLs are where the member listens;
	// AdvertiseClientURLs and AdvertisePeerURLs are what it tells others.
	// The advertised peer URLs must match this member's entry in
	// InitialCluster.
	ListenClientURLs    []string
	AdvertiseClientURLs []string
	ListenPeerURLs      []string
	AdvertisePeerURLs   []string

	// InitialCluster is etcd's "name=url,name=url" list of the members a
	// new cluster starts with. InitialClusterState is "new" or "existing"
	// (joining a running cluster). InitialClusterToken separates clusters
	// built from the same URLs.
	InitialCluster      string
	InitialClusterState string
	InitialClusterToken string

	// HeartbeatInterval is the raft tick (default 100ms); ElectionTimeout
	// must be at least 5 ticks (default 1000ms).
	HeartbeatInterval time.Duration
	ElectionTimeout   time.Duration

	// SnapshotCount is how many applied entries trigger a snapshot
	// (default 10,000). SnapshotCatchUpEntries is how many entries before
	// a snapshot the WAL keeps for slow followers (default 5,000).
	SnapshotCount          uint64
	SnapshotCatchUpEntries uint64

	// MaxRequestBytes caps a client request (default 1.5 MiB).
	MaxRequestBytes int
	// MaxTxnOps caps the compares, success ops and failure ops of a txn
	// (etcd's --max-txn-ops; default 128).
	MaxTxnOps int
	// QuotaBackendBytes raises the NOSPACE alarm when the keyspace grows
	// past it (default 2 GiB; etcd's default).
	QuotaBackendBytes int64

	// CorruptCheckTime is how often the leader compares every member's
	// hash of the keyspace (etcd's --experimental-corrupt-check-time;
	// default 1m). A mismatch raises the CORRUPT alarm.
	CorruptCheckTime time.Duration
	// WatchProgressNotifyInterval is etcd's
	// --experimental-watch-progress-notify-interval (default 10 min).
	// WatchBufferBytes bounds each watch stream's buffer (default 4 MiB;
	// v3http.DefaultWatchBufferBytes).
	WatchProgressNotifyInterval time.Duration
	WatchBufferBytes            int

	// DiskProfile adds emulated fsync latency (wal.DiskProfile).
	DiskProfile wal.DiskProfile

	// ClientTLS and PeerTLS, when set, serve (and for peers, dial) with TLS.
	ClientTLS *tls.Config
	PeerTLS   *tls.Config

	// EnablePprof serves Go's profiler under /debug/pprof/ on the client
	// URLs (etcd's --enable-pprof).
	EnablePprof bool

	// Logger receives structured logs. Default: discard.
	Logger *slog.Logger
	// Registry receives the member's metrics. Default: a new registry.
	Registry *prometheus.Registry
}

// Defaults, as etcd's.
const (
	DefaultHeartbeatInterval      = 100 * time.Millisecond
	DefaultElectionTimeout        = 1000 * time.Millisecond
	DefaultSnapshotCount          = 10_000
	DefaultSnapshotCatchUpEntries = 5_000
	DefaultMaxRequestBytes        = 1536 * 1024
	DefaultMaxTxnOps              = 128
	DefaultQuotaBackendBytes      = 2 << 30
	DefaultCorruptCheckTime       = time.Minute
	// DefaultWatchProgressNotifyInterval is etcd's default.
	DefaultWatchProgressNotifyInterval = 10 * time.Minute
)

// withDefaults returns a validated copy of c with defaults filled in. Every
// error names the flag a person would fix.
func (c Config) withDefaults() (Config, error) {
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.ElectionTimeout == 0 {
		c.ElectionTimeout = DefaultElectionTimeout
	}
	if c.SnapshotCount == 0 {
		c.SnapshotCount = DefaultSnapshotCount
	}
	if c.SnapshotCatchUpEntries == 0 {
		c.SnapshotCatchUpEntries = DefaultSnapshotCatchUpEntries
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.MaxTxnOps == 0 {
		c.MaxTxnOps = DefaultMaxTxnOps
	}
	if c.QuotaBackendBytes == 0 {
		c.QuotaBackendBytes = DefaultQuotaBackendBytes
	}
	if c.CorruptCheckTime == 0 {
		c.CorruptCheckTime = DefaultCorruptCheckTime
	}
	if c.WatchProgressNotifyInterval == 0 {
		c.WatchProgressNotifyInterval = DefaultWatchProgressNotifyInterval
	}
	if c.InitialClusterState == "" {
		c.InitialClusterState = "new"
	}
	if c.InitialClusterToken == "" {
		c.InitialClusterToken = "shelf-cluster"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	switch {
	case c.Name == "":
		return c, fmt.Errorf("--name must not be empty")
	case c.DataDir == "":
		return c, fmt.Errorf("--data-dir must not be empty")
	case c.HeartbeatInterval < time.Millisecond:
		return c, fmt.Errorf("--heartbeat-interval %v is below 1ms", c.HeartbeatInterval)
	case c.ElectionTimeout < 5*c.HeartbeatInterval:
		return c, fmt.Errorf("--election-timeout %v must be at least 5 times --heartbeat-interval %v", c.ElectionTimeout, c.HeartbeatInterval)
	case c.InitialClusterState != "new" && c.InitialClusterState != "existing":
		return c, fmt.Errorf("--initial-cluster-state %q: want new or existing", c.InitialClusterState)
	case c.MaxRequestBytes < 0:
		return c, fmt.Errorf("--max-request-bytes %d is negative", c.MaxRequestBytes)
	case c.MaxTxnOps < 0 || c.MaxTxnOps > maxTxnOpsCeiling:
		return c, fmt.Errorf("--max-txn-ops %d is outside [1, %d]", c.MaxTxnOps, maxTxnOpsCeiling)
	case c.CorruptCheckTime < 0:
		return c, fmt.Errorf("--experimental-corrupt-check-time %v is negative", c.CorruptCheckTime)
	case c.WatchProgressNotifyInterval < 0:
		return c, fmt.Errorf("--experimental-watch-progress-notify-interval %v is negative", c.WatchProgressNotifyInterval)
	case c.WatchBufferBytes < 0:
		return c, fmt.Errorf("watch buffer bytes %d is negative", c.WatchBufferBytes)
	case c.QuotaBackendBytes < 0:
		return c, fmt.Errorf("--quota-backend-bytes %d is negative", c.QuotaBackendBytes)
	case c.SnapshotCatchUpEntries > c.SnapshotCount*10:
		return c, fmt.Errorf("snapshot catch-up entries %d is more than 10 x --snapshot-count %d", c.SnapshotCatchUpEntries, c.SnapshotCount)
	case len(c.AdvertisePeerURLs) == 0:
		return c, fmt.Errorf("--initial-advertise-peer-urls must not be empty")
	}
	for _, list := range []struct {
		flag string
		urls []string
	}{
		{"--listen-client-urls", c.ListenClientURLs},
		{"--advertise-client-urls", c.AdvertiseClientURLs},
		{"--listen-peer-urls", c.ListenPeerURLs},
		{"--initial-advertise-peer-urls", c.AdvertisePeerURLs},
	} {
		for _, u := range list.urls {
			if err := checkURL(u); err != nil {
				return c, fmt.Errorf("%s: %w", list.flag, err)
			}
		}
	}
	return c, nil
}
