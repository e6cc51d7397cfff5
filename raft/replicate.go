package raft

import (
	"errors"
	"fmt"

	"github.com/shelf-kv/shelf/raft/confchange"
	"github.com/shelf-kv/shelf/raft/raftpb"
	"github.com/shelf-kv/shelf/raft/tracker"
)

// sendAppend sends a MsgApp to `to`, even an empty one (to carry the commit
// index), unless its progress is paused.
func (r *raft) sendAppend(to raftpb.NodeID) { r.maybeSendAppend(to, true) }

// maybeSendAppend sends one MsgApp (at most maxMsgSize bytes of entries) to
// `to`, or a MsgSnap if the entries it needs are compacted. With sendIfEmpty
// false it sends nothing when there are no new entries. It reports whether
// a message was sent.
func (r *raft) maybeSendAppend(to raftpb.NodeID, sendIfEmpty bool) bool {
	pr := r.trk.Progress[to]
	if pr == nil || to == r.id || pr.IsPaused() {
		return false
	}
	prevIndex := pr.Next - 1
	prevTerm, errt := r.raftLog.term(prevIndex)
	var ents []raftpb.Entry
	var erre error
	// With a full window (in StateReplicate) send no entries, only an empty
	// MsgApp: if the in-flight messages were all lost, its answer (ack or
	// reject) frees the window; otherwise replication would stall forever.
	if errt == nil && (pr.State != tracker.StateReplicate || !pr.Inflights.Full()) {
		ents, erre = r.raftLog.entries(pr.Next, r.maxMsgSize)
	}
	if len(ents) == 0 && !sendIfEmpty && errt == nil && erre == nil {
		return false
	}
	if errt != nil || erre != nil {
		return r.maybeSendSnapshot(to, pr)
	}
	r.send(raftpb.Message{To: to, Type: raftpb.MsgApp, Index: prevIndex, LogTerm: prevTerm,
		Entries: ents, Commit: r.raftLog.committed})
	last := prevIndex
	if n := len(ents); n > 0 {
		last = ents[n-1].Index
	}
	pr.SentEntries(len(ents), entriesSize(ents), last)
	return true
}

// maybeSendSnapshot sends the storage's snapshot to a follower whose next
// entries are compacted, moving it to StateSnapshot.
func (r *raft) maybeSendSnapshot(to raftpb.NodeID, pr *tracker.Progress) bool {
	if !pr.RecentActive {
		r.logger.Debug("raft: not sending a snapshot to an inactive follower", "id", r.id, "to", to)
		return false
	}
	snap, err := r.raftLog.snapshot()
	if err != nil {
		if errors.Is(err, ErrSnapshotTemporarilyUnavailable) {
			r.logger.Debug("raft: snapshot temporarily unavailable", "id", r.id, "to", to)
			return false
		}
		panic(fmt.Sprintf("raft: Storage.Snapshot: %v", err))
	}
	if snap.IsEmpty() {
		r.logger.Warn("raft: follower needs a snapshot but storage has none", "id", r.id, "to", to)
		return false
	}
	r.logger.Info("raft: sending snapshot", "id", r.id, "to", to, "index", snap.Metadata.Index,
		"term", snap.Metadata.Term)
	pr.BecomeSnapshot(snap.Metadata.Index)
	r.send(raftpb.Message{To: to, Type: raftpb.MsgSnap, Snapshot: &snap})
	return true
}

// bcastAppend sends new entries (or at least the commit index) to every
// follower, streaming as far as each window allows.
func (r *raft) bcastAppend() {
	for _, id := range r.trk.IDs() {
		if id == r.id {
			continue
		}
		if r.sendAppend(id); r.trk.Progress[id].State == tracker.StateReplicate {
			for r.maybeSendAppend(id, false) {
			}
		}
	}
}

// bcastHeartbeat sends a heartbeat to every follower, carrying ctx (the
// newest pending ReadIndex context, or nil).
func (r *raft) bcastHeartbeat(ctx []byte) {
	for _, id := range r.trk.IDs() {
		if id == r.id {
			continue
		}
		pr := r.trk.Progress[id]
		// Never tell a follower a commit index beyond what it holds.
		commit := min(pr.Match, r.raftLog.committed)
		r.send(raftpb.Message{To: id, Type: raftpb.MsgHeartbeat, Commit: commit, Context: ctx})
	}
}

// restore installs snapshot s on a follower. It returns false if s is not news
// (already covered by our commit index; if our log already has s's last
// entry, the commit index just jumps there).
func (r *raft) restore(s raftpb.Snapshot) bool {
	if s.Metadata.Index <= r.raftLog.committed {
		return false
	}
	if r.state != StateFollower {
		// Only a follower installs snapshots; become one in a new term
		// (as etcd-io/raft does) rather than risk a leader's log.
		r.logger.Warn("raft: non-follower received a snapshot", "id", r.id, "state", r.state.String())
		r.becomeFollower(r.Term+1, raftpb.None)
		return false
	}
	if r.raftLog.applying > r.raftLog.applied {
		// The driver is still applying CommittedEntries of an outstanding
		// Ready (it may step messages meanwhile). Installing the snapshot
		// now would replace the membership under the conf changes it is
		// about to apply; refuse, and let the leader retry after
		// ReportSnapshot and a probe.
		r.logger.Info("raft: deferring a snapshot while committed entries are applied",
			"id", r.id, "index", s.Metadata.Index, "applying", r.raftLog.applying, "applied", r.raftLog.applied)
		return false
	}
	if r.raftLog.matchTerm(s.Metadata.Index, s.Metadata.Term) {
		r.raftLog.commitTo(s.Metadata.Index)
		return false
	}
	// Unlike etcd-io/raft, a snapshot whose ConfState does not list us is
	// accepted: a node added after the snapshot was taken learns of its own
	// membership from the log entries that follow it.
	trk := r.trk
	if err := confchange.Restore(&trk, s.Metadata.ConfState, s.Metadata.Index+1); err != nil {
		r.logger.Warn("raft: refusing a snapshot with an unusable ConfState", "id", r.id, "err", err)
		return false
	}
	r.raftLog.restore(s)
	r.trk = trk
	r.refreshSelfRole()
	r.logger.Info("raft: restored snapshot", "id", r.id, "index", s.Metadata.Index, "term", s.Metadata.Term)
	return true
}
