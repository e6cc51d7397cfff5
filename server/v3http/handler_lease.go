package v3http

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime/debug"

	"github.com/shelf-kv/shelf/mvcc"
)

// LeaseBackend is the lease part of Backend (etcd's Lease service).
//
// A lease that does not exist is not an error for TimeToLive and
// KeepAlive, as in etcd's LeaseServer: TimeToLive answers TTL -1 and
// KeepAlive TTL 0, each with the current revision in the header.
type LeaseBackend interface {
	// LeaseGrant grants lease id (0: the backend picks one) with ttl
	// seconds, raised to the backend's minimum (etcd's minLeaseTTL); a
	// ttl above mvcc.MaxLeaseTTL is mvcc.ErrLeaseTTLTooLarge.
	LeaseGrant(ctx context.Context, id, ttl int64) (*mvcc.LeaseGrantResponse, error)
	// LeaseRevoke revokes id and deletes its keys (mvcc.ErrLeaseNotFound
	// when there is no such lease).
	LeaseRevoke(ctx context.Context, id int64) (*mvcc.LeaseRevokeResponse, error)
	// LeaseTimeToLive reports id's remaining TTL as the member that
	// expires leases (the leader) sees it, with the attached keys when
	// keys is set.
	LeaseTimeToLive(ctx context.Context, id int64, keys bool) (*mvcc.LeaseTimeToLiveResponse, error)
	// LeaseLeases lists the granted leases.
	LeaseLeases(ctx context.Context) (*LeaseList, error)
	// LeaseKeepAlive renews id (on the leader) and returns its TTL.
	LeaseKeepAlive(ctx context.Context, id int64) (*LeaseKeepAlive, error)
}

// LeaseList is the answer of LeaseBackend.LeaseLeases.
type LeaseList struct {
	Revision int64
	IDs      []int64
}

// LeaseKeepAlive is the answer of LeaseBackend.LeaseKeepAlive: TTL 0 when
// the lease is gone.
type LeaseKeepAlive struct {
	Revision int64
	TTL      int64
}

// Lease response shapes (etcd's rpc.proto names these fields in capitals
// and grantedTTL in camelCase; jsonpb writes them as named there).
type jsonLeaseGrantResponse struct {
	Header *jsonHeader `json:"header,omitempty"`
	ID     i64         `json:"ID,omitempty"`
	TTL    i64         `json:"TTL,omitempty"`
}

type jsonLeaseRevokeResponse struct {
	Header *jsonHeader `json:"header,omitempty"`
}

type jsonLeaseTimeToLiveResponse struct {
	Header     *jsonHeader `json:"header,omitempty"`
	ID         i64         `json:"ID,omitempty"`
	TTL        i64         `json:"TTL,omitempty"`
	GrantedTTL i64         `json:"grantedTTL,omitempty"`
	Keys       [][]byte    `json:"keys,omitempty"`
}

type jsonLeaseStatus struct {
	ID i64 `json:"ID,omitempty"`
}

type jsonLeaseLeasesResponse struct {
	Header *jsonHeader        `json:"header,omitempty"`
	Leases []*jsonLeaseStatus `json:"leases,omitempty"`
}

// jsonLeaseKeepAliveResponse has the same shape as a grant's answer.
type jsonLeaseKeepAliveResponse = jsonLeaseGrantResponse

// leaseRoutes are the lease endpoints served by h.endpoint; etcd 3.4's
// gateway also serves revoke, timetolive and leases under /v3/kv/lease/.
func (h *Handler) leaseRoutes() map[string]serveFunc {
	return map[string]serveFunc{
		"/v3/lease/grant":         h.serveLeaseGrant,
		"/v3/lease/revoke":        h.serveLeaseRevoke,
		"/v3/kv/lease/revoke":     h.serveLeaseRevoke,
		"/v3/lease/timetolive":    h.serveLeaseTimeToLive,
		"/v3/kv/lease/timetolive": h.serveLeaseTimeToLive,
		"/v3/lease/leases":        h.serveLeaseLeases,
		"/v3/kv/lease/leases":     h.serveLeaseLeases,
	}
}

