package client

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultDialTimeout    = 2 * time.Second
	DefaultRequestTimeout = 5 * time.Second
	DefaultAttemptTimeout = 2 * time.Second
	DefaultBackoffBase    = 25 * time.Millisecond
	DefaultBackoffMax     = 500 * time.Millisecond
	DefaultWatchKeepalive = 5 * time.Second
)

// Config configures a Client. Only Endpoints is required.
type Config struct {
	// Endpoints are the members' client URLs ("http://127.0.0.1:2379" or
	// https://...), tried in this order; at least one. A URL must have
	// a scheme http or https, a host:port, and no path, query or user.
	Endpoints []string
	// DialTimeout bounds establishing one connection. Default 2s.
	DialTimeout time.Duration
	// RequestTimeout is the deadline of a whole call (every retry
	// included) when the caller's context has none. Default 5s. A
	// context deadline, when set, always wins.
	RequestTimeout time.Duration
	// AttemptTimeout bounds one attempt of a read on one member, so a
	// partitioned member that accepts and never answers is skipped.
	// Writes are never cut by it (a cut write cannot be retried; see
	// doc.go). Default 2s.
	AttemptTimeout time.Duration
	// WatchKeepalive is how long a watch waits for a line from its
	// member before it sends a progress request; with no answer within
	// AttemptTimeout after that, the watch resumes on another member
	// (see Watch). Default 5s.
	WatchKeepalive time.Duration
	// TLS is used for https endpoints; nil means Go's defaults.
	TLS *tls.Config
	// Logger receives a debug line per failed attempt; nil discards.
	Logger *slog.Logger
	// JitterSeed seeds the backoff jitter; 0 means seed from the clock
	// in New. Tests set it to replay the same backoff sequence.
	JitterSeed uint64
}

// Client talks to a shelf (or etcd) cluster through its v3 JSON API,
// failing over between endpoints. It is safe for concurrent use.
type Client struct {
	endpoints []string // validated, without a trailing slash; immutable
	cfg       Config   // with defaults filled in; immutable
	http      *http.Client
	log       *slog.Logger

	mu struct {
		sync.Mutex
		pinned int        // index of the endpoint tried first; Invariant: < len(endpoints)
		rng    *rand.Rand // jitter source; guarded because rand.Rand is not concurrent-safe
		closed bool
	}
}

// New validates cfg and returns a Client. It does not contact any member:
// a dead endpoint is found on first use and skipped.
func New(cfg Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("%w: Endpoints is empty", ErrInvalidConfig)
	}
	eps := make([]string, 0, len(cfg.Endpoints))
	for _, ep := range cfg.Endpoints {
		norm, err := validateEndpoint(ep)
		if err != nil {
			return nil, err
		}
		eps = append(eps, norm)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"DialTimeout", cfg.DialTimeout}, {"RequestTimeout", cfg.RequestTimeout}, {"AttemptTimeout", cfg.AttemptTimeout}, {"WatchKeepalive", cfg.WatchKeepalive}} {
		if d.v < 0 {
			return nil, fmt.Errorf("%w: %s is negative (%v)", ErrInvalidConfig, d.name, d.v)
		}
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.AttemptTimeout == 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	if cfg.WatchKeepalive == 0 {
		cfg.WatchKeepalive = DefaultWatchKeepalive
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	seed := cfg.JitterSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     cfg.TLS,
		TLSHandshakeTimeout: cfg.DialTimeout,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   cfg.TLS != nil,
	}
	c := &Client{endpoints: eps, cfg: cfg, http: &http.Client{Transport: tr}, log: log}
	c.mu.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return c, nil
}

// validateEndpoint checks one endpoint URL and returns it without a
// trailing slash; the error names the endpoint and what is wrong.
func validateEndpoint(ep string) (string, error) {
	u, err := url.Parse(ep)
	if err != nil {
		return "", fmt.Errorf("%w: endpoint %q: %v", ErrInvalidConfig, ep, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%w: endpoint %q: scheme must be http or https, not %q", ErrInvalidConfig, ep, u.Scheme)
	case u.Hostname() == "":
		return "", fmt.Errorf("%w: endpoint %q: no host", ErrInvalidConfig, ep)
	case u.Port() == "":
		return "", fmt.Errorf("%w: endpoint %q: no port", ErrInvalidConfig, ep)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "":
		return "", fmt.Errorf("%w: endpoint %q: must be scheme://host:port, without path, query or user", ErrInvalidConfig, ep)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Endpoints returns the validated endpoints, in the configured order.
func (c *Client) Endpoints() []string { return append([]string(nil), c.endpoints...) }

// Close releases idle connections. Calls after Close fail with ErrClosed;
// calls in flight finish normally.
func (c *Client) Close() error {
	c.mu.Lock()
	c.mu.closed = true
	c.mu.Unlock()
	c.http.CloseIdleConnections()
	return nil
}
