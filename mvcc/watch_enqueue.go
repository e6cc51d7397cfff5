package mvcc

// Enqueue queues r on the stream behind every response already queued for
// it, as a control response: it is never dropped and never overtaken by a
// later event. A server uses it for responses it builds itself that must
// keep their place in the stream, such as etcd's answer to a refused
// create request ({Created, Canceled, WatchID -1, CancelReason}). It
// returns ErrClosed once the stream or the store is closed.
func (ws *WatchStream) Enqueue(r WatchResponse) error {
	var err error
	derr := ws.hub.do(func() {
		st := ws.hub.streams[ws]
		if st == nil {
			err = ErrClosed
			return
		}
		ws.hub.control(st, r)
	})
	if derr != nil {
		return derr
	}
	return err
}
