package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/server/v3http"
)

// Alarms, as etcd's: a replicated set of (member, alarm type) pairs. While
// NOSPACE is active, writes that grow the keyspace (put, a txn with a
// top-level put, lease grant) are refused with "etcdserver: mvcc: database
// space exceeded"; reads, deletes and compaction go on. While CORRUPT is
// active every write (put, delete, write txn, compaction, lease grant and
// revoke) is refused with "etcdserver: corrupt cluster"; reads still work,
// as in etcd 3.4, whose reads bypass its corrupt applier. The refusal is
// decided when an entry is applied, from the replicated set, so every
// member refuses the same entries.
//
// Alarms are persisted like every replicated state: in the WAL (their
// entries) and in snapshots (next to the member list, in the opaque
// Members blob of the snapshot header; see encodeSnapBlob).

// alarmType is etcd's AlarmType. Never renumber: the numbers are in the WAL,
// in snapshots and on the wire.
type alarmType int32

const (
	alarmNone    alarmType = 0
	alarmNoSpace alarmType = 1
	alarmCorrupt alarmType = 2
)

var alarmNames = [...]string{"NONE", "NOSPACE", "CORRUPT"}

func (t alarmType) String() string {
	if t >= 0 && int(t) < len(alarmNames) {
		return alarmNames[t]
	}
	return fmt.Sprintf("AlarmType(%d)", int32(t))
}

func (t alarmType) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// UnmarshalJSON accepts the name or the number, like etcd's gateway.
func (t *alarmType) UnmarshalJSON(b []byte) error {
	n, err := enumFromJSON(b, alarmNames[:], "alarm")
	*t = alarmType(n)
	return err
}

// alarmAction is etcd's AlarmRequest.AlarmAction. Never renumber.
type alarmAction int32

const (
	alarmGet        alarmAction = 0
	alarmActivate   alarmAction = 1
	alarmDeactivate alarmAction = 2
)

var alarmActionNames = [...]string{"GET", "ACTIVATE", "DEACTIVATE"}

func (a *alarmAction) UnmarshalJSON(b []byte) error {
	n, err := enumFromJSON(b, alarmActionNames[:], "action")
	*a = alarmAction(n)
	return err
}

// enumFromJSON decodes a protobuf enum as etcd's gateway does: a JSON
// string naming a value, or a number. Unknown values are an error naming
// the field (etcd 3.4 crashes on an unknown action number; we refuse it).
func enumFromJSON(b []byte, names []string, field string) (int32, error) {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		for i, n := range names {
			if n == s {
				return int32(i), nil
			}
		}
		return 0, fmt.Errorf("unknown value %q for %s (want one of %v)", s, field, names)
	}
	if string(b) == "null" {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(b), 10, 32)
	if err != nil || n < 0 || int(n) >= len(names) {
		return 0, fmt.Errorf("unknown value %s for %s (want one of %v)", b, field, names)
	}
	return int32(n), nil
}

// alarmMember is one raised alarm. In JSON it has etcd's shape
// ({"memberID":"123","alarm":"NOSPACE"}).
type alarmMember struct {
	MemberID raftpb.NodeID
	Alarm    alarmType
}

type jsonAlarmMember struct {
	MemberID jsonUint64 `json:"memberID"`
	Alarm    alarmType  `json:"alarm"`
}

func (m alarmMember) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		MemberID string    `json:"memberID"`
		Alarm    alarmType `json:"alarm"`
	}{strconv.FormatUint(uint64(m.MemberID), 10), m.Alarm})
}

func (m *alarmMember) UnmarshalJSON(b []byte) error {
	var j jsonAlarmMember
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	m.MemberID, m.Alarm = raftpb.NodeID(j.MemberID), j.Alarm
	return nil
}

// statusString is how etcd's /v3/maintenance/status lists an alarm in
// "errors" (the protobuf text form, trailing space included).
func (m alarmMember) statusString() string {
	return fmt.Sprintf("memberID:%d alarm:%s ", uint64(m.MemberID), m.Alarm)
}

