package client

import (
	"context"
	"fmt"
)

// Member is one cluster member as /v3/cluster/member/* reports it.
type Member struct {
	ID         uint64
	Name       string // empty until a started member has published it
	PeerURLs   []string
	ClientURLs []string
	IsLearner  bool
}

// MemberResponse is the answer of every member call: the member the call
// was about (MemberAdd only) and the cluster's members after the call.
type MemberResponse struct {
	Header  Header
	Member  *Member
	Members []Member
}

func (m *wireMember) typed() Member {
	return Member{ID: uint64(m.ID), Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs, IsLearner: m.IsLearner}
}

func (r *wireMemberResponse) typed() *MemberResponse {
	out := &MemberResponse{Header: r.Header.typed()}
	if r.Member != nil {
		m := r.Member.typed()
		out.Member = &m
	}
	for _, m := range r.Members {
		if m != nil {
			out.Members = append(out.Members, m.typed())
		}
	}
	return out
}

// memberCall sends a member request; list is a read, the rest writes.
func (c *Client) memberCall(ctx context.Context, op string, kind callKind, in *wireMemberRequest) (*MemberResponse, error) {
	var out wireMemberResponse
	if err := c.call(ctx, "/v3/cluster/member/"+op, kind, in, &out); err != nil {
		return nil, err
	}
	return out.typed(), nil
}

// MemberList lists the cluster's members (a read).
func (c *Client) MemberList(ctx context.Context) (*MemberResponse, error) {
	return c.memberCall(ctx, "list", kindRead, &wireMemberRequest{})
}

// MemberAdd adds a voting member with the given peer URLs (a write).
func (c *Client) MemberAdd(ctx context.Context, peerURLs []string) (*MemberResponse, error) {
	if err := checkPeerURLs(peerURLs); err != nil {
		return nil, err
	}
	return c.memberCall(ctx, "add", kindWrite, &wireMemberRequest{PeerURLs: peerURLs})
}

// MemberAddAsLearner adds a non-voting learner (a write).
func (c *Client) MemberAddAsLearner(ctx context.Context, peerURLs []string) (*MemberResponse, error) {
	if err := checkPeerURLs(peerURLs); err != nil {
		return nil, err
	}
	return c.memberCall(ctx, "add", kindWrite, &wireMemberRequest{PeerURLs: peerURLs, IsLearner: true})
}

// MemberRemove removes member id (a write).
func (c *Client) MemberRemove(ctx context.Context, id uint64) (*MemberResponse, error) {
	if id == 0 {
		return nil, fmt.Errorf("%w: member ID 0", ErrInvalidOp)
	}
	return c.memberCall(ctx, "remove", kindWrite, &wireMemberRequest{ID: u64(id)})
}

// MemberPromote turns learner id into a voter (a write).
func (c *Client) MemberPromote(ctx context.Context, id uint64) (*MemberResponse, error) {
	if id == 0 {
		return nil, fmt.Errorf("%w: member ID 0", ErrInvalidOp)
	}
	return c.memberCall(ctx, "promote", kindWrite, &wireMemberRequest{ID: u64(id)})
}

// checkPeerURLs refuses an empty list or a URL that is not a valid
// endpoint (same rules as Config.Endpoints).
func checkPeerURLs(urls []string) error {
	if len(urls) == 0 {
		return fmt.Errorf("%w: no peer URLs", ErrInvalidOp)
	}
	for _, u := range urls {
		if _, err := validateEndpoint(u); err != nil {
			return fmt.Errorf("%w: peer URL: %v", ErrInvalidOp, err)
		}
	}
	return nil
}

// StatusResponse is etcd's StatusResponse for one member.
type StatusResponse struct {
	Header           Header
	Version          string
	DBSize           int64
	DBSizeInUse      int64
	Leader           uint64 // the leader's member ID, 0 when the member knows none
	RaftIndex        uint64
	RaftTerm         uint64
	RaftAppliedIndex uint64
	Errors           []string
	IsLearner        bool
}

// Status asks exactly endpoint (which need not be in Config.Endpoints)
// for its status; there is no failover, since the answer is about that
// member.
func (c *Client) Status(ctx context.Context, endpoint string) (*StatusResponse, error) {
	ep, err := validateEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	var w wireStatusResponse
	if err := c.callOne(ctx, ep, "/v3/maintenance/status", struct{}{}, &w); err != nil {
		return nil, err
	}
	return &StatusResponse{Header: w.Header.typed(), Version: w.Version, DBSize: int64(w.DBSize),
		DBSizeInUse: int64(w.DBSizeInUse), Leader: uint64(w.Leader), RaftIndex: uint64(w.RaftIndex),
		RaftTerm: uint64(w.RaftTerm), RaftAppliedIndex: uint64(w.RaftAppliedIndex), Errors: w.Errors,
		IsLearner: w.IsLearner}, nil
}
