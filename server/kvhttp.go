package server

import (
	"context"
	"net/http"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/server/v3http"
)

// Version is the server version reported by /v3/maintenance/status.
const Version = "3.4.0-shelf.0.1.0"

// ClusterVersion is the etcd cluster version shelf speaks (the API level
// etcd clients check), reported by /version.
const ClusterVersion = "3.4.0"

// kvBackend adapts a Server to the HTTP layer's Backend.
type kvBackend struct{ s *Server }

var _ v3http.Backend = kvBackend{}

func (b kvBackend) Range(ctx context.Context, r *mvcc.RangeRequest) (*mvcc.RangeResponse, error) {
	return b.s.Range(ctx, r, r.Serializable)
}

func (b kvBackend) Put(ctx context.Context, r *mvcc.PutRequest) (*mvcc.PutResponse, error) {
	return b.s.Put(ctx, r)
}

func (b kvBackend) DeleteRange(ctx context.Context, r *mvcc.DeleteRangeRequest) (*mvcc.DeleteRangeResponse, error) {
	return b.s.DeleteRange(ctx, r)
}

func (b kvBackend) Txn(ctx context.Context, r *mvcc.TxnRequest) (*mvcc.TxnResponse, error) {
	return b.s.Txn(ctx, r)
}

func (b kvBackend) Compact(ctx context.Context, rev int64, physical bool) (*mvcc.CompactResponse, error) {
	resp, err := b.s.Compact(ctx, rev)
	if err == nil && physical {
		if err := b.s.Store().WaitCompaction(ctx, rev); err != nil {
			return nil, err
		}
	}
	return resp, err
}

func (b kvBackend) Status(ctx context.Context) (v3http.StatusInfo, error) {
	s := b.s
	st := s.Store().Status() // revision and sizes from one consistent read
	last, _ := s.w.LastIndex()
	info := v3http.StatusInfo{
		Revision:         int64(st.Revision),
		Version:          Version,
		DBSize:           st.SizeTotal,
		DBSizeInUse:      st.SizeInUse,
		Leader:           uint64(s.Leader()),
		RaftIndex:        uint64(last),
		RaftTerm:         s.Term(),
		RaftAppliedIndex: uint64(s.applied.get()),
	}
	if m, ok := s.members.get(s.id); ok {
		info.IsLearner = m.IsLearner
	}
	if err := s.Err(); err != nil {
		info.Errors = append(info.Errors, err.Error())
	}
	for _, a := range s.alarms.list(alarmNone) {
		info.Errors = append(info.Errors, a.statusString()) // as etcd: "memberID:X alarm:NOSPACE "
	}
	return info, nil
}

func (b kvBackend) Header() v3http.HeaderInfo {
	return v3http.HeaderInfo{ClusterID: b.s.clusterID, MemberID: uint64(b.s.id), RaftTerm: b.s.Term()}
}

// mountKV mounts the etcd v3 JSON API on mux.
func (s *Server) mountKV(mux *http.ServeMux) {
	h, err := v3http.New(v3http.Config{Backend: kvBackend{s}, Logger: s.log, MaxRequestBytes: s.cfg.MaxRequestBytes, WatchBufferBytes: s.cfg.WatchBufferBytes})
	if err != nil {
		panic(err) // the config is built here and always valid
	}
	mux.Handle("/v3/", h)
}
