package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// dialStream opens one outbound connection to addr for the stream in hs: raw
// dial, TLS client handshake if configured, transport handshake, reply. The
// whole exchange is bounded by DialTimeout and aborted by ctx. On success
// the connection has no deadline set.
func (t *Transport) dialStream(ctx context.Context, addr string, hs handshake) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.DialTimeout)
	defer cancel()
	raw, err := t.dialRaw(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("transport: dialing %s: %w", addr, err)
	}
	// Closing the connection is how a cancelled ctx interrupts blocked I/O.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	conn, err := t.clientHandshake(ctx, raw, addr, hs)
	if !stop() && err == nil {
		err = fmt.Errorf("transport: handshake with %s: %w", addr, context.Cause(ctx))
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// dialRaw opens the plain connection, through Config.Dial if set.
func (t *Transport) dialRaw(ctx context.Context, addr string) (net.Conn, error) {
	if t.cfg.Dial != nil {
		return t.cfg.Dial(ctx, addr)
	}
	d := net.Dialer{Timeout: t.cfg.DialTimeout}
	return d.DialContext(ctx, "tcp", addr)
}

// clientHandshake runs TLS (if configured) and the transport handshake on
// conn. It returns the connection to use from now on (the TLS one, if any).
func (t *Transport) clientHandshake(ctx context.Context, conn net.Conn, addr string, hs handshake) (net.Conn, error) {
	if t.cfg.TLS != nil {
		// Clone: the shared config must not be mutated, and ServerName
		// must match the peer's certificate (an IP SAN for 127.0.0.1).
		cfg := t.cfg.TLS.Clone()
		if cfg.ServerName == "" {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				cfg.ServerName = host
			}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return conn, fmt.Errorf("transport: TLS handshake with %s: %w", addr, err)
		}
		conn = tc
	}
	if err := conn.SetDeadline(t.cfg.Now().Add(t.cfg.DialTimeout)); err != nil {
		return conn, fmt.Errorf("transport: handshake with %s: %w", addr, err)
	}
	// The reply is read before any frame is sent: a refused stream sends
	// nothing, and the refusal's reason ends up in our log via run.
	if _, err := conn.Write(hs.marshal()); err != nil {
		return conn, fmt.Errorf("transport: sending handshake to %s: %w", addr, err)
	}
	if err := readReply(conn); err != nil {
		return conn, fmt.Errorf("transport: %s stream to %s at %s: %w", hs.Kind, hs.To, addr, err)
	}
	return conn, conn.SetDeadline(time.Time{})
}

// writeSlice is the most deadlineWriter hands to one conn.Write, so its
// deadline measures progress, not the time to send a whole large frame.
const writeSlice = 1 << 20

// deadlineWriter writes to conn, failing if no slice of writeSlice bytes
// completes within timeout: a stalled peer breaks the connection instead of
// blocking a stream forever.
type deadlineWriter struct {
	conn    net.Conn
	timeout time.Duration
	now     func() time.Time
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		end := min(len(p), n+writeSlice)
		if err := d.conn.SetWriteDeadline(d.now().Add(d.timeout)); err != nil {
			return n, err
		}
		k, err := d.conn.Write(p[n:end])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
