package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/server/v3http"
)

// The maintenance API: etcd's /v3/maintenance/{alarm,hash,defragment,
// snapshot,transfer-leadership} and /v3/cluster/member/update, with the
// shapes etcd 3.4.23's gateway sends (checked against it), plus
// /v3/maintenance/hashkv, which etcd 3.4's gateway cannot reach (it maps
// HashKV to /v3/maintenance/hash, where Hash answers) and shelf serves with
// etcd's HashKVResponse shape.

// jsonRevHeader is etcd's ResponseHeader with the revision.
type jsonRevHeader struct {
	ClusterID string `json:"cluster_id"`
	MemberID  string `json:"member_id"`
	Revision  string `json:"revision"`
	RaftTerm  string `json:"raft_term"`
}

type jsonHashResponse struct {
	Header jsonRevHeader `json:"header"`
	Hash   uint32        `json:"hash"`
}

type jsonHashKVResponse struct {
	Header          jsonRevHeader `json:"header"`
	Hash            uint32        `json:"hash"`
	CompactRevision string        `json:"compact_revision"`
}

// jsonInt64 accepts an int64 as a JSON string or number, like etcd's gateway.
type jsonInt64 int64

func (v *jsonInt64) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return errors.New("bad int64 " + string(b))
	}
	*v = jsonInt64(n)
	return nil
}

// snapshotChunk is how many file bytes one streamed message carries (etcd
// sends 32 KiB per SnapshotResponse).
const snapshotChunk = 32 << 10

func (s *Server) revHeader(rev int64) jsonRevHeader {
	return jsonRevHeader{ClusterID: strconv.FormatUint(s.clusterID, 10), MemberID: strconv.FormatUint(uint64(s.id), 10),
		Revision: strconv.FormatInt(rev, 10), RaftTerm: strconv.FormatUint(s.Term(), 10)}
}

func (s *Server) mountMaintenance(mux *http.ServeMux) {
	mux.HandleFunc("/v3/maintenance/alarm", s.maintEndpoint(func(ctx context.Context, body []byte) (any, error) {
		var req alarmRequest
		if err := decodeBody(body, &req); err != nil {
			return nil, err
		}
		return s.Alarm(ctx, req)
	}))
	mux.HandleFunc("/v3/maintenance/hash", s.maintEndpoint(func(ctx context.Context, body []byte) (any, error) {
		h, err := s.HashKV(0)
		if err != nil {
			return nil, err
		}
		return jsonHashResponse{Header: s.revHeader(h.Revision), Hash: h.Hash}, nil
	}))
	mux.HandleFunc("/v3/maintenance/hashkv", s.maintEndpoint(func(ctx context.Context, body []byte) (any, error) {
		var req struct {
			Revision jsonInt64 `json:"revision"`
		}
		if err := decodeBody(body, &req); err != nil {
			return nil, err
		}
		h, err := s.HashKV(int64(req.Revision))
		if err != nil {
			return nil, err
		}
		return jsonHashKVResponse{Header: s.revHeader(h.Revision), Hash: h.Hash,
			CompactRevision: strconv.FormatInt(h.CompactRevision, 10)}, nil
	}))
	mux.HandleFunc("/v3/maintenance/defragment", s.maintEndpoint(func(ctx context.Context, body []byte) (any, error) {
		return struct{}{}, s.Defragment(ctx) // etcd 3.4 answers {} (no header)
	}))
	mux.HandleFunc("/v3/maintenance/transfer-leadership", s.maintEndpoint(func(ctx context.Context, body []byte) (any, error) {
		var req struct {
			TargetID jsonUint64 `json:"targetID"`
		}
		if err := decodeBody(body, &req); err != nil {
			return nil, err
		}
		return struct{}{}, s.MoveLeader(ctx, raftpb.NodeID(req.TargetID)) // etcd 3.4 answers {}
	}))
	mux.HandleFunc("/v3/maintenance/snapshot", s.serveSnapshot)
	mux.HandleFunc("/v3/cluster/member/update", s.clusterEndpoint(func(r *http.Request, req jsonMemberRequest) (*jsonMember, error) {
		return nil, s.UpdateMember(r.Context(), raftpb.NodeID(req.ID), req.PeerURLs)
	}))
}

// decodeBody decodes a request body (empty means all defaults); a decoding
// error is InvalidArgument with its text, as etcd's gateway answers.
func decodeBody(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &v3http.StatusError{Status: v3http.Status{Code: v3http.CodeInvalidArgument, Message: err.Error()}}
	}
	return nil
}

// maintEndpoint wraps fn with method checking, body reading and etcd's
// error bodies.
func (s *Server) maintEndpoint(fn func(ctx context.Context, body []byte) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := readMaintBody(w, r)
		if !ok {
			return
		}
		resp, err := fn(r.Context(), body)
		if err != nil {
			writeStatus(w, v3http.StatusOf(err), 0)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	}
}

func readMaintBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodPost {
		writeStatus(w, v3http.Status{Code: v3http.CodeUnimplemented, Message: "Method Not Allowed"}, http.StatusMethodNotAllowed)
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeStatus(w, v3http.Status{Code: v3http.CodeInvalidArgument, Message: err.Error()}, 0)
		return nil, false
	}
	return body, true
}

// jsonSnapshotResponse is etcd's SnapshotResponse (remaining_bytes is
// omitted when 0, as etcd's gateway does).
type jsonSnapshotResponse struct {
	RemainingBytes string `json:"remaining_bytes,omitempty"`
	Blob           []byte `json:"blob"`
}

// serveSnapshot streams a consistent snapshot of this member as etcd's
// gateway streams one: a line {"result":{"remaining_bytes":"N","blob":".."}}
// per 32 KiB of the file. The bytes are shelf's snapshot file (which carries
// its own checksum; etcd appends a sha256 of its bolt file instead). An
// error after the stream started is a last {"error":{...}} line.
func (s *Server) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	if _, ok := readMaintBody(w, r); !ok {
		return
	}
	f, size, err := s.OpenSnapshot(r.Context(), s.cfg.DataDir)
	if err != nil {
		writeStatus(w, v3http.StatusOf(err), 0)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/json")
	flusher, _ := w.(http.Flusher)
	bw := bufio.NewWriter(w)
	remaining := size
	buf := make([]byte, snapshotChunk)
	for remaining > 0 {
		n, err := io.ReadFull(f, buf[:min(int64(len(buf)), remaining)])
		if err != nil {
			st := v3http.StatusOf(fmt.Errorf("server: reading snapshot: %w", err))
			json.NewEncoder(bw).Encode(map[string]any{"error": map[string]any{"grpc_code": st.Code, "http_code": st.Code.HTTPStatus(),
				"message": st.Message, "http_status": http.StatusText(st.Code.HTTPStatus())}})
			break
		}
		remaining -= int64(n)
		msg := jsonSnapshotResponse{Blob: buf[:n]}
		if remaining > 0 {
			msg.RemainingBytes = strconv.FormatInt(remaining, 10)
		}
		if err := json.NewEncoder(bw).Encode(map[string]any{"result": msg}); err != nil {
			return
		}
		if err := bw.Flush(); err != nil {
			return // the client went away
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	bw.Flush() // blobs are base64: encoding/json's rule for []byte, as the gateway's
}
