package v3http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// DefaultMaxRequestBytes is etcd's default --max-request-bytes (1.5 MiB).
const DefaultMaxRequestBytes = 1536 * 1024

// maxMaxRequestBytes bounds Config.MaxRequestBytes (1 GiB), so the body
// cap derived from it stays a sane allocation bound.
const maxMaxRequestBytes = 1 << 30

// grpcOverheadBytes is what etcd adds to --max-request-bytes for its gRPC
// receive limit; a bigger request is refused before it is even decoded.
const grpcOverheadBytes = 512 * 1024

// Config configures a Handler. New validates it once.
type Config struct {
	// Backend serves the requests. Required.
	Backend Backend
	// Logger receives one Debug line per request and a Warn line per
	// Unknown/Internal error. Default: discard.
	Logger *slog.Logger
	// MaxRequestBytes is etcd's --max-request-bytes: the largest raft entry
	// a write may need. Default DefaultMaxRequestBytes; at most 1 GiB.
	MaxRequestBytes int
	// WatchBufferBytes bounds each watch stream's buffer (handler_watch.go).
	WatchBufferBytes int
}

// Handler serves etcd's KV and maintenance-status JSON endpoints (see the
// package doc) on its Backend. It is an http.Handler, safe for concurrent
// use, and holds no state besides its configuration.
type Handler struct {
	cfg Config
	mux *http.ServeMux
	// grpcLimit is MaxRequestBytes + grpcOverheadBytes: etcd's receive
	// limit on a request's protobuf size.
	grpcLimit int
	// bodyLimit caps the bytes read from a request body (4 x grpcLimit:
	// JSON is never smaller than the protobuf of the same request unless
	// padded with whitespace).
	bodyLimit int64
}

// serveFunc serves one endpoint: it decodes raw (the body's first JSON
// value, null when empty), calls the Backend and returns the value to
// encode as the 200 response, or an error for StatusOf.
type serveFunc func(ctx context.Context, raw json.RawMessage) (any, error)

// New validates cfg, fills its defaults and returns the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Backend == nil {
		return nil, errors.New("v3http: Config.Backend is required")
	}
	if cfg.MaxRequestBytes < 0 || cfg.MaxRequestBytes > maxMaxRequestBytes {
		return nil, fmt.Errorf("v3http: Config.MaxRequestBytes %d is outside [0, %d]", cfg.MaxRequestBytes, maxMaxRequestBytes)
	}
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.grpcLimit = cfg.MaxRequestBytes + grpcOverheadBytes
	h.bodyLimit = 4 * int64(h.grpcLimit)
	for path, serve := range map[string]serveFunc{
		"/v3/kv/range":           h.serveRange,
		"/v3/kv/put":             h.servePut,
		"/v3/kv/deleterange":     h.serveDeleteRange,
		"/v3/kv/txn":             h.serveTxn,
		"/v3/kv/compaction":      h.serveCompaction,
		"/v3/maintenance/status": h.serveStatus,
	} {
		h.mux.Handle("POST "+path, h.endpoint(serve))
	}
	h.mountLease()
	h.mux.Handle("POST /v3/watch", h.watchEndpoint())
	return h, nil
}

// ServeHTTP routes to the endpoints; other paths are 404 and other methods
// 405, with net/http's plain-text bodies (as etcd's gateway).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// endpoint wraps serve with body reading, JSON framing, response encoding
// and error rendering. A panic below it (a bug, never expected from any
// input) is logged with its stack and answered with Internal instead of
// tearing down the connection.
func (h *Handler) endpoint(serve serveFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				h.cfg.Logger.Error("v3http: panic while serving", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				h.writeError(w, r, Status{CodeInternal, "v3http: internal error"})
			}
		}()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.bodyLimit))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				h.writeError(w, r, h.tooBig(int(mbe.Limit)+1))
				return
			}
			h.writeError(w, r, Status{CodeInvalidArgument, err.Error()})
			return
		}
		raw, err := readTop(body)
		if err != nil {
			h.writeError(w, r, Status{CodeInvalidArgument, err.Error()})
			return
		}
		resp, err := serve(r.Context(), raw)
		if err != nil {
			h.writeError(w, r, StatusOf(err))
			return
		}
		h.writeJSON(w, r, http.StatusOK, resp)
	})
}

// tooBig is etcd's gRPC receive-limit error for a request of n bytes.
func (h *Handler) tooBig(n int) Status {
	return Status{CodeResourceExhausted, fmt.Sprintf("grpc: received message larger than max (%d vs. %d)", n, h.grpcLimit)}
}

// checkSize applies etcd's two size limits to a request whose protobuf
// size is n: the gRPC receive limit always, the raft entry limit when the
// request is a write. precheck runs between the two, standing for etcd's
// request validation, which runs before the raft limit.
func (h *Handler) checkSize(n int, write bool, precheck func() error) error {
	if n > h.grpcLimit {
		return &StatusError{h.tooBig(n)}
	}
	if !write || raftEntrySize(n) <= h.cfg.MaxRequestBytes {
		return nil
	}
	if precheck != nil {
		if err := precheck(); err != nil {
			return err
		}
	}
	return ErrRequestTooLarge
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, st Status) {
	if st.Code == CodeUnknown || st.Code == CodeInternal {
		h.cfg.Logger.Warn("v3http: request failed", "path", r.URL.Path, "code", st.Code, "message", st.Message)
	}
	h.writeJSON(w, r, st.Code.HTTPStatus(), &jsonError{Error: st.Message, Message: st.Message, Code: st.Code})
}

// writeJSON encodes v and sends it with status. Encoding cannot fail for
// this package's response types; if it does, that is a bug reported as
// Internal.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		h.cfg.Logger.Error("v3http: encoding a response failed", "path", r.URL.Path, "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":"v3http: internal error","message":"v3http: internal error","code":13}`)
	}
	h.cfg.Logger.Debug("v3http: request", "path", r.URL.Path, "status", status)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if _, err := w.Write(b); err != nil {
		h.cfg.Logger.Debug("v3http: writing a response failed", "path", r.URL.Path, "err", err)
	}
}
