package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// AlarmType is etcd's AlarmType. Never renumber: the numbers are on the wire.
type AlarmType int32

const (
	AlarmNone    AlarmType = 0
	AlarmNoSpace AlarmType = 1
	AlarmCorrupt AlarmType = 2
)

var alarmNames = [...]string{"NONE", "NOSPACE", "CORRUPT"}

// String is etcd's name of the alarm ("NONE", "NOSPACE", "CORRUPT").
func (a AlarmType) String() string {
	if a >= 0 && int(a) < len(alarmNames) {
		return alarmNames[a]
	}
	return fmt.Sprintf("AlarmType(%d)", int32(a))
}

func (a AlarmType) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON accepts the name or the number, as etcd's gateway does.
func (a *AlarmType) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		for i, n := range alarmNames {
			if n == s {
				*a = AlarmType(i)
				return nil
			}
		}
		return fmt.Errorf("unknown alarm %q", s)
	}
	n, err := strconv.ParseInt(string(b), 10, 32)
	if err != nil {
		return fmt.Errorf("bad alarm %s", b)
	}
	*a = AlarmType(n)
	return nil
}

// AlarmMember is one raised alarm: which member raised it, and what.
type AlarmMember struct {
	MemberID uint64
	Alarm    AlarmType
}

// AlarmResponse lists alarms. etcd sends no header with it, so Header is
// usually zero.
type AlarmResponse struct {
	Header Header
	Alarms []AlarmMember
}

type wireAlarmRequest struct {
	Action   string    `json:"action"`
	MemberID u64       `json:"memberID,omitempty"`
	Alarm    AlarmType `json:"alarm"`
}

type wireAlarmMember struct {
	MemberID u64       `json:"memberID"`
	Alarm    AlarmType `json:"alarm"`
}

type wireAlarmResponse struct {
	Header *wireHeader        `json:"header"`
	Alarms []*wireAlarmMember `json:"alarms"`
}

func (c *Client) alarm(ctx context.Context, kind callKind, in *wireAlarmRequest) (*AlarmResponse, error) {
	var w wireAlarmResponse
	if err := c.call(ctx, "/v3/maintenance/alarm", kind, in, &w); err != nil {
		return nil, err
	}
	out := &AlarmResponse{Header: w.Header.typed()}
	for _, m := range w.Alarms {
		if m != nil {
			out.Alarms = append(out.Alarms, AlarmMember{MemberID: uint64(m.MemberID), Alarm: m.Alarm})
		}
	}
	return out, nil
}

// AlarmList lists every raised alarm (a read).
func (c *Client) AlarmList(ctx context.Context) (*AlarmResponse, error) {
	return c.alarm(ctx, kindRead, &wireAlarmRequest{Action: "GET", Alarm: AlarmNone})
}

// AlarmDisarm clears alarm m (a write). As etcd's client, a zero m (member
// 0, AlarmNone) clears every raised alarm, one by one; the response lists
// those cleared.
func (c *Client) AlarmDisarm(ctx context.Context, m AlarmMember) (*AlarmResponse, error) {
	if m.MemberID != 0 || m.Alarm != AlarmNone {
		return c.alarm(ctx, kindWrite, &wireAlarmRequest{Action: "DEACTIVATE", MemberID: u64(m.MemberID), Alarm: m.Alarm})
	}
	list, err := c.AlarmList(ctx)
	if err != nil {
		return nil, err
	}
	out := &AlarmResponse{Header: list.Header}
	for _, a := range list.Alarms {
		r, err := c.AlarmDisarm(ctx, a)
		if err != nil {
			return out, err
		}
		out.Alarms = append(out.Alarms, r.Alarms...)
	}
	return out, nil
}

// DefragmentResponse answers Defragment (etcd sends it without a header).
type DefragmentResponse struct{ Header Header }

// Defragment asks exactly endpoint to defragment: on shelf, to write a
// fresh snapshot and cut its WAL before it. No failover: it is about that
// member.
func (c *Client) Defragment(ctx context.Context, endpoint string) (*DefragmentResponse, error) {
	var w struct {
		Header *wireHeader `json:"header"`
	}
	if err := c.one(ctx, endpoint, "/v3/maintenance/defragment", struct{}{}, &w); err != nil {
		return nil, err
	}
	return &DefragmentResponse{Header: w.Header.typed()}, nil
}

