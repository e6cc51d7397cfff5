package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/internal/freeport"
)

// writeCerts makes a CA and one certificate for 127.0.0.1 (server and
// client use) signed by it, and returns the PEM file paths.
func writeCerts(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "shelfctl-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "member"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "m.crt"), filepath.Join(dir, "m.key")
	for path, data := range map[string][]byte{
		caFile:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// TestTLS runs a one-member cluster serving clients over mutual TLS and
// uses it through --cacert, --cert, --key and --insecure-skip-tls-verify.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeCerts(t, dir)
	cp, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	pp, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	ep := fmt.Sprintf("127.0.0.1:%d", cp)
	peer := fmt.Sprintf("http://127.0.0.1:%d", pp)
	logf, err := os.Create(filepath.Join(dir, "member.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(env.shelfBin, "member", "--name", "t0", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", "https://"+ep, "--advertise-client-urls", "https://"+ep,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "t0="+peer,
		"--initial-cluster-token", "shelfctl-tls", "--heartbeat-interval", "20", "--election-timeout", "200",
		"--cert-file", certFile, "--key-file", keyFile, "--trusted-ca-file", caFile, "--client-cert-auth")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "member.log"))
			t.Logf("member log:\n%s", b)
		}
	})
	tlsArgs := []string{"--endpoints", ep, "--cacert", caFile, "--cert", certFile, "--key", keyFile}
	// Wait for the member: a put over mutual TLS succeeds.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := ctlEnv(t, "", nil, append(tlsArgs, "--command-timeout", "1s", "put", "tls/k", "v")...)
		if r.code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no put over TLS within 30s: %+v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
	expect(t, "get over TLS", ctlEnv(t, "", nil, append(tlsArgs, "get", "tls/k")...), "tls/k\nv\n")
	expect(t, "https:// endpoint", ctlEnv(t, "", nil, "--endpoints", "https://"+ep, "--cacert", caFile,
		"--cert", certFile, "--key", keyFile, "get", "tls/k"), "tls/k\nv\n")
	expect(t, "--insecure-skip-tls-verify", ctlEnv(t, "", nil, "--endpoints", ep, "--insecure-skip-tls-verify",
		"--cert", certFile, "--key", keyFile, "get", "tls/k"), "tls/k\nv\n")
	expect(t, "TLS flags from the environment", ctlEnv(t, "", []string{"SHELFCTL_ENDPOINTS=" + ep, "SHELFCTL_CACERT=" + caFile,
		"SHELFCTL_CERT=" + certFile, "SHELFCTL_KEY=" + keyFile}, "get", "tls/k"), "tls/k\nv\n")
	// Without a client certificate the member refuses the connection. (A
	// put, as a write, is not retried after a failed handshake: the error
	// is the handshake's, whatever the timing.)
	r := ctlEnv(t, "", nil, "--endpoints", ep, "--cacert", caFile, "put", "tls/k", "w")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: ") || !strings.Contains(r.stderr, "tls: ") || r.stdout != "" {
		t.Errorf("no client certificate: %+v", r)
	}
	// Without the CA the member's certificate is not trusted.
	r = ctlEnv(t, "", nil, "--endpoints", ep, "--cert", certFile, "--key", keyFile, "put", "tls/k", "w")
	if r.code != 1 || r.stderr != "Error: tls: failed to verify certificate: x509: certificate signed by unknown authority\n" {
		t.Errorf("untrusted server certificate: %+v", r)
	}
	expect(t, "nothing was written", ctlEnv(t, "", nil, append(tlsArgs, "get", "tls/k")...), "tls/k\nv\n")
}
