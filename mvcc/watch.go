package mvcc

import (
	"context"
	"fmt"
)

// WatchFilter is etcd's WatchCreateRequest.FilterType.
type WatchFilter int32

// Filters, numbered as in etcd.
const (
	FilterNoPut    WatchFilter = 0
	FilterNoDelete WatchFilter = 1
)

// ProgressWatchID is the watch ID of a stream-wide progress response
// (etcd's InvalidWatchID).
const ProgressWatchID = -1

// WatchRequest is etcd's WatchCreateRequest.
type WatchRequest struct {
	// Key and RangeEnd select keys as in RangeRequest.
	Key, RangeEnd []byte
	// StartRevision is the first revision to deliver; 0 = the next one.
	// A revision below the compact revision cancels the watcher at once
	// with CompactRevision set.
	StartRevision int64
	// ProgressNotify opts in to the periodic progress responses sent by
	// Store.ProgressNotify.
	ProgressNotify bool
	Filters        []WatchFilter
	PrevKv         bool
	// WatchID 0 lets the stream pick the lowest free ID starting at 0 (as
	// etcd does); any other value is used as given.
	WatchID int64
}

// WatchResponse is etcd's WatchResponse. Every revision's events arrive in
// one response; responses of one watcher come in revision order, without
// gaps or duplicates. A response with no events and no flags is a progress
// notification: every event up to Header.Revision has been delivered.
type WatchResponse struct {
	Header  ResponseHeader
	WatchID int64
	Created bool
	// Canceled ends the watcher: on Cancel, or on compaction with
	// CompactRevision set to the compact revision.
	Canceled        bool
	CompactRevision int64
	CancelReason    string
	// Events share KeyValues with other watchers: do not modify them.
	Events []Event
}

// WatchStream is one client's watch connection: any number of watchers
// whose responses arrive, in order per watcher, through Recv. The hub
// goroutine is the only sender; a stream whose consumer is slow never
// slows writers or other streams (its watchers fall back to catching up
// from history). Methods are safe for concurrent use.
type WatchStream struct {
	hub *hub
	ch  chan WatchResponse // closed by the hub when the stream closes
}

// NewWatchStream opens a stream. It returns ErrClosed after Close.
func (s *Store) NewWatchStream() (*WatchStream, error) {
	ws := &WatchStream{hub: s.hub, ch: make(chan WatchResponse, s.cfg.WatchChanSize)}
	err := s.hub.do(func() { s.hub.addStream(ws) })
	if err != nil {
		return nil, err
	}
	return ws, nil
}

// Watch creates a watcher and returns its ID. The first response for it
// is {Created: true}. Bad input is an error and creates nothing.
func (ws *WatchStream) Watch(req WatchRequest) (int64, error) {
	kr, err := parseRange("watch", req.Key, req.RangeEnd)
	if err != nil {
		return 0, err
	}
	if req.StartRevision < 0 {
		return 0, fmt.Errorf("%w: watch start revision %d", ErrNegativeRevision, req.StartRevision)
	}
	w := &watcher{kr: kr, prevKV: req.PrevKv, progressNotify: req.ProgressNotify}
	for _, f := range req.Filters {
		switch f {
		case FilterNoPut:
			w.noPut = true
		case FilterNoDelete:
			w.noDelete = true
		default:
			return 0, fmt.Errorf("%w: filter %d", ErrInvalidWatch, f)
		}
	}
	var id int64
	derr := ws.hub.do(func() { id, err = ws.hub.addWatcher(ws, w, req.WatchID, req.StartRevision) })
	if derr != nil {
		return 0, derr
	}
	return id, err
}

// Cancel removes a watcher; its last response is {Canceled: true}.
func (ws *WatchStream) Cancel(id int64) error {
	var err error
	if derr := ws.hub.do(func() { err = ws.hub.cancel(ws, id) }); derr != nil {
		return derr
	}
	return err
}

// RequestProgress asks for a stream-wide progress response (WatchID
// ProgressWatchID). It is sent once every watcher of the stream has caught
// up, carrying the revision up to which all events have been delivered.
func (ws *WatchStream) RequestProgress() error {
	return ws.hub.do(func() { ws.hub.requestProgress(ws) })
}

// Recv returns the next response. It returns ErrClosed once the stream or
// the store is closed, or ctx's error.
func (ws *WatchStream) Recv(ctx context.Context) (WatchResponse, error) {
	select {
	case r, ok := <-ws.ch:
		if !ok {
			return WatchResponse{}, ErrClosed
		}
		ws.hub.wake()
		return r, nil
	case <-ctx.Done():
		return WatchResponse{}, ctx.Err()
	}
}

// TryRecv returns the next response if one is ready, without waiting.
func (ws *WatchStream) TryRecv() (WatchResponse, bool, error) {
	select {
	case r, ok := <-ws.ch:
		if !ok {
			return WatchResponse{}, false, ErrClosed
		}
		ws.hub.wake()
		return r, true, nil
	default:
		return WatchResponse{}, false, nil
	}
}

// Close cancels every watcher of the stream and closes it.
func (ws *WatchStream) Close() {
	_ = ws.hub.do(func() { ws.hub.removeStream(ws) })
}

// ProgressNotify sends a progress response to every synced watcher that
// asked for ProgressNotify and received nothing since the previous call;
// the server calls it periodically (etcd's progress notify interval).
func (s *Store) ProgressNotify() {
	_ = s.hub.do(s.hub.progressNotify)
}
