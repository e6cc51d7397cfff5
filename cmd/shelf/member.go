package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/shelf-kv/shelf/internal/tlsutil"
	"github.com/shelf-kv/shelf/server"
	"github.com/shelf-kv/shelf/wal"
)

// memberFlags are etcd's flags, with etcd's defaults.
type memberFlags struct {
	name, dataDir                              string
	listenClient, advertiseClient              string
	listenPeer, advertisePeer                  string
	initialCluster, initialState, initialToken string
	heartbeatMS, electionMS                    uint
	snapshotCount, catchUpEntries              uint64
	maxRequestBytes                            uint
	maxTxnOps                                  uint
	quotaBackendBytes                          int64
	corruptCheckTime                           time.Duration
	diskProfile, logLevel                      string
	enablePprof                                bool
	client, peer                               tlsutil.Files
	watchProgressNotify                        time.Duration
}

func memberFlagSet(f *memberFlags) *pflag.FlagSet {
	fs := pflag.NewFlagSet("shelf member", pflag.ContinueOnError)
	fs.StringVar(&f.name, "name", "default", "human-readable name for this member")
	fs.StringVar(&f.dataDir, "data-dir", "", "path to the data directory (default ${name}.shelf)")
	fs.StringVar(&f.listenClient, "listen-client-urls", "http://localhost:2379", "URLs to listen on for client traffic")
	fs.StringVar(&f.advertiseClient, "advertise-client-urls", "", "client URLs to advertise to the rest of the cluster (default: the listen URLs)")
	fs.StringVar(&f.listenPeer, "listen-peer-urls", "http://localhost:2380", "URLs to listen on for peer traffic")
	fs.StringVar(&f.advertisePeer, "initial-advertise-peer-urls", "", "this member's peer URLs to advertise to the rest of the cluster (default: the listen URLs)")
	fs.StringVar(&f.initialCluster, "initial-cluster", "", "initial cluster configuration for bootstrapping: name=url,... (default: name=advertised peer URL)")
	fs.StringVar(&f.initialState, "initial-cluster-state", "new", "initial cluster state: new or existing")
	fs.StringVar(&f.initialToken, "initial-cluster-token", "shelf-cluster", "initial cluster token, to tell clusters built from the same URLs apart")
	fs.UintVar(&f.heartbeatMS, "heartbeat-interval", 100, "time (in milliseconds) of a heartbeat interval")
	fs.UintVar(&f.electionMS, "election-timeout", 1000, "time (in milliseconds) for an election to timeout")
	fs.Uint64Var(&f.snapshotCount, "snapshot-count", server.DefaultSnapshotCount, "number of committed entries that trigger a snapshot")
	fs.Uint64Var(&f.catchUpEntries, "snapshot-catchup-entries", server.DefaultSnapshotCatchUpEntries, "number of entries kept in the WAL before a snapshot, for slow followers")
	fs.UintVar(&f.maxRequestBytes, "max-request-bytes", server.DefaultMaxRequestBytes, "maximum client request size in bytes the server will accept")
	fs.UintVar(&f.maxTxnOps, "max-txn-ops", server.DefaultMaxTxnOps, "maximum number of operations permitted in a transaction")
	fs.Int64Var(&f.quotaBackendBytes, "quota-backend-bytes", 0, "raise the NOSPACE alarm when the keyspace exceeds this size (0 = default 2 GiB)")
	fs.DurationVar(&f.corruptCheckTime, "experimental-corrupt-check-time", server.DefaultCorruptCheckTime, "how often the leader compares every member's keyspace hash (a mismatch raises the CORRUPT alarm)")
	fs.StringVar(&f.diskProfile, "disk-profile", "real", "emulated fsync latency: real, nvme, ssd, hdd or network")
	fs.DurationVar(&f.watchProgressNotify, "experimental-watch-progress-notify-interval", server.DefaultWatchProgressNotifyInterval, "interval of progress notifications to quiet watchers that asked for them")
	fs.BoolVar(&f.enablePprof, "enable-pprof", false, "serve Go's runtime profiler under /debug/pprof/ on the client URLs")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.client.CertFile, "cert-file", "", "path to the client server TLS cert file")
	fs.StringVar(&f.client.KeyFile, "key-file", "", "path to the client server TLS key file")
	fs.StringVar(&f.client.TrustedCAFile, "trusted-ca-file", "", "path to the client server TLS trusted CA cert file")
	fs.BoolVar(&f.client.ClientCertAuth, "client-cert-auth", false, "enable client cert authentication")
	fs.StringVar(&f.peer.CertFile, "peer-cert-file", "", "path to the peer server TLS cert file")
	fs.StringVar(&f.peer.KeyFile, "peer-key-file", "", "path to the peer server TLS key file")
	fs.StringVar(&f.peer.TrustedCAFile, "peer-trusted-ca-file", "", "path to the peer server TLS trusted CA file")
	fs.BoolVar(&f.peer.ClientCertAuth, "peer-client-cert-auth", false, "enable peer client cert authentication")
	return fs
}

