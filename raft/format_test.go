package raft

import (
	"fmt"
	"strings"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Deterministic text forms of raft values for scenario outputs.

func fmtEntry(e raftpb.Entry) string {
	switch e.Type {
	case raftpb.EntryConfChange:
		var cc raftpb.ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			return fmt.Sprintf("%d/%d ConfChange <bad: %v>", e.Term, e.Index, err)
		}
		return fmt.Sprintf("%d/%d ConfChange %s", e.Term, e.Index, fmtCC(cc))
	case raftpb.EntryEmpty:
		return fmt.Sprintf("%d/%d Empty", e.Term, e.Index)
	}
	return fmt.Sprintf("%d/%d %q", e.Term, e.Index, e.Data)
}

func fmtCC(cc raftpb.ConfChange) string {
	switch cc.Type {
	case raftpb.ConfChangeAddNode:
		return fmt.Sprintf("v%d", cc.NodeID)
	case raftpb.ConfChangeAddLearnerNode:
		return fmt.Sprintf("l%d", cc.NodeID)
	case raftpb.ConfChangeRemoveNode:
		return fmt.Sprintf("r%d", cc.NodeID)
	}
	return cc.String()
}

func fmtEntries(ents []raftpb.Entry) string {
	parts := make([]string, len(ents))
	for i, e := range ents {
		parts[i] = fmtEntry(e)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func fmtIDs(ids []raftpb.NodeID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(uint64(id))
	}
	return "(" + strings.Join(parts, " ") + ")"
}

func fmtConfState(cs raftpb.ConfState) string {
	s := "voters=" + fmtIDs(cs.Voters)
	if len(cs.Learners) > 0 {
		s += " learners=" + fmtIDs(cs.Learners)
	}
	return s
}

func fmtSnap(s raftpb.Snapshot) string {
	return fmt.Sprintf("snapshot index=%d term=%d %s data=%q", s.Metadata.Index, s.Metadata.Term,
		fmtConfState(s.Metadata.ConfState), s.Data)
}

func fmtMsg(m raftpb.Message) string {
	s := fmt.Sprintf("%d->%d %s Term:%d", m.From, m.To, m.Type, m.Term)
	switch m.Type {
	case raftpb.MsgApp:
		s += fmt.Sprintf(" Log:%d/%d Commit:%d", m.LogTerm, m.Index, m.Commit)
		if len(m.Entries) > 0 {
			s += " Entries:" + fmtEntries(m.Entries)
		}
	case raftpb.MsgAppResp:
		s += fmt.Sprintf(" Index:%d", m.Index)
		if m.Reject {
			s += fmt.Sprintf(" Rejected (Hint: %d, HintTerm: %d)", m.RejectHint, m.LogTerm)
		}
	case raftpb.MsgVote, raftpb.MsgPreVote:
		s += fmt.Sprintf(" Log:%d/%d", m.LogTerm, m.Index)
	case raftpb.MsgVoteResp, raftpb.MsgPreVoteResp:
		if m.Reject {
			s += " Rejected"
		} else {
			s += " Granted"
		}
	case raftpb.MsgHeartbeat:
		s += fmt.Sprintf(" Commit:%d", m.Commit)
	case raftpb.MsgProp:
		s += " Entries:" + fmtEntries(m.Entries)
	case raftpb.MsgSnap:
		if m.Snapshot != nil {
			s += " " + fmtSnap(*m.Snapshot)
		}
	case raftpb.MsgReadIndexResp:
		s += fmt.Sprintf(" Index:%d", m.Index)
	}
	if len(m.Context) > 0 {
		s += fmt.Sprintf(" Context:%q", m.Context)
	}
	return s
}

func fmtReady(rd Ready) []string {
	var out []string
	if rd.SoftState != nil {
		out = append(out, fmt.Sprintf("Lead:%d State:%s", rd.SoftState.Lead, rd.SoftState.RaftState))
	}
	if !rd.HardState.IsEmpty() {
		out = append(out, fmt.Sprintf("HardState Term:%d Vote:%d Commit:%d",
			rd.HardState.Term, rd.HardState.Vote, rd.HardState.Commit))
	}
	if !rd.Snapshot.IsEmpty() {
		out = append(out, "Snapshot: "+fmtSnap(rd.Snapshot))
	}
	if len(rd.Entries) > 0 {
		out = append(out, "Entries:")
		for _, e := range rd.Entries {
			out = append(out, "  "+fmtEntry(e))
		}
	}
	if len(rd.CommittedEntries) > 0 {
		out = append(out, "CommittedEntries:")
		for _, e := range rd.CommittedEntries {
			out = append(out, "  "+fmtEntry(e))
		}
	}
	if len(rd.ReadStates) > 0 {
		out = append(out, "ReadStates:")
		for _, rs := range rd.ReadStates {
			out = append(out, fmt.Sprintf("  Index:%d Ctx:%q", rs.Index, rs.RequestCtx))
		}
	}
	if len(rd.Messages) > 0 {
		out = append(out, "Messages:")
		for _, m := range rd.Messages {
			out = append(out, "  "+fmtMsg(m))
		}
	}
	if rd.MustSync {
		out = append(out, "MustSync")
	}
	return out
}
