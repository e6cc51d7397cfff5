package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/shelf-kv/shelf/raft"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// maxProposalsPerBatch bounds how many queued proposals one pass of the raft
// loop hands to raft before it handles a Ready: everything that queued up
// while the last fsync ran goes into the next WAL batch (group commit).
const maxProposalsPerBatch = 4096

// maxPendingReadRounds bounds the ReadIndex rounds the raft loop remembers.
// There is one live round at a time (readBatcher), so anything beyond a few
// is a round that was abandoned and retried.
const maxPendingReadRounds = 64

// run is the raft loop: the only goroutine that touches s.rn and writes to
// the WAL. Each pass takes one input (a tick, a peer message, a batch of
// proposals, a read request, transport feedback, a finished snapshot), then
// handles every Ready that input produced.
func (s *Server) run() {
	defer close(s.donec)
	ticker := time.NewTicker(s.cfg.HeartbeatInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			s.rn.Tick()
			s.tickLeases()
		case m := <-s.recvc:
			s.step(m)
		drain:
			for range cap(s.recvc) {
				select {
				case m := <-s.recvc:
					s.step(m)
				default:
					break drain
				}
			}
		case p := <-s.propc:
			s.propose(p)
			for range maxProposalsPerBatch - 1 {
				select {
				case p := <-s.propc:
					s.propose(p)
					continue
				default:
				}
				break
			}
		case r := <-s.readc:
			if len(s.readCtxs) >= maxPendingReadRounds {
				// Rounds whose answers never came (their readers retried
				// with fresh contexts) would otherwise pile up; any live
				// round dropped here is retried after an election timeout.
				clear(s.readCtxs)
			}
			s.readCtxs[string(r.ctx)] = r.batch
			s.rn.ReadIndex(r.ctx)
		case id := <-s.unreachc:
			s.rn.ReportUnreachable(id)
		case <-s.snapKick:
			s.deliverSnapshotReports()
		case d := <-s.snapc:
			s.snapshotDone(d)
		case f := <-s.loopc:
			f()
		case <-s.stopc:
			return
		}
		for s.rn.HasReady() {
			if err := s.handleReady(); err != nil {
				s.die(err)
				return
			}
		}
	}
}

func (s *Server) step(m raftpb.Message) {
	if err := s.rn.Step(m); err != nil {
		s.log.Debug("dropped peer message", "type", m.Type, "from", m.From, "err", err)
	}
}

func (s *Server) propose(p proposal) {
	err := s.tryPropose(p)
	if err != nil {
		s.m.proposalsFailed.Inc()
	}
	p.errc <- err
}

// tryPropose hands p to raft, or says why it was refused.
func (s *Server) tryPropose(p proposal) error {
	if lead := raftpb.NodeID(s.leader.Load()); !s.isLeader && lead != raftpb.None && s.tr != nil && !s.tr.Reachable(lead) {
		// Raft would forward the proposal to a leader this member cannot
		// reach (it may be dead): the message would be dropped and the
		// client would wait out its timeout not knowing whether the write
		// happened. Refuse it instead: nothing was proposed, so the client
		// may safely retry elsewhere.
		return ErrNoLeader
	}
	if p.cc == nil {
		return mapProposeErr(s.rn.Propose(p.data))
	}
	if err := s.checkPromotion(*p.cc); err != nil {
		return err
	}
	return mapConfChangeErr(s.rn.ProposeConfChange(*p.cc))
}

// mapProposeErr turns raft's refusals into the errors clients see.
func mapProposeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNoLeader), errors.Is(err, raft.ErrProposalDropped):
		return ErrNoLeader
	case errors.Is(err, raft.ErrTransferring):
		return ErrLeaderChanged
	case errors.Is(err, raft.ErrUncommittedCapExceeded):
		return ErrTooManyRequests
	}
	return err
}

// handleReady processes one Ready under the durability contract (see
// raft.Ready): a leader sends its appends while its own fsync runs; every
// other message waits for the fsync; committed entries are applied in
// order; then Advance.
func (s *Server) handleReady() error {
	rd := s.rn.Ready()
	if rd.SoftState != nil {
		s.softStateChanged(rd.SoftState)
	}
	if !rd.HardState.IsEmpty() {
		s.term.Store(uint64(rd.HardState.Term))
	}
	later := rd.Messages
	if s.isLeader {
		var early []raftpb.Message
		later = nil
		for _, m := range rd.Messages {
			switch m.Type {
			case raftpb.MsgApp, raftpb.MsgHeartbeat, raftpb.MsgSnap:
				early = append(early, m)
			default:
				later = append(later, m)
			}
		}
		s.sendAll(early)
	}
	if !rd.Snapshot.IsEmpty() {
		if err := s.installSnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := s.w.Save(rd.HardState, rd.Entries); err != nil {
		return fmt.Errorf("server: WAL save: %w", err)
	}
	if len(rd.Entries) > 0 {
		s.m.walBatch.Observe(time.Since(start).Seconds())
	}
	s.sendAll(later)
	for _, rs := range rd.ReadStates {
		if b, ok := s.readCtxs[string(rs.RequestCtx)]; ok {
			delete(s.readCtxs, string(rs.RequestCtx))
			b.index = rs.Index
			close(b.done)
		}
	}
	if len(rd.CommittedEntries) > 0 {
		if err := s.apply(rd.CommittedEntries); err != nil {
			return err
		}
	}
	s.rn.Advance(rd)
	s.maybeSnapshot()
	return nil
}

// softStateChanged publishes a change of leader or role.
func (s *Server) softStateChanged(ss *raft.SoftState) {
	was := s.isLeader
	s.isLeader = ss.RaftState == raft.StateLeader
	if raftpb.NodeID(s.leader.Load()) != ss.Lead {
		s.m.leaderChanges.Inc()
		s.log.Info("leader changed", "leader", ss.Lead.String(), "state", ss.RaftState.String())
	}
	s.leader.Store(uint64(ss.Lead))
	if ss.Lead == raftpb.None || !s.isLeader {
		// Pending read rounds died with the old leader; the read loop
		// retries them with fresh contexts.
		clear(s.readCtxs)
	}
	switch {
	case s.isLeader && !was:
		// Remaining TTLs restart from the full TTL plus an election
		// timeout, so no lease expires early because of the election.
		s.Store().Promote(s.cfg.ElectionTimeout)
	case !s.isLeader && was:
		s.Store().Demote()
	}
}

// die records a fatal error (a WAL write or fsync failed) and stops the
// member: it never retries an fsync and trusts it.
func (s *Server) die(err error) {
	s.fatal.CompareAndSwap(nil, &err)
	s.log.Error("member stopping on a fatal error", "err", err)
	s.stopped.Do(func() { close(s.stopc) })
}