// HashResponse is the hash of one member's whole keyspace.
type HashResponse struct {
	Header Header
	Hash   uint32
}

// Hash asks exactly endpoint for the hash of its keyspace (history
// included).
func (c *Client) Hash(ctx context.Context, endpoint string) (*HashResponse, error) {
	var w struct {
		Header *wireHeader `json:"header"`
		Hash   uint32      `json:"hash"`
	}
	if err := c.one(ctx, endpoint, "/v3/maintenance/hash", struct{}{}, &w); err != nil {
		return nil, err
	}
	return &HashResponse{Header: w.Header.typed(), Hash: w.Hash}, nil
}

// HashKVResponse is one member's hash of the keyspace at a revision: equal
// on members that applied the same writes and have the same compact
// revision.
type HashKVResponse struct {
	Header          Header
	Hash            uint32
	CompactRevision int64
}

// HashKV asks exactly endpoint for its hash at rev (0: its current
// revision). shelf serves it at /v3/maintenance/hashkv; etcd 3.4's gateway
// has no JSON route to HashKV.
func (c *Client) HashKV(ctx context.Context, endpoint string, rev int64) (*HashKVResponse, error) {
	if rev < 0 {
		return nil, fmt.Errorf("%w: negative revision %d", ErrInvalidOp, rev)
	}
	var w struct {
		Header          *wireHeader `json:"header"`
		Hash            uint32      `json:"hash"`
		CompactRevision i64         `json:"compact_revision"`
	}
	if err := c.one(ctx, endpoint, "/v3/maintenance/hashkv", struct {
		Revision i64 `json:"revision"`
	}{i64(rev)}, &w); err != nil {
		return nil, err
	}
	return &HashKVResponse{Header: w.Header.typed(), Hash: w.Hash, CompactRevision: int64(w.CompactRevision)}, nil
}

// one is callOne on a validated endpoint.
func (c *Client) one(ctx context.Context, endpoint, path string, in, out any) error {
	ep, err := validateEndpoint(endpoint)
	if err != nil {
		return err
	}
	return c.callOne(ctx, ep, path, in, out)
}

// MoveLeaderResponse answers MoveLeader (etcd sends it without a header).
type MoveLeaderResponse struct{ Header Header }

// MoveLeader asks the current leader (found via Status of the endpoints,
// then the member list for its client URL) to hand leadership to
// transferee, and returns once transferee leads. It is not retried on
// another member: only the leader can transfer.
func (c *Client) MoveLeader(ctx context.Context, transferee uint64) (*MoveLeaderResponse, error) {
	if transferee == 0 {
		return nil, fmt.Errorf("%w: member ID 0", ErrInvalidOp)
	}
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	leaderEP, err := c.leaderEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	var w struct {
		Header *wireHeader `json:"header"`
	}
	if err := c.callOne(ctx, leaderEP, "/v3/maintenance/transfer-leadership", struct {
		TargetID u64 `json:"targetID"`
	}{u64(transferee)}, &w); err != nil {
		return nil, err
	}
	return &MoveLeaderResponse{Header: w.Header.typed()}, nil
}

// leaderEndpoint finds a client URL of the leader.
func (c *Client) leaderEndpoint(ctx context.Context) (string, error) {
	var leader uint64
	var last error
	for _, ep := range c.endpoints {
		st, err := c.Status(ctx, ep)
		if err != nil {
			last = err
			continue
		}
		if st.Leader != 0 && st.Leader == st.Header.MemberID {
			return ep, nil
		}
		if st.Leader != 0 {
			leader = st.Leader
		}
	}
	if leader == 0 {
		if last == nil {
			last = ErrNoLeader
		}
		return "", fmt.Errorf("client: no endpoint knows a leader: %w", last)
	}
	ms, err := c.MemberList(ctx)
	if err != nil {
		return "", err
	}
	for _, m := range ms.Members {
		if m.ID == leader && len(m.ClientURLs) > 0 {
			return validateEndpoint(m.ClientURLs[0])
		}
	}
	return "", fmt.Errorf("client: leader %x has published no client URL: %w", leader, ErrNoLeader)
}

