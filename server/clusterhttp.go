package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/server/v3http"
)

// The cluster API: etcd's /v3/cluster/member/{list,add,remove,promote}
// JSON endpoints, same shapes (proto field names: ID, name, peerURLs,
// clientURLs, isLearner; uint64 as strings).

type jsonMember struct {
	ID         string   `json:"ID"`
	Name       string   `json:"name,omitempty"`
	PeerURLs   []string `json:"peerURLs,omitempty"`
	ClientURLs []string `json:"clientURLs,omitempty"`
	IsLearner  bool     `json:"isLearner,omitempty"`
}

type jsonHeader struct {
	ClusterID string `json:"cluster_id"`
	MemberID  string `json:"member_id"`
	RaftTerm  string `json:"raft_term"`
}

type jsonMemberResponse struct {
	Header  jsonHeader   `json:"header"`
	Member  *jsonMember  `json:"member,omitempty"`
	Members []jsonMember `json:"members,omitempty"`
}

// jsonUint64 accepts a uint64 as a JSON string or number, like etcd's gateway.
type jsonUint64 uint64

func (v *jsonUint64) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return errors.New("bad uint64 " + string(b))
	}
	*v = jsonUint64(n)
	return nil
}

type jsonMemberRequest struct {
	ID        jsonUint64 `json:"ID"`
	PeerURLs  []string   `json:"peerURLs"`
	IsLearner bool       `json:"isLearner"`
}

func toJSONMember(m memberInfo) jsonMember {
	return jsonMember{ID: strconv.FormatUint(uint64(m.ID), 10), Name: m.Name, PeerURLs: m.PeerURLs,
		ClientURLs: m.ClientURLs, IsLearner: m.IsLearner}
}

func (s *Server) mountCluster(mux *http.ServeMux) {
	mux.HandleFunc("/v3/cluster/member/list", s.clusterEndpoint(func(r *http.Request, req jsonMemberRequest) (*jsonMember, error) {
		return nil, nil
	}))
	mux.HandleFunc("/v3/cluster/member/add", s.clusterEndpoint(func(r *http.Request, req jsonMemberRequest) (*jsonMember, error) {
		m, err := s.AddMember(r.Context(), req.PeerURLs, req.IsLearner)
		if err != nil {
			return nil, err
		}
		jm := toJSONMember(m)
		return &jm, nil
	}))
	mux.HandleFunc("/v3/cluster/member/remove", s.clusterEndpoint(func(r *http.Request, req jsonMemberRequest) (*jsonMember, error) {
		return nil, s.RemoveMember(r.Context(), raftpb.NodeID(req.ID))
	}))
	mux.HandleFunc("/v3/cluster/member/promote", s.clusterEndpoint(func(r *http.Request, req jsonMemberRequest) (*jsonMember, error) {
		return nil, s.PromoteMember(r.Context(), raftpb.NodeID(req.ID))
	}))
}

// clusterEndpoint decodes the request, runs fn and answers with the
// member list, or with etcd's error body.
func (s *Server) clusterEndpoint(fn func(*http.Request, jsonMemberRequest) (*jsonMember, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeStatus(w, v3http.Status{Code: v3http.CodeUnimplemented, Message: "Method Not Allowed"}, http.StatusMethodNotAllowed)
			return
		}
		var req jsonMemberRequest
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil && len(body) > 0 {
			err = json.Unmarshal(body, &req)
		}
		if err != nil {
			writeStatus(w, v3http.Status{Code: v3http.CodeInvalidArgument, Message: err.Error()}, 0)
			return
		}
		m, err := fn(r, req)
		if err != nil {
			writeStatus(w, v3http.StatusOf(err), 0)
			return
		}
		resp := jsonMemberResponse{Member: m, Header: jsonHeader{
			ClusterID: strconv.FormatUint(s.clusterID, 10), MemberID: strconv.FormatUint(uint64(s.id), 10),
			RaftTerm: strconv.FormatUint(s.Term(), 10)}}
		for _, mi := range s.MemberList() {
			resp.Members = append(resp.Members, toJSONMember(mi))
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	}
}

// writeStatus writes etcd's error body; httpStatus 0 means the code's.
func writeStatus(w http.ResponseWriter, st v3http.Status, httpStatus int) {
	if httpStatus == 0 {
		httpStatus = st.Code.HTTPStatus()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	json.NewEncoder(w).Encode(struct { // etcd's field order
		Error   string      `json:"error"`
		Message string      `json:"message"`
		Code    v3http.Code `json:"code"`
	}{st.Message, st.Message, st.Code})
}
