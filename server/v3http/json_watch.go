package v3http

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shelf-kv/shelf/mvcc"
)

// The JSON of POST /v3/watch: etcd's WatchRequest messages in the request
// body, WatchResponse messages (each wrapped as {"result": ...}, one per
// line) in the response body.

// filterTypeEnum is etcd's WatchCreateRequest.FilterType.
var filterTypeEnum = enumType{"etcdserverpb.WatchCreateRequest_FilterType", []string{"NOPUT", "NODELETE"}}

// watchMsg is one decoded WatchRequest: at most one of its parts is set
// (etcd's request_union); none set is a message etcd ignores.
type watchMsg struct {
	create   *mvcc.WatchRequest
	cancel   *int64
	progress bool
}

// decodeWatchMsg decodes etcd's WatchRequest in protobuf field order. When
// several union members are present the first in field order is used.
func decodeWatchMsg(raw json.RawMessage) (watchMsg, error) {
	var m watchMsg
	f := newFields(raw)
	f.message("create_request", "createRequest", func(raw json.RawMessage) (err error) {
		m.create, err = decodeWatchCreate(raw)
		return err
	})
	f.message("cancel_request", "cancelRequest", func(raw json.RawMessage) error {
		var id int64
		cf := newFields(raw)
		cf.int64("watch_id", "watchId", &id)
		if cf.err == nil && m.create == nil {
			m.cancel = &id
		}
		return cf.err
	})
	f.message("progress_request", "progressRequest", func(raw json.RawMessage) error {
		err := newFields(raw).err
		if err == nil && m.create == nil && m.cancel == nil {
			m.progress = true
		}
		return err
	})
	return m, f.err
}

// decodeWatchCreate decodes etcd's WatchCreateRequest. Filters etcd does
// not know (numbers other than 0 and 1) are dropped, as etcd ignores them;
// fragment is accepted and ignored (responses are never fragmented).
func decodeWatchCreate(raw json.RawMessage) (*mvcc.WatchRequest, error) {
	r := &mvcc.WatchRequest{}
	f := newFields(raw)
	f.bytes("key", "key", &r.Key)
	f.bytes("range_end", "rangeEnd", &r.RangeEnd)
	f.int64("start_revision", "startRevision", &r.StartRevision)
	f.bool("progress_notify", "progressNotify", &r.ProgressNotify)
	f.repeated("filters", "filters", func(el json.RawMessage) error {
		v, set, err := decodeEnum(el, filterTypeEnum)
		if err == nil && set && (v == int32(mvcc.FilterNoPut) || v == int32(mvcc.FilterNoDelete)) {
			r.Filters = append(r.Filters, mvcc.WatchFilter(v))
		}
		return err
	})
	f.bool("prev_kv", "prevKv", &r.PrevKv)
	f.int64("watch_id", "watchId", &r.WatchID)
	var fragment bool
	f.bool("fragment", "fragment", &fragment)
	return r, f.err
}

// decodeEnum decodes one enum value (a name or a number) the way
// enumField does; set is false for null.
func decodeEnum(raw json.RawMessage, et enumType) (v int32, set bool, err error) {
	f := &fields{m: map[string]json.RawMessage{"v": raw}}
	v = -1 << 31
	enumField(f, "v", "v", &v, et)
	if f.err != nil {
		return 0, false, f.err
	}
	return v, v != -1<<31, nil
}

// lenientWatchRange applies etcd's watch server rules to a create request
// before it reaches mvcc: an empty key is "\x00" (the smallest key), and a
// range_end at or before the key (other than "\x00", "to the end") is
// refused with etcd's text.
func lenientWatchRange(r *mvcc.WatchRequest) error {
	if len(r.Key) == 0 {
		r.Key = []byte{0}
	}
	if len(r.RangeEnd) == 0 || len(r.RangeEnd) == 1 && r.RangeEnd[0] == 0 {
		return nil
	}
	if string(r.Key) >= string(r.RangeEnd) {
		return errWatcherRangeEmpty
	}
	return nil
}

// errWatcherRangeEmpty is etcd's mvcc.ErrEmptyWatcherRange text.
var errWatcherRangeEmpty = errors.New("mvcc: watcher range is empty")

// rejectReason is the cancel_reason etcd sends for a refused create.
func rejectReason(err error) string {
	switch {
	case errors.Is(err, mvcc.ErrDuplicateWatchID):
		return mvcc.ErrDuplicateWatchID.Error()
	case errors.Is(err, errWatcherRangeEmpty), errors.Is(err, mvcc.ErrInvalidRangeEnd):
		return errWatcherRangeEmpty.Error()
	}
	return err.Error()
}

// jsonWatchChunk is one line of the response body.
type jsonWatchChunk struct {
	Result *jsonWatchResponse `json:"result"`
}

// jsonWatchResponse is etcd's WatchResponse, fields in protobuf order.
type jsonWatchResponse struct {
	Header          *jsonHeader  `json:"header,omitempty"`
	WatchID         i64          `json:"watch_id,omitempty"`
	Created         bool         `json:"created,omitempty"`
	Canceled        bool         `json:"canceled,omitempty"`
	CompactRevision i64          `json:"compact_revision,omitempty"`
	CancelReason    string       `json:"cancel_reason,omitempty"`
	Events          []*jsonEvent `json:"events,omitempty"`
}

// jsonEvent is etcd's mvccpb.Event; type PUT (0) is omitted.
type jsonEvent struct {
	Type   string  `json:"type,omitempty"`
	Kv     *jsonKV `json:"kv,omitempty"`
	PrevKv *jsonKV `json:"prev_kv,omitempty"`
}

// toWatch converts a response as etcd 3.4 writes it: a compacted cancel
// carries no header revision and no cancel reason (etcd builds it from a
// response whose revision is 0).
func toWatch(r *mvcc.WatchResponse, h HeaderInfo) *jsonWatchChunk {
	rev := r.Header.Revision
	reason := r.CancelReason
	if r.CompactRevision != 0 {
		rev, reason = 0, ""
	}
	out := &jsonWatchResponse{Header: topHeader(rev, h), WatchID: i64(r.WatchID), Created: r.Created,
		Canceled: r.Canceled, CompactRevision: i64(r.CompactRevision), CancelReason: reason}
	if len(r.Events) > 0 {
		out.Events = make([]*jsonEvent, len(r.Events))
	}
	for i := range r.Events {
		ev := &r.Events[i]
		je := &jsonEvent{Kv: toKV(ev.Kv), PrevKv: toKV(ev.PrevKv)}
		if ev.Type == mvcc.EventDelete {
			je.Type = "DELETE"
		}
		out.Events[i] = je
	}
	return &jsonWatchChunk{Result: out}
}

// encodeWatch renders r as one line of the response body.
func encodeWatch(r *mvcc.WatchResponse, h HeaderInfo) ([]byte, error) {
	b, err := json.Marshal(toWatch(r, h))
	if err != nil {
		return nil, fmt.Errorf("v3http: encoding a watch response: %w", err)
	}
	return append(b, '\n'), nil
}
