package rafttest

import (
	"fmt"
	"io"
	"strings"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// evKind says what an event records.
type evKind uint8

const (
	evSend    evKind = iota // a message left its sender (msg)
	evDeliver               // a message was stepped into its recipient (msg)
	evDrop                  // the network lost a message (msg, text = why)
	evDup                   // the network duplicated a message (msg)
	evNote                  // free text (crash, restart, partition, op, state change)
	evStepErr               // Step returned an error (msg, text)
)

// event is one line of the trace. Messages are summarised by value (no
// entry payloads) so that recording costs no allocation.
type event struct {
	step int
	kind evKind
	node raftpb.NodeID
	msg  msgSummary
	text string
}

// msgSummary is the part of a message worth printing.
type msgSummary struct {
	typ           raftpb.MessageType
	from, to      raftpb.NodeID
	term, logTerm raftpb.Term
	index, commit raftpb.Index
	nents         int
	firstEnt      raftpb.Index
	lastEnt       raftpb.Index
	reject        bool
	hint          raftpb.Index
	snapIdx       raftpb.Index
	hasCtx        bool
}

// summarize extracts m's summary. The network also compares summaries to
// check that the codec round trip kept every header field.
func summarize(m *raftpb.Message) msgSummary {
	s := msgSummary{
		typ: m.Type, from: m.From, to: m.To, term: m.Term, logTerm: m.LogTerm,
		index: m.Index, commit: m.Commit, nents: len(m.Entries), reject: m.Reject,
		hint: m.RejectHint, hasCtx: len(m.Context) > 0,
	}
	if len(m.Entries) > 0 {
		s.firstEnt, s.lastEnt = m.Entries[0].Index, m.Entries[len(m.Entries)-1].Index
	}
	if m.Snapshot != nil {
		s.snapIdx = m.Snapshot.Metadata.Index
	}
	return s
}

// String renders the fields that matter for s's type.
func (s msgSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d->%d t=%d", s.typ, s.from, s.to, s.term)
	switch s.typ {
	case raftpb.MsgApp:
		fmt.Fprintf(&b, " prev=%d/%d commit=%d", s.logTerm, s.index, s.commit)
		if s.nents > 0 {
			fmt.Fprintf(&b, " ents=[%d..%d]", s.firstEnt, s.lastEnt)
		}
	case raftpb.MsgAppResp:
		fmt.Fprintf(&b, " index=%d", s.index)
		if s.reject {
			fmt.Fprintf(&b, " REJECT hint=%d/%d", s.logTerm, s.hint)
		}
	case raftpb.MsgVote, raftpb.MsgPreVote:
		fmt.Fprintf(&b, " last=%d/%d", s.logTerm, s.index)
	case raftpb.MsgVoteResp, raftpb.MsgPreVoteResp:
		if s.reject {
			b.WriteString(" REJECT")
		} else {
			b.WriteString(" GRANT")
		}
	case raftpb.MsgHeartbeat:
		fmt.Fprintf(&b, " commit=%d", s.commit)
	case raftpb.MsgSnap:
		fmt.Fprintf(&b, " snap=%d", s.snapIdx)
	case raftpb.MsgProp:
		fmt.Fprintf(&b, " ents=%d", s.nents)
	case raftpb.MsgReadIndex, raftpb.MsgReadIndexResp:
		fmt.Fprintf(&b, " index=%d", s.index)
	}
	return b.String()
}

// tracer keeps the last events in a ring and, in verbose mode, prints every
// event as it happens.
type tracer struct {
	ring []event
	next int
	full bool
	out  io.Writer // nil unless verbose
}

func newTracer(n int, out io.Writer) *tracer {
	if n <= 0 {
		n = 1
	}
	return &tracer{ring: make([]event, n), out: out}
}

func (t *tracer) add(e event) {
	t.ring[t.next] = e
	t.next++
	if t.next == len(t.ring) {
		t.next, t.full = 0, true
	}
	if t.out != nil {
		fmt.Fprintln(t.out, e.String())
	}
}

func (e event) String() string {
	switch e.kind {
	case evSend:
		return fmt.Sprintf("%6d send    %s", e.step, e.msg)
	case evDeliver:
		return fmt.Sprintf("%6d deliver %s", e.step, e.msg)
	case evDrop:
		return fmt.Sprintf("%6d drop    %s (%s)", e.step, e.msg, e.text)
	case evDup:
		return fmt.Sprintf("%6d dup     %s", e.step, e.msg)
	case evStepErr:
		return fmt.Sprintf("%6d steperr %s: %s", e.step, e.msg, e.text)
	}
	return fmt.Sprintf("%6d node %d: %s", e.step, e.node, e.text)
}

// last returns the recorded events, oldest first.
func (t *tracer) last() []string {
	var evs []event
	if t.full {
		evs = append(evs, t.ring[t.next:]...)
	}
	evs = append(evs, t.ring[:t.next]...)
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.String()
	}
	return out
}
