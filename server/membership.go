package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shelf-kv/shelf/raft"
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/server/v3http"
)

// Membership errors, with etcd's codes and texts.
var (
	ErrMemberNotFound    = statusErr(v3http.CodeNotFound, "etcdserver: member not found")
	ErrPeerURLExists     = statusErr(v3http.CodeFailedPrecondition, "etcdserver: Peer URLs already exists")
	ErrMemberNotLearner  = statusErr(v3http.CodeFailedPrecondition, "etcdserver: can only promote a learner member")
	ErrLearnerNotReady   = statusErr(v3http.CodeFailedPrecondition, "etcdserver: can only promote a learner member which is in sync with leader")
	ErrConfChangePending = statusErr(v3http.CodeFailedPrecondition, "etcdserver: a membership change is already in progress")
	ErrBadPeerURL        = statusErr(v3http.CodeInvalidArgument, "etcdserver: given member URLs are invalid")
	ErrRemoveLastMember  = statusErr(v3http.CodeFailedPrecondition, "etcdserver: re-configuration failed due to not enough started members")
)

func statusErr(code v3http.Code, msg string) error {
	return &v3http.StatusError{Status: v3http.Status{Code: code, Message: msg}}
}

// confContext is the Context of every membership entry this code writes:
// who the member is, and which request (on the proposing member) waits
// for it.
type confContext struct {
	Member memberInfo `json:"member"`
	ReqID  uint64     `json:"req_id,omitempty"`
}

// MemberList returns the members ordered by ID.
func (s *Server) MemberList() []memberInfo { return s.members.list() }

// AddMember adds a member with the given peer URLs, as a learner (promoted
// automatically by the leader once it has caught up) or as a voter. The new
// member's ID is derived from its URLs and the cluster token, exactly as a
// member started with --initial-cluster-state existing derives its own.
func (s *Server) AddMember(ctx context.Context, peerURLs []string, learner bool) (memberInfo, error) {
	if len(peerURLs) == 0 {
		return memberInfo{}, ErrBadPeerURL
	}
	for _, u := range peerURLs {
		if err := checkURL(u); err != nil {
			return memberInfo{}, ErrBadPeerURL
		}
	}
	urls := sortedCopy(peerURLs)
	for _, m := range s.members.list() {
		for _, a := range m.PeerURLs {
			for _, b := range urls {
				if a == b {
					return memberInfo{}, ErrPeerURLExists
				}
			}
		}
	}
	info := memberInfo{ID: memberID(urls, s.cfg.InitialClusterToken), PeerURLs: urls, IsLearner: learner}
	typ := raftpb.ConfChangeAddNode
	if learner {
		typ = raftpb.ConfChangeAddLearnerNode
	}
	if err := s.proposeConfChangeAndWait(ctx, typ, info); err != nil {
		return memberInfo{}, err
	}
	return info, nil
}

// RemoveMember removes a member (voter or learner). A removed member stops.
func (s *Server) RemoveMember(ctx context.Context, id raftpb.NodeID) error {
	if err := s.linearizableWait(ctx); err != nil {
		return err // see PromoteMember
	}
	m, ok := s.members.get(id)
	if !ok {
		return ErrMemberNotFound
	}
	if !m.IsLearner {
		voters := 0
		for _, o := range s.members.list() {
			if !o.IsLearner {
				voters++
			}
		}
		if voters == 1 {
			return ErrRemoveLastMember
		}
	}
	return s.proposeConfChangeAndWait(ctx, raftpb.ConfChangeRemoveNode, m)
}

// PromoteMember makes a learner a voter, if it has caught up with the
// leader. (With automatic promotion on, the leader does this by itself.)
func (s *Server) PromoteMember(ctx context.Context, id raftpb.NodeID) error {
	// The member set is this member's applied view: catch up with
	// everything committed first, so a member just added through another
	// member (or a promotion forwarded here by a follower that applied the
	// add sooner) is not reported "not found".
	if err := s.linearizableWait(ctx); err != nil {
		return err
	}
	m, ok := s.members.get(id)
	if !ok {
		return ErrMemberNotFound
	}
	if !m.IsLearner {
		return ErrMemberNotLearner
	}
	m.IsLearner = false
	err := s.proposeConfChangeAndWait(ctx, raftpb.ConfChangeAddNode, m)
	if errors.Is(err, v3http.ErrNotLeader) {
		return s.forwardPromote(ctx, id)
	}
	return err
}

