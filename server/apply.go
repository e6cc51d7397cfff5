package server

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shelf-kv/shelf/mvcc"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// apply applies committed entries in order to the store and the membership
// and wakes the clients waiting for them. It runs on the raft loop.
func (s *Server) apply(ents []raftpb.Entry) error {
	store := s.Store()
	from := s.applied.get()
	for i := range ents {
		e := &ents[i]
		if e.Index <= from {
			continue // already in the snapshot the store was restored from
		}
		switch e.Type {
		case raftpb.EntryNormal:
			s.applyRequest(store, e)
		case raftpb.EntryConfChange:
			s.applyConfChange(store, e)
		default:
			markApplied(store, e.Index)
		}
		s.m.proposalsApplied.Inc()
	}
	// Readers waiting for an index are woken once per batch, not per entry.
	s.applied.set(ents[len(ents)-1].Index)
	s.m.proposalsCommitted.Add(float64(len(ents)))
	return nil
}

// applyRequest applies one client write. An entry that does not decode
// (never written by this code) is logged and skipped on every member alike,
// so the members stay identical.
func (s *Server) applyRequest(store *mvcc.Store, e *raftpb.Entry) {
	if len(e.Data) == 0 {
		markApplied(store, e.Index)
		return
	}
	req, err := decodeRequest(e.Data)
	if err != nil {
		s.log.Error("skipping undecodable entry", "index", e.Index, "err", err)
		markApplied(store, e.Index)
		return
	}
	var res result
	// An active alarm refuses the request on every member alike.
	res.err = s.alarms.refuse(req)
	switch {
	case res.err != nil:
		markApplied(store, e.Index)
	case req.Put != nil:
		res.resp, res.err = store.Put(e.Index, req.Put)
	case req.DeleteRange != nil:
		res.resp, res.err = store.DeleteRange(e.Index, req.DeleteRange)
	case req.Txn != nil:
		res.resp, res.err = store.Txn(e.Index, req.Txn)
	case req.Compact != nil:
		res.resp, res.err = store.Compact(e.Index, req.Compact.Revision)
	case req.LeaseGrant != nil:
		res.resp, res.err = store.LeaseGrant(e.Index, req.LeaseGrant.ID, req.LeaseGrant.TTL)
	case req.LeaseRevoke != nil:
		res.resp, res.err = store.LeaseRevoke(e.Index, req.LeaseRevoke.ID)
	case req.Publish != nil:
		markApplied(store, e.Index)
		s.applyPublish(*req.Publish)
	case req.Alarm != nil:
		markApplied(store, e.Index)
		res.resp, res.err = s.applyAlarm(*req.Alarm)
	case req.MemberUpdate != nil:
		markApplied(store, e.Index)
		res.err = s.applyMemberUpdate(*req.MemberUpdate)
	default:
		markApplied(store, e.Index)
		res.err = fmt.Errorf("%w: no operation", errBadRequest)
	}
	if errors.Is(res.err, mvcc.ErrIndexApplied) {
		return // replayed after a restart; its client is long gone
	}
	if req.ID != 0 {
		s.waits.trigger(req.ID, res)
	}
}

// applyConfChange applies a committed membership change to raft, the
// member set and the transport.
func (s *Server) applyConfChange(store *mvcc.Store, e *raftpb.Entry) {
	defer markApplied(store, e.Index)
	var cc raftpb.ConfChange
	if err := cc.Unmarshal(e.Data); err != nil {
		s.log.Error("skipping undecodable membership entry", "index", e.Index, "err", err)
		return
	}
	cs := s.rn.ApplyConfChange(cc)
	if cs != nil {
		s.confState = *cs
	}
	var cctx confContext
	if len(cc.Context) > 0 {
		if err := json.Unmarshal(cc.Context, &cctx); err != nil {
			s.log.Error("membership entry has a bad context", "index", e.Index, "err", err)
		}
	}
	info := cctx.Member
	info.ID = cc.NodeID
	if cctx.ReqID != 0 {
		defer s.waits.trigger(cctx.ReqID, result{})
	}
	switch cc.Type {
	case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
		if old, ok := s.members.get(cc.NodeID); ok {
			if len(info.PeerURLs) == 0 {
				info.PeerURLs = old.PeerURLs // the leader's automatic promotion carries no context
			}
			if info.Name == "" {
				info.Name = old.Name
			}
			info.ClientURLs = old.ClientURLs
		}
		info.IsLearner = cc.Type == raftpb.ConfChangeAddLearnerNode
		s.members.set(info)
		if cc.NodeID != s.id && s.tr != nil && len(info.PeerURLs) > 0 {
			s.tr.AddPeer(cc.NodeID, info.PeerURLs)
		}
	case raftpb.ConfChangeRemoveNode:
		s.members.remove(cc.NodeID)
		if cc.NodeID == s.id {
			s.log.Warn("this member was removed from the cluster; stopping")
			go s.Stop()
		} else if s.tr != nil {
			s.tr.RemovePeer(cc.NodeID)
		}
	}
	s.log.Info("membership changed", "change", cc.String(), "index", e.Index)
}

func markApplied(store *mvcc.Store, idx raftpb.Index) {
	_ = store.MarkApplied(idx) // ErrIndexApplied on replay is expected
}

// applyPublish records a member's self-description, if it is still a member.
func (s *Server) applyPublish(p memberInfo) {
	m, ok := s.members.get(p.ID)
	if !ok {
		return
	}
	m.Name, m.ClientURLs = p.Name, p.ClientURLs
	s.members.set(m)
}
