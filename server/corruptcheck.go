package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// The periodic consistency check (etcd's --experimental-corrupt-check-time):
// the leader picks its current revision, hashes its own keyspace at it, and
// asks every other member for /v3/maintenance/hashkv at the same revision
// over their client URLs. A member whose hash differs while its compact
// revision is the same as the leader's holds different data: the leader
// logs both hashes and member IDs, counts it in
// shelf_server_corruption_detected_total and raises a CORRUPT alarm for
// that member (replicated, so every member then refuses writes). A member
// that cannot answer, or has a different compact revision (it has not
// applied the same compaction yet), is skipped, as etcd does.

// peerHash is one member's answer to the check.
type peerHash struct {
	member          raftpb.NodeID
	hash            uint32
	compactRevision int64
}

// checkConsistency runs one round of the check. It runs on the leader, off
// the raft loop.
func (s *Server) checkConsistency(ctx context.Context) {
	rev := s.Store().Rev()
	mine, err := s.HashKV(rev)
	if err != nil {
		s.log.Warn("consistency check: cannot hash the local keyspace", "revision", rev, "err", err)
		return
	}
	for _, m := range s.members.list() {
		if m.ID == s.id || len(m.ClientURLs) == 0 {
			continue
		}
		theirs, err := s.peerHashKV(ctx, m, rev)
		if err != nil {
			s.log.Warn("consistency check: no hash from member", "member", m.ID.String(), "revision", rev, "err", err)
			continue
		}
		if theirs.compactRevision != mine.CompactRevision {
			continue
		}
		s.maint.compared.Add(1)
		if theirs.hash == mine.Hash {
			continue
		}
		s.m.corruptDetected.Inc()
		s.log.Error("consistency check: hash mismatch; raising the CORRUPT alarm",
			"revision", rev, "compact_revision", mine.CompactRevision,
			"leader", s.id.String(), "leader_hash", mine.Hash,
			"member", m.ID.String(), "member_hash", theirs.hash)
		if s.alarms.has(alarmMember{MemberID: m.ID, Alarm: alarmCorrupt}) {
			continue // raised already
		}
		if _, err := s.Alarm(ctx, alarmRequest{Action: alarmActivate, MemberID: jsonUint64(m.ID), Alarm: alarmCorrupt}); err != nil {
			s.log.Warn("consistency check: could not raise the CORRUPT alarm", "member", m.ID.String(), "err", err)
		}
	}
}

// peerHashKV asks member m for its hash at rev, trying each client URL. A
// member that has not applied rev yet ("future revision") is asked again
// every heartbeat until ctx ends.
func (s *Server) peerHashKV(ctx context.Context, m memberInfo, rev int64) (peerHash, error) {
	var lastErr error
	for {
		for _, u := range m.ClientURLs {
			ph, err := s.fetchHashKV(ctx, u, rev)
			if err == nil {
				if ph.member != m.ID {
					return ph, fmt.Errorf("%s answered as member %s", u, ph.member)
				}
				return ph, nil
			}
			lastErr = err
			if errors.Is(err, mvcc.ErrFutureRev) {
				break
			}
		}
		if !errors.Is(lastErr, mvcc.ErrFutureRev) {
			return peerHash{}, lastErr
		}
		select {
		case <-ctx.Done():
			return peerHash{}, lastErr
		case <-s.stopc:
			return peerHash{}, ErrStopped
		case <-time.After(s.cfg.HeartbeatInterval):
		}
	}
}

// fetchHashKV posts one hashkv request to a member's client URL.
func (s *Server) fetchHashKV(ctx context.Context, clientURL string, rev int64) (peerHash, error) {
	body, _ := json.Marshal(map[string]string{"revision": strconv.FormatInt(rev, 10)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(clientURL, "/")+"/v3/maintenance/hashkv", bytes.NewReader(body))
	if err != nil {
		return peerHash{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hashClient().Do(req)
	if err != nil {
		return peerHash{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return peerHash{}, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &e)
		if strings.Contains(e.Message, "future revision") {
			return peerHash{}, fmt.Errorf("%w: %s", mvcc.ErrFutureRev, e.Message)
		}
		return peerHash{}, fmt.Errorf("hashkv at %s: HTTP %d: %s", clientURL, resp.StatusCode, bytes.TrimSpace(b))
	}
	var hr jsonHashKVResponse
	if err := json.Unmarshal(b, &hr); err != nil {
		return peerHash{}, fmt.Errorf("hashkv at %s: %w", clientURL, err)
	}
	id, _ := strconv.ParseUint(hr.Header.MemberID, 10, 64)
	cr, _ := strconv.ParseInt(hr.CompactRevision, 10, 64)
	return peerHash{member: raftpb.NodeID(id), hash: hr.Hash, compactRevision: cr}, nil
}

// hashClient is the HTTP client of the check. Over https it trusts the
// peer TLS roots (members' client certificates are usually issued by the
// same CA), else the client TLS CA pool.
func (s *Server) hashClient() *http.Client {
	s.maint.httpcOnce.Do(func() { s.maint.httpc = s.newHashClient() })
	return s.maint.httpc
}

func (s *Server) newHashClient() *http.Client {
	tr := &http.Transport{}
	switch {
	case s.cfg.PeerTLS != nil:
		tr.TLSClientConfig = &tls.Config{RootCAs: s.cfg.PeerTLS.RootCAs, Certificates: s.cfg.PeerTLS.Certificates, MinVersion: tls.VersionTLS12}
	case s.cfg.ClientTLS != nil:
		tr.TLSClientConfig = &tls.Config{RootCAs: s.cfg.ClientTLS.ClientCAs, Certificates: s.cfg.ClientTLS.Certificates, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: s.requestTimeout()}
}