// memberConfig parses args (and SHELF_ variables) into a server.Config.
// Every error names the flag or variable at fault.
func memberConfig(args []string) (server.Config, error) {
	var f memberFlags
	fs := memberFlagSet(&f)
	if err := fs.Parse(args); err != nil {
		return server.Config{}, err
	}
	if fs.NArg() > 0 {
		return server.Config{}, fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	if err := applyEnv(fs, "SHELF_"); err != nil {
		return server.Config{}, err
	}
	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return server.Config{}, fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	profile, err := wal.ParseDiskProfile(f.diskProfile)
	if err != nil {
		return server.Config{}, fmt.Errorf("--disk-profile: %v", err)
	}
	if f.heartbeatMS == 0 {
		return server.Config{}, errors.New("--heartbeat-interval must be positive")
	}
	if f.maxRequestBytes == 0 {
		return server.Config{}, errors.New("--max-request-bytes must be positive")
	}
	if f.maxTxnOps == 0 {
		return server.Config{}, errors.New("--max-txn-ops must be positive")
	}
	cfg := server.Config{
		Name:                   f.name,
		DataDir:                f.dataDir,
		ListenClientURLs:       splitURLs(f.listenClient),
		AdvertiseClientURLs:    splitURLs(f.advertiseClient),
		ListenPeerURLs:         splitURLs(f.listenPeer),
		AdvertisePeerURLs:      splitURLs(f.advertisePeer),
		InitialCluster:         f.initialCluster,
		InitialClusterState:    f.initialState,
		InitialClusterToken:    f.initialToken,
		HeartbeatInterval:      time.Duration(f.heartbeatMS) * time.Millisecond,
		ElectionTimeout:        time.Duration(f.electionMS) * time.Millisecond,
		SnapshotCount:          f.snapshotCount,
		SnapshotCatchUpEntries: f.catchUpEntries,
		MaxRequestBytes:        int(f.maxRequestBytes),
		MaxTxnOps:              int(min(f.maxTxnOps, 1<<30)),
		QuotaBackendBytes:      f.quotaBackendBytes,
		CorruptCheckTime:       f.corruptCheckTime,
		DiskProfile:            profile,
		EnablePprof:            f.enablePprof,
		Logger:                 slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	cfg.WatchProgressNotifyInterval = f.watchProgressNotify
	if cfg.DataDir == "" {
		cfg.DataDir = f.name + ".shelf"
	}
	if len(cfg.AdvertiseClientURLs) == 0 {
		cfg.AdvertiseClientURLs = cfg.ListenClientURLs
	}
	if len(cfg.AdvertisePeerURLs) == 0 {
		cfg.AdvertisePeerURLs = cfg.ListenPeerURLs
	}
	if cfg.InitialCluster == "" {
		for i, u := range cfg.AdvertisePeerURLs {
			if i > 0 {
				cfg.InitialCluster += ","
			}
			cfg.InitialCluster += f.name + "=" + u
		}
	}
	if cfg.ClientTLS, err = f.client.Config(""); err != nil {
		return cfg, err
	}
	if cfg.PeerTLS, err = f.peer.Config("peer-"); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// runMember runs one member until SIGINT or SIGTERM, or a fatal error.
func runMember(args []string) error {
	cfg, err := memberConfig(args)
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	s, err := server.New(cfg)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		s.Stop()
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	select {
	case sig := <-sigs:
		cfg.Logger.Info("stopping on signal", "signal", sig.String())
		s.Stop()
		return nil
	case <-s.Done():
		s.Stop()
		if err := s.Err(); err != nil {
			return err
		}
		return nil
	}
}