// forwardPromote asks the leader, on its client URL, to promote id; the
// leader's answer (or error) is returned as if it were this member's.
func (s *Server) forwardPromote(ctx context.Context, id raftpb.NodeID) error {
	lead, ok := s.members.get(s.Leader())
	if !ok || len(lead.ClientURLs) == 0 {
		return ErrNoLeader
	}
	body := fmt.Sprintf(`{"ID":"%d"}`, uint64(id))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, lead.ClientURLs[0]+"/v3/cluster/member/promote", strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := s.peerHTTP().Do(req)
	if err != nil {
		return fmt.Errorf("%w: forwarding to the leader: %v", ErrTimeout, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var e struct {
		Message string      `json:"message"`
		Code    v3http.Code `json:"code"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Message == "" {
		return fmt.Errorf("the leader answered HTTP %d", resp.StatusCode)
	}
	return statusErr(e.Code, e.Message)
}

// peerHTTP is the client for member-to-member calls on client URLs.
func (s *Server) peerHTTP() *http.Client {
	c := &http.Client{Timeout: 5 * time.Second}
	if s.cfg.ClientTLS != nil {
		c.Transport = &http.Transport{TLSClientConfig: s.cfg.ClientTLS.Clone()}
	}
	return c
}

// proposeConfChangeAndWait proposes one membership change and waits until
// this member has applied it.
func (s *Server) proposeConfChangeAndWait(ctx context.Context, typ raftpb.ConfChangeType, m memberInfo) error {
	id := s.reqID.Add(1)
	cctx, err := json.Marshal(confContext{Member: m, ReqID: id})
	if err != nil {
		return err
	}
	cc := raftpb.ConfChange{Type: typ, NodeID: m.ID, Context: cctx}
	_, err = s.submit(ctx, id, proposal{cc: &cc})
	return err
}

// checkPromotion runs on the raft loop before a membership change is
// proposed. A promotion (AddNode of a current learner) is refused unless
// this member leads and the learner's log is within 10% of the leader's
// (etcd's rule): promoting a learner that has not caught up would make it a
// voter the quorum may need before it can vote usefully. Only the leader
// knows its followers' progress; a follower answers "not leader" and
// PromoteMember forwards the request to the leader.
func (s *Server) checkPromotion(cc raftpb.ConfChange) error {
	m, ok := s.members.get(cc.NodeID)
	if cc.Type != raftpb.ConfChangeAddNode || !ok || !m.IsLearner {
		return nil
	}
	if !s.isLeader {
		return v3http.ErrNotLeader
	}
	st := s.rn.Status()
	pr, ok := st.Progress[cc.NodeID]
	last := st.Progress[s.id].Match
	if !ok || pr.Match < last-last/10 {
		return ErrLearnerNotReady
	}
	return nil
}

// mapConfChangeErr turns raft's refusals of a membership change into
// client errors.
func mapConfChangeErr(err error) error {
	if errors.Is(err, raft.ErrConfChangePending) {
		return ErrConfChangePending
	}
	return mapProposeErr(err)
}

// publishLoop proposes this member's name and client URLs until the cluster
// has recorded them, retrying every election timeout.
func (s *Server) publishLoop() {
	me := memberInfo{ID: s.id, Name: s.cfg.Name, ClientURLs: s.cfg.AdvertiseClientURLs}
	for {
		if m, ok := s.members.get(s.id); ok && m.Name == me.Name && equalStrings(m.ClientURLs, me.ClientURLs) {
			return
		}
		if s.Leader() != raftpb.None {
			ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.ElectionTimeout)
			_, _ = s.proposeAndWait(ctx, &request{Publish: &me})
			cancel()
		}
		select {
		case <-s.stopc:
			return
		case <-time.After(s.cfg.ElectionTimeout / 2):
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
