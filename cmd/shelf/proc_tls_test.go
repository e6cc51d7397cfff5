package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a cert (server and client use, 127.0.0.1) and key signed by
// ca into dir, and returns the cert, key and CA file paths.
func (ca *testCA) issue(t *testing.T, dir, name string) (certFile, keyFile, caFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile, caFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"), filepath.Join(dir, name+"-ca.crt")
	for path, data := range map[string][]byte{
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}),
		caFile:   ca.pem,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, caFile
}

// TestProcPeerFromAnotherCAIsRefused runs a 3-member cluster with peer
// mTLS in which the third member's certificate comes from another CA: the
// first two form the cluster and take writes, the third is refused and
// never joins.
func TestProcPeerFromAnotherCAIsRefused(t *testing.T) {
	dir := t.TempDir()
	good, evil := newTestCA(t, "cluster-ca"), newTestCA(t, "intruder-ca")
	c := newProcCluster(t, 3)
	for i, p := range c.procs {
		ca := good
		if i == 2 {
			ca = evil
		}
		cert, key, caFile := ca.issue(t, dir, p.name)
		p.args = append(p.args, "--peer-cert-file", cert, "--peer-key-file", key,
			"--peer-trusted-ca-file", caFile, "--peer-client-cert-auth")
		for j, a := range p.args { // peers speak TLS: every peer URL is https

			for _, q := range c.procs {
				a = strings.ReplaceAll(a, q.peer, strings.Replace(q.peer, "http://", "https://", 1))
			}
			p.args[j] = a
		}
	}
	c.startAll()
	// The two members with the cluster's CA elect a leader and take writes.
	deadline := time.Now().Add(30 * time.Second)
	for putKV(c.procs[0].client, "tls/k", "v") != nil {
		if time.Now().After(deadline) {
			t.Fatal("the two good members never took a write")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The good members log the refused handshakes of the intruder.
	deadline = time.Now().Add(30 * time.Second)
	for {
		refused := ""
		for _, p := range c.procs[:2] {
			b, _ := os.ReadFile(p.logPath)
			for _, line := range strings.Split(string(b), "\n") {
				if strings.Contains(line, "certificate") {
					refused = line
				}
			}
		}
		if refused != "" {
			t.Logf("refusal: %s", refused)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no certificate refusal logged by the good members")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The intruder has no leader and none of the data.
	var st struct {
		Leader string `json:"leader"`
	}
	if _, err := call(c.procs[2].client, "/v3/maintenance/status", "{}", &st); err != nil {
		t.Fatal(err)
	}
	if st.Leader != "" && st.Leader != "0" {
		t.Fatalf("the intruder knows leader %s", st.Leader)
	}
	if _, ok, err := getKV(c.procs[2].client, "tls/k", true); err != nil || ok {
		t.Fatalf("the intruder holds the cluster's data (%v, %v)", ok, err)
	}
}

// TestProcClientTLS serves the client API over TLS with client
// certificates required: a client with the CA and a certificate gets in,
// a client without a certificate is refused.
func TestProcClientTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "client-ca")
	c := newProcCluster(t, 1)
	p := c.procs[0]
	cert, key, caFile := ca.issue(t, dir, "server")
	https := strings.Replace(p.client, "http://", "https://", 1)
	for j, a := range p.args {
		p.args[j] = strings.ReplaceAll(a, p.client, https)
	}
	p.args = append(p.args, "--cert-file", cert, "--key-file", key, "--trusted-ca-file", caFile, "--client-cert-auth")
	c.start(p)
	ccert, ckey, _ := ca.issue(t, dir, "client")
	pair, err := tls.LoadX509KeyPair(ccert, ckey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	good := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}}}
	anon := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := good.Post(https+"/v3/kv/put", "application/json", strings.NewReader(`{"key":"Zm9v","value":"YmFy"}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no put over TLS within 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp, err := anon.Post(https+"/v3/kv/range", "application/json", strings.NewReader(`{"key":"Zm9v"}`)); err == nil {
		resp.Body.Close()
		t.Fatal("a client without a certificate was served")
	}
}