// mountLease registers the lease endpoints on h.mux.
func (h *Handler) mountLease() {
	for path, serve := range h.leaseRoutes() {
		h.mux.Handle("POST "+path, h.endpoint(serve))
	}
	h.mux.Handle("POST /v3/lease/keepalive", http.HandlerFunc(h.serveLeaseKeepAlive))
}

// decodeLeaseID decodes a request whose only field (besides keys, for
// timetolive) is the lease ID: revoke, keepalive.
func decodeLeaseID(raw json.RawMessage) (int64, error) {
	var id int64
	f := newFields(raw)
	f.int64("ID", "ID", &id)
	return id, f.err
}

// serveLeaseGrant is POST /v3/lease/grant (LeaseGrantRequest: TTL, ID).
func (h *Handler) serveLeaseGrant(ctx context.Context, raw json.RawMessage) (any, error) {
	var ttl, id int64
	f := newFields(raw)
	f.int64("TTL", "TTL", &ttl)
	f.int64("ID", "ID", &id)
	if f.err != nil {
		return nil, invalidArgument(f.err)
	}
	resp, err := h.cfg.Backend.LeaseGrant(ctx, id, ttl)
	if err != nil {
		return nil, err
	}
	return &jsonLeaseGrantResponse{Header: topHeader(resp.Header.Revision, h.cfg.Backend.Header()), ID: i64(resp.ID), TTL: i64(resp.TTL)}, nil
}

// serveLeaseRevoke is POST /v3/lease/revoke: a revoke that deletes keys
// moves the revision; one of a lease without keys does not.
func (h *Handler) serveLeaseRevoke(ctx context.Context, raw json.RawMessage) (any, error) {
	id, err := decodeLeaseID(raw)
	if err != nil {
		return nil, invalidArgument(err)
	}
	resp, err := h.cfg.Backend.LeaseRevoke(ctx, id)
	if err != nil {
		return nil, err
	}
	return &jsonLeaseRevokeResponse{Header: topHeader(resp.Header.Revision, h.cfg.Backend.Header())}, nil
}

// serveLeaseTimeToLive is POST /v3/lease/timetolive (ID, keys).
func (h *Handler) serveLeaseTimeToLive(ctx context.Context, raw json.RawMessage) (any, error) {
	var id int64
	var keys bool
	f := newFields(raw)
	f.int64("ID", "ID", &id)
	f.bool("keys", "keys", &keys)
	if f.err != nil {
		return nil, invalidArgument(f.err)
	}
	resp, err := h.cfg.Backend.LeaseTimeToLive(ctx, id, keys)
	if err != nil {
		return nil, err
	}
	return &jsonLeaseTimeToLiveResponse{
		Header: topHeader(resp.Header.Revision, h.cfg.Backend.Header()),
		ID:     i64(resp.ID), TTL: i64(resp.TTL), GrantedTTL: i64(resp.GrantedTTL), Keys: resp.Keys,
	}, nil
}

// serveLeaseLeases is POST /v3/lease/leases (an empty request).
func (h *Handler) serveLeaseLeases(ctx context.Context, raw json.RawMessage) (any, error) {
	if err := decodeStatus(raw); err != nil {
		return nil, invalidArgument(err)
	}
	list, err := h.cfg.Backend.LeaseLeases(ctx)
	if err != nil {
		return nil, err
	}
	out := &jsonLeaseLeasesResponse{Header: topHeader(list.Revision, h.cfg.Backend.Header())}
	for _, id := range list.IDs {
		out.Leases = append(out.Leases, &jsonLeaseStatus{ID: i64(id)})
	}
	return out, nil
}