// alarmRequest is etcd's AlarmRequest; it is also the raft request kind.
type alarmRequest struct {
	Action   alarmAction `json:"action"`
	MemberID jsonUint64  `json:"memberID"`
	Alarm    alarmType   `json:"alarm"`
}

// alarmResponse is etcd's AlarmResponse (etcd 3.4 sends no header in it).
type alarmResponse struct {
	Alarms []alarmMember `json:"alarms,omitempty"`
}

// alarmSet is the replicated alarm set. The raft loop changes it as it
// applies entries; readers are HTTP handlers and the raft loop itself.
type alarmSet struct {
	mu struct {
		sync.RWMutex
		set map[alarmMember]struct{}
	}
}

func newAlarmSet() *alarmSet {
	a := &alarmSet{}
	a.mu.set = make(map[alarmMember]struct{})
	return a
}

// list returns the alarms of type t (every alarm for alarmNone), ordered
// by type, then member.
func (a *alarmSet) list(t alarmType) []alarmMember {
	a.mu.RLock()
	out := make([]alarmMember, 0, len(a.mu.set))
	for m := range a.mu.set {
		if t == alarmNone || m.Alarm == t {
			out = append(out, m)
		}
	}
	a.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Alarm != out[j].Alarm {
			return out[i].Alarm < out[j].Alarm
		}
		return out[i].MemberID < out[j].MemberID
	})
	return out
}

// active reports whether any member has raised an alarm of type t.
func (a *alarmSet) active(t alarmType) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for m := range a.mu.set {
		if m.Alarm == t {
			return true
		}
	}
	return false
}

func (a *alarmSet) has(m alarmMember) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	_, ok := a.mu.set[m]
	return ok
}

// set adds (on true) or removes m; it reports whether the set changed.
func (a *alarmSet) set(m alarmMember, on bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, had := a.mu.set[m]
	if on {
		a.mu.set[m] = struct{}{}
	} else {
		delete(a.mu.set, m)
	}
	return had != on
}

func (a *alarmSet) replace(ms []alarmMember) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mu.set = make(map[alarmMember]struct{}, len(ms))
	for _, m := range ms {
		a.mu.set[m] = struct{}{}
	}
}

// refuse returns the error an active alarm gives req, or nil. It is
// called for every entry as it is applied.
func (a *alarmSet) refuse(req *request) error {
	a.mu.RLock()
	n := len(a.mu.set)
	a.mu.RUnlock()
	if n == 0 {
		return nil
	}
	switch {
	case a.active(alarmCorrupt) && (req.Put != nil || req.DeleteRange != nil || req.Txn != nil ||
		req.Compact != nil || req.LeaseGrant != nil || req.LeaseRevoke != nil):
		return v3http.ErrCorrupt
	case a.active(alarmNoSpace) && (req.Put != nil || req.LeaseGrant != nil || (req.Txn != nil && txnPuts(req.Txn))):
		return ErrNoSpace
	}
	return nil
}

// txnPuts reports whether a branch of r puts at the top level: etcd's
// quota cost of a txn, which does not look into nested txns.
func txnPuts(r *mvcc.TxnRequest) bool {
	for _, ops := range [][]*mvcc.RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			if op != nil && op.RequestPut != nil {
				return true
			}
		}
	}
	return false
}

// applyAlarm applies a committed alarm request (on the raft loop).
func (s *Server) applyAlarm(r alarmRequest) (*alarmResponse, error) {
	m := alarmMember{MemberID: raftpb.NodeID(r.MemberID), Alarm: r.Alarm}
	resp := &alarmResponse{}
	switch r.Action {
	case alarmGet:
		resp.Alarms = s.alarms.list(r.Alarm)
	case alarmActivate:
		if s.alarms.set(m, true) {
			s.log.Warn("alarm raised", "alarm", m.Alarm.String(), "from", m.MemberID.String())
		}
		resp.Alarms = []alarmMember{m}
	case alarmDeactivate:
		if s.alarms.set(m, false) {
			s.log.Warn("alarm disarmed", "alarm", m.Alarm.String(), "from", m.MemberID.String())
			resp.Alarms = []alarmMember{m}
		}
	default:
		return nil, fmt.Errorf("%w: alarm action %d", errBadRequest, r.Action)
	}
	return resp, nil
}