// MemberUpdate replaces member id's peer URLs (a write).
func (c *Client) MemberUpdate(ctx context.Context, id uint64, peerURLs []string) (*MemberResponse, error) {
	if id == 0 {
		return nil, fmt.Errorf("%w: member ID 0", ErrInvalidOp)
	}
	if err := checkPeerURLs(peerURLs); err != nil {
		return nil, err
	}
	return c.memberCall(ctx, "update", kindWrite, &wireMemberRequest{ID: u64(id), PeerURLs: peerURLs})
}

// Snapshot streams a consistent snapshot of one member: the first endpoint
// (from the pinned one) that starts streaming. The reader yields the
// decoded bytes of the member's snapshot file (shelf's snapshot format;
// etcd sends its bolt database followed by a sha256). The caller closes
// it; a stream cut short is io.ErrUnexpectedEOF, an error sent in the
// stream is an *Error. Only ctx bounds the stream (not RequestTimeout).
func (c *Client) Snapshot(ctx context.Context) (io.ReadCloser, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	var last error
	start := c.pinned()
	for i := range c.endpoints {
		idx := (start + i) % len(c.endpoints)
		ep := c.endpoints[idx]
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep+"/v3/maintenance/snapshot", bytes.NewReader([]byte("{}")))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidOp, err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			last = &transportError{endpoint: ep, err: err}
			c.skip(idx)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			last = decodeError(ep, resp.StatusCode, data)
			if !retriable(last, kindRead) {
				return nil, last
			}
			continue
		}
		c.pin(idx)
		return &snapshotReader{ep: ep, body: resp.Body, r: bufio.NewReaderSize(resp.Body, 64<<10)}, nil
	}
	if last == nil {
		last = ctx.Err()
	}
	return nil, fmt.Errorf("client: snapshot: no endpoint could stream one: %w", last)
}

// snapshotReader decodes a snapshot stream: one JSON message per line,
// {"result":{"remaining_bytes":"N","blob":"base64"}} or {"error":{...}}.
type snapshotReader struct {
	ep        string
	body      io.Closer
	r         *bufio.Reader
	buf       []byte // decoded bytes not yet read
	messages  int
	remaining uint64 // remaining_bytes of the last message
	err       error  // sticky
}

func (s *snapshotReader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		s.err = s.next()
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// next reads one message into buf, or returns why the stream ended.
func (s *snapshotReader) next() error {
	line, err := s.r.ReadBytes('\n')
	if len(bytes.TrimSpace(line)) == 0 {
		if errors.Is(err, io.EOF) {
			if s.messages == 0 || s.remaining != 0 {
				return fmt.Errorf("client: snapshot from %s cut short (%d bytes announced but not sent): %w", s.ep, s.remaining, io.ErrUnexpectedEOF)
			}
			return io.EOF
		}
		if err != nil {
			return &transportError{endpoint: s.ep, err: err}
		}
		return nil
	}
	var msg struct {
		Result *struct {
			RemainingBytes u64    `json:"remaining_bytes"`
			Blob           []byte `json:"blob"`
		} `json:"result"`
		Error *struct {
			Code    Code   `json:"grpc_code"`
			Message string `json:"message"`
			HTTP    int    `json:"http_code"`
		} `json:"error"`
	}
	if jerr := json.Unmarshal(line, &msg); jerr != nil {
		return fmt.Errorf("%w: snapshot stream from %s: %v", ErrBadResponse, s.ep, jerr)
	}
	switch {
	case msg.Error != nil:
		return &Error{Code: msg.Error.Code, Message: msg.Error.Message, HTTPStatus: msg.Error.HTTP, Endpoint: s.ep}
	case msg.Result == nil:
		return fmt.Errorf("%w: snapshot stream from %s: message without result: %.100s", ErrBadResponse, s.ep, line)
	}
	s.messages++
	s.remaining = uint64(msg.Result.RemainingBytes)
	s.buf = msg.Result.Blob
	return nil
}

func (s *snapshotReader) Close() error { return s.body.Close() }
