package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// rawHandshake dials addr, sends h and returns the reply's error.
func rawHandshake(t *testing.T, addr string, h handshake) error {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(h.marshal()); err != nil {
		t.Fatal(err)
	}
	return readReply(c)
}

// TestHandshakeRefusals: a member answers each kind of unacceptable
// handshake with the matching refusal, and logs why.
func TestHandshakeRefusals(t *testing.T) {
	checkNoLeaks(t)
	a := startNode(t, 1, "127.0.0.1:0", nil)
	if err := a.tr.AddPeer(2, "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		h    handshake
		want error
		log  string
	}{
		{"other cluster", handshake{Kind: streamMsg, ClusterID: testCluster + 1, From: 2, To: 1}, ErrClusterMismatch, "peer is in cluster 5e20"},
		{"addressed to another member", handshake{Kind: streamMsg, ClusterID: testCluster, From: 2, To: 7}, ErrWrongRecipient, "handshake is for member 7"},
		{"unknown member", handshake{Kind: streamApp, ClusterID: testCluster, From: 9, To: 1}, ErrUnknownPeer, "member 9 is not a peer"},
		{"accepted", handshake{Kind: streamMsg, ClusterID: testCluster, From: 2, To: 1}, nil, ""},
	} {
		err := rawHandshake(t, a.addr, tc.h)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrRefused) || !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want a refusal wrapping %v", tc.name, err, tc.want)
		}
		a.rec.wait(t, tc.name+" logged", func(*recorder) bool { return a.logs.contains(tc.log) }, func() {})
	}
	// Not a shelf peer at all: bad magic.
	c, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n   "))
	if err := readReply(c); !errors.Is(err, ErrRefused) {
		t.Errorf("HTTP request: got %v, want a refusal", err)
	}
}

// TestWrongClusterPeerRefused: a full Transport of another cluster, with
// the right ids and addresses, never gets a message through.
func TestWrongClusterPeerRefused(t *testing.T) {
	checkNoLeaks(t)
	a := startNode(t, 1, "127.0.0.1:0", nil)
	x := startNode(t, 2, "127.0.0.1:0", func(c *Config) { c.ClusterID = 0xbad })
	mesh(t, a, x)
	x.rec.wait(t, "the intruder told it is unreachable", func(r *recorder) bool { return r.unreachable[1] > 0 }, func() {
		x.tr.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 2, To: 1, Term: 1}})
	})
	a.rec.wait(t, "the refusal logged", func(*recorder) bool { return a.logs.contains("cluster id mismatch") }, func() {})
	if got := a.rec.from(2); len(got) != 0 {
		t.Fatalf("member processed %v from another cluster", got)
	}
	if x.tr.Reachable(1) {
		t.Fatal("refused streams reported reachable")
	}
	if !x.logs.contains("handshake refused by peer") {
		t.Error("the refused side did not log the refusal")
	}
}

// testCA is a certificate authority generated for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// memberTLS issues a certificate for 127.0.0.1 (server and client use)
// and returns a mutual-TLS config that trusts trust.
func (ca *testCA) memberTLS(t *testing.T, serial int64, trust *testCA) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "member"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		RootCAs:      trust.pool,
		ClientCAs:    trust.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}
}

// TestMutualTLS: members with certificates of the cluster CA talk; a
// member whose certificate comes from another CA (but which trusts the
// cluster CA, has the right cluster id and is a configured peer) is
// refused at the TLS handshake and never gets a message through.
func TestMutualTLS(t *testing.T) {
	checkNoLeaks(t)
	cluster := newTestCA(t, "cluster CA")
	other := newTestCA(t, "intruder CA")
	a := startNode(t, 1, "127.0.0.1:0", func(c *Config) { c.TLS = cluster.memberTLS(t, 10, cluster) })
	b := startNode(t, 2, "127.0.0.1:0", func(c *Config) { c.TLS = cluster.memberTLS(t, 11, cluster) })
	x := startNode(t, 3, "127.0.0.1:0", func(c *Config) { c.TLS = other.memberTLS(t, 12, cluster) })
	mesh(t, a, b, x)

	b.rec.wait(t, "a heartbeat over mTLS", func(r *recorder) bool { return len(r.msgs) > 0 }, func() {
		a.tr.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Term: 1}})
	})
	x.rec.wait(t, "the intruder told it is unreachable", func(r *recorder) bool { return r.unreachable[1] > 0 }, func() {
		x.tr.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 3, To: 1, Term: 1}})
	})
	a.rec.wait(t, "the TLS refusal logged", func(*recorder) bool { return a.logs.contains("TLS handshake failed") }, func() {})
	if got := a.rec.from(3); len(got) != 0 {
		t.Fatalf("member processed %v from a peer of another CA", got)
	}
	if x.tr.Reachable(1) {
		t.Fatal("the intruder's streams are reported reachable")
	}
	// Plain TCP to a TLS member gets nowhere either.
	if err := rawHandshake(t, a.addr, handshake{Kind: streamMsg, ClusterID: testCluster, From: 2, To: 1}); err == nil {
		t.Fatal("a plain-TCP handshake was accepted by a TLS member")
	}
}

// TestNewStreamSupersedesOld: when a peer opens a second stream of the
// same kind (it redialled after a failure it saw but we did not), the
// old connection is closed instead of lingering half-open forever.
func TestNewStreamSupersedesOld(t *testing.T) {
	checkNoLeaks(t)
	a := startNode(t, 1, "127.0.0.1:0", nil)
	if err := a.tr.AddPeer(2, "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	h := handshake{Kind: streamMsg, ClusterID: testCluster, From: 2, To: 1}
	dialAccepted := func() net.Conn {
		c, err := net.Dial("tcp", a.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write(h.marshal()); err != nil {
			t.Fatal(err)
		}
		if err := readReply(c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	old := dialAccepted()
	dialAccepted()
	if err := old.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	if n, err := old.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("old stream: read %d bytes, err %v; want io.EOF (closed by the member)", n, err)
	}
}