// Alarm lists, raises or clears alarms through raft, as etcd does (so a
// GET is linearizable and needs a leader).
func (s *Server) Alarm(ctx context.Context, r alarmRequest) (*alarmResponse, error) {
	if r.Action == alarmActivate && (r.Alarm == alarmNone || r.MemberID == 0) {
		return nil, statusErr(v3http.CodeInvalidArgument, "etcdserver: an alarm to activate needs a memberID and an alarm other than NONE")
	}
	return proposeAs[*alarmResponse](ctx, s, &request{Alarm: &r})
}

// raiseNoSpace raises this member's NOSPACE alarm in the background (once:
// a raise in flight or an active alarm makes it a no-op). It is called when
// a write is refused for the quota.
func (s *Server) raiseNoSpace() {
	if s.alarms.has(alarmMember{MemberID: s.id, Alarm: alarmNoSpace}) {
		return
	}
	m := &s.maint
	m.raiseMu.Lock()
	defer m.raiseMu.Unlock()
	if m.raised != nil {
		return // one raise at a time
	}
	done := make(chan struct{})
	m.raised = done
	go func() {
		defer func() {
			m.raiseMu.Lock()
			m.raised = nil
			m.raiseMu.Unlock()
			close(done)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), s.requestTimeout())
		defer cancel()
		if _, err := s.Alarm(ctx, alarmRequest{Action: alarmActivate, MemberID: jsonUint64(s.id), Alarm: alarmNoSpace}); err != nil {
			s.log.Warn("could not raise the NOSPACE alarm", "err", err)
		}
	}()
}

// clearNoSpace clears every NOSPACE alarm (through raft) when the keyspace
// is back under the quota: shelf's NOSPACE clears itself (DESIGN.md
// decision 6), where etcd needs an operator's disarm. Callers have checked
// the size.
func (s *Server) clearNoSpace(ctx context.Context) error {
	// A raise still in flight would land after this write's check and
	// refuse it at apply although space is back: wait for it first.
	s.maint.raiseMu.Lock()
	raised := s.maint.raised
	s.maint.raiseMu.Unlock()
	if raised != nil {
		select {
		case <-raised:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !s.alarms.active(alarmNoSpace) {
		return nil // the common case, on every growth write
	}
	for _, m := range s.alarms.list(alarmNoSpace) {
		if _, err := s.Alarm(ctx, alarmRequest{Action: alarmDeactivate, MemberID: jsonUint64(m.MemberID), Alarm: alarmNoSpace}); err != nil {
			return err
		}
		s.log.Info("NOSPACE alarm cleared: the keyspace is back under the quota", "member", m.MemberID.String())
	}
	return nil
}

// snapBlob is what the server stores in a snapshot's opaque Members field:
// the member list and the alarms. Snapshots written before alarms existed
// hold the bare member list (a JSON array); both are read.
type snapBlob struct {
	Members json.RawMessage `json:"members"`
	Alarms  []alarmMember   `json:"alarms,omitempty"`
}

// encodeSnapBlob runs on the raft loop, so members and alarms are those of
// the applied index the snapshot is taken at.
func (s *Server) encodeSnapBlob() []byte {
	b, _ := json.Marshal(snapBlob{Members: s.members.encode(), Alarms: s.alarms.list(alarmNone)})
	return b
}

// restoreSnapBlob loads members and alarms from a snapshot's blob.
func (s *Server) restoreSnapBlob(b []byte) error {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' {
		s.alarms.replace(nil)
		return s.members.replace(b)
	}
	var sb snapBlob
	if err := json.Unmarshal(t, &sb); err != nil {
		return fmt.Errorf("server: members and alarms in snapshot: %w", err)
	}
	s.alarms.replace(sb.Alarms)
	return s.members.replace(sb.Members)
}
