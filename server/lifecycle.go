package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/shelf-kv/shelf/server/transport"
)

// Start listens on the peer and client URLs, starts the peer transport, the
// raft loop and the read loop, and serves the client API. It returns once
// everything listens; the cluster may not have a leader yet.
func (s *Server) Start() error {
	peerLns, err := listenAll(s.cfg.ListenPeerURLs, nil)
	if err != nil {
		return fmt.Errorf("--listen-peer-urls: %w", err)
	}
	clientLns, err := listenAll(s.cfg.ListenClientURLs, s.cfg.ClientTLS)
	if err != nil {
		closeAll(peerLns)
		return fmt.Errorf("--listen-client-urls: %w", err)
	}
	tr, err := transport.New(transport.Config{
		ID:              s.id,
		ClusterID:       s.clusterID,
		Handler:         s,
		SnapshotHandler: s.receiveSnapshot,
		Logger:          s.log,
		TLS:             s.cfg.PeerTLS,
		Registerer:      s.cfg.Registry,
	})
	if err != nil {
		closeAll(peerLns)
		closeAll(clientLns)
		return err
	}
	s.tr = &peerTransport{transporter: tr, s: s}
	for _, l := range peerLns {
		go func() { _ = tr.Serve(l) }()
	}
	for _, m := range s.members.list() {
		if m.ID != s.id {
			s.tr.AddPeer(m.ID, m.PeerURLs)
		}
	}
	for _, m := range s.initial {
		if m.ID != s.id {
			if _, known := s.members.get(m.ID); !known {
				s.tr.AddPeer(m.ID, m.PeerURLs)
			}
		}
	}
	s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	for _, l := range clientLns {
		go func() { _ = s.http.Serve(l) }()
	}
	s.clientAddrs = nil
	for _, l := range clientLns {
		s.clientAddrs = append(s.clientAddrs, l.Addr().String())
	}
	go s.run()
	go s.reads.loop()
	go s.publishLoop()
	go s.removalWatch()
	go s.maintLoop()
	go s.progressLoop()
	go s.watchLeaderLoop()
	s.log.Info("member started", "peer_urls", s.cfg.ListenPeerURLs, "client_urls", s.cfg.ListenClientURLs)
	return nil
}

// Stop stops serving, stops the raft loop and closes the WAL and the store.
// It is safe to call more than once and from any goroutine.
func (s *Server) Stop() {
	s.stopped.Do(func() { close(s.stopc) })
	s.shutdown.Do(func() {
		if s.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = s.http.Shutdown(ctx)
			cancel()
			_ = s.http.Close()
		}
		if s.tr != nil {
			s.tr.Stop()
			<-s.donec
		}
		s.w.Close()
		s.Store().Close()
		s.log.Info("member stopped")
	})
}

// ClientAddrs returns the addresses the client API listens on.
func (s *Server) ClientAddrs() []string { return s.clientAddrs }

func listenAll(urls []string, tlsCfg *tls.Config) ([]net.Listener, error) {
	var out []net.Listener
	for _, u := range urls {
		addr, err := hostPort(u)
		if err != nil {
			closeAll(out)
			return nil, err
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll(out)
			return nil, err
		}
		if tlsCfg != nil {
			l = tls.NewListener(l, tlsCfg)
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, errors.New("no URL given")
	}
	return out, nil
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}