// jsonStreamError is grpc-gateway 1.x's error chunk of a stream that
// fails after it started: {"error":{"grpc_code":..,"http_code":..,
// "message":..,"http_status":..}}.
type jsonStreamError struct {
	Error struct {
		GrpcCode   Code   `json:"grpc_code,omitempty"`
		HTTPCode   int    `json:"http_code,omitempty"`
		Message    string `json:"message,omitempty"`
		HTTPStatus string `json:"http_status,omitempty"`
	} `json:"error"`
}

// streamReader counts the bytes a json.Decoder pulls from a request body,
// so that one message larger than limit fails instead of being buffered
// whole, while a long-lived stream of small messages never does.
type streamReader struct {
	r     io.Reader
	read  int64
	dec   *json.Decoder
	limit int64
}

var errStreamMessageTooLarge = errors.New("v3http: stream message larger than the request size limit")

func (s *streamReader) Read(p []byte) (int, error) {
	if s.dec != nil && s.read-s.dec.InputOffset() > s.limit {
		return 0, errStreamMessageTooLarge
	}
	n, err := s.r.Read(p)
	s.read += int64(n)
	return n, err
}

// serveLeaseKeepAlive is POST /v3/lease/keepalive, a bidirectional stream
// as etcd's gateway serves it: the body is a sequence of
// LeaseKeepAliveRequest objects, each answered (in order, flushed) by one
// line {"result":{header,ID,TTL}}. The stream ends when the body ends. A
// first message that does not decode is an error response (Unknown, HTTP
// 500, as the gateway sends); a later one ends the stream. A failing
// renewal ends it with the gateway's {"error":{...}} chunk.
func (h *Handler) serveLeaseKeepAlive(w http.ResponseWriter, r *http.Request) {
	started := false
	defer func() {
		if p := recover(); p != nil {
			h.cfg.Logger.Error("v3http: panic while serving", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !started {
				h.writeError(w, r, Status{CodeInternal, "v3http: internal error"})
			}
		}
	}()
	rc := http.NewResponseController(w)
	_ = rc.EnableFullDuplex() // read later messages after answering earlier ones (HTTP/1.1)
	sr := &streamReader{r: r.Body, limit: int64(h.grpcLimit)}
	dec := json.NewDecoder(sr)
	sr.dec = dec
	start := func(status int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		started = true
	}
	for {
		id, err := nextKeepAlive(dec)
		if errors.Is(err, io.EOF) {
			if !started {
				start(http.StatusOK)
			}
			return
		}
		if err != nil {
			if !started {
				// The rest of the body is not read: the connection
				// cannot carry another request.
				w.Header().Set("Connection", "close")
				h.writeError(w, r, Status{CodeUnknown, err.Error()})
			}
			return
		}
		resp, err := h.cfg.Backend.LeaseKeepAlive(r.Context(), id)
		if err != nil {
			st := StatusOf(err)
			if !started {
				start(st.Code.HTTPStatus())
			}
			var e jsonStreamError
			e.Error.GrpcCode, e.Error.Message = st.Code, st.Message
			e.Error.HTTPCode = st.Code.HTTPStatus()
			e.Error.HTTPStatus = http.StatusText(e.Error.HTTPCode)
			h.writeChunk(w, rc, e)
			return
		}
		if !started {
			start(http.StatusOK)
		}
		out := &jsonLeaseKeepAliveResponse{Header: topHeader(resp.Revision, h.cfg.Backend.Header()), ID: i64(id), TTL: i64(resp.TTL)}
		if !h.writeChunk(w, rc, struct {
			Result *jsonLeaseKeepAliveResponse `json:"result"`
		}{out}) {
			return
		}
	}
}

// nextKeepAlive decodes the next message of a keepalive stream.
func nextKeepAlive(dec *json.Decoder) (int64, error) {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return 0, err
	}
	return decodeLeaseID(raw)
}

// writeChunk writes v as one line and flushes it; false when the client
// is gone.
func (h *Handler) writeChunk(w http.ResponseWriter, rc *http.ResponseController, v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		h.cfg.Logger.Error("v3http: encoding a stream message failed", "err", err)
		return false
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return false
	}
	return rc.Flush() == nil
}
