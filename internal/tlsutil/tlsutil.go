// Package tlsutil builds crypto/tls configurations from etcd-style file
// flags (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth).
package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Files names the PEM files of one TLS endpoint. The zero value means
// "no TLS".
type Files struct {
	CertFile      string
	KeyFile       string
	TrustedCAFile string
	// ClientCertAuth requires and verifies client certificates against
	// TrustedCAFile (mutual TLS).
	ClientCertAuth bool
}

// Empty reports whether no file is named.
func (f Files) Empty() bool {
	return f.CertFile == "" && f.KeyFile == "" && f.TrustedCAFile == "" && !f.ClientCertAuth
}

// Config builds a tls.Config usable both to serve and to dial: the
// certificate is presented either way, and TrustedCAFile verifies the other
// side (clients when ClientCertAuth, servers always). prefix names the flag
// family ("" or "peer-") in errors.
func (f Files) Config(prefix string) (*tls.Config, error) {
	if f.Empty() {
		return nil, nil
	}
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, fmt.Errorf("--%scert-file and --%skey-file must be given together", prefix, prefix)
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("--%scert-file/--%skey-file: %w", prefix, prefix, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.TrustedCAFile != "" {
		pem, err := os.ReadFile(f.TrustedCAFile)
		if err != nil {
			return nil, fmt.Errorf("--%strusted-ca-file: %w", prefix, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--%strusted-ca-file %s: no PEM certificate in it", prefix, f.TrustedCAFile)
		}
		cfg.RootCAs = pool
		cfg.ClientCAs = pool
	}
	if f.ClientCertAuth {
		if f.TrustedCAFile == "" {
			return nil, fmt.Errorf("--%sclient-cert-auth needs --%strusted-ca-file", prefix, prefix)
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
