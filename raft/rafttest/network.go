package rafttest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// link is a directed pair of members.
type link struct{ from, to raftpb.NodeID }

// envelope is a message in flight.
type envelope struct {
	// at is the step at which the message becomes deliverable.
	at int
	// sender is the member that put the message on the wire; it differs
	// from msg.from for a proposal or read request forwarded on behalf of
	// another member.
	sender raftpb.NodeID
	// wire is the message as the peer transport would carry it
	// (raftpb.Message.Marshal); it is decoded on delivery.
	wire []byte
	msg  msgSummary
}

// network is the simulated peer transport. It is driven by the simulation's
// single random source; nothing in it runs concurrently.
//
// Faults: each message is lost with probability dropP, duplicated with
// probability dupP (the copy travels independently), and delayed by 1..maxDelay
// steps, so messages overtake each other (reordering). A cut link loses every
// message sent over it, and every message still in flight on it when it is
// delivered (a partition is a pair of cuts; a one-way partition is one cut).
type network struct {
	rng      *rand.Rand
	dropP    float64
	dupP     float64
	maxDelay int
	// longP is the chance a message is delayed 1..long steps instead.
	longP    float64
	long     int
	cut      map[link]bool
	inflight []envelope
	// dueBuf is reused by due (its result is valid until the next call).
	dueBuf []envelope
}

func newNetwork(rng *rand.Rand, p *profile) *network {
	return &network{rng: rng, dropP: p.dropP, dupP: p.dupP, maxDelay: p.maxDelay,
		longP: p.longDelayP, long: p.longDelay, cut: map[link]bool{}}
}

// sendResult says what the network did with a message at send time.
type sendResult uint8

const (
	sentOK sendResult = iota
	sentDup
	lostRandom
	lostCut
)

// send puts m, sent by sender, on the wire at step now.
func (n *network) send(now int, sender raftpb.NodeID, m *raftpb.Message) sendResult {
	if n.cut[link{sender, m.To}] {
		return lostCut
	}
	if n.dropP > 0 && n.rng.Float64() < n.dropP {
		return lostRandom
	}
	wire := m.Marshal()
	sum := summarize(m)
	n.inflight = append(n.inflight, envelope{at: now + n.delay(), sender: sender, wire: wire, msg: sum})
	if n.dupP > 0 && n.rng.Float64() < n.dupP {
		n.inflight = append(n.inflight, envelope{at: now + n.delay(), sender: sender, wire: wire, msg: sum})
		return sentDup
	}
	return sentOK
}

// delay draws one message's delay in steps (>= 1).
func (n *network) delay() int {
	if n.longP > 0 && n.rng.Float64() < n.longP {
		return 1 + n.rng.IntN(n.long)
	}
	return 1 + n.rng.IntN(n.maxDelay)
}

// due removes and returns, in random order, the envelopes deliverable at
// step now. The result is valid until the next call.
func (n *network) due(now int) []envelope {
	out := n.dueBuf[:0]
	kept := n.inflight[:0]
	for _, e := range n.inflight {
		if e.at <= now {
			out = append(out, e)
		} else {
			kept = append(kept, e)
		}
	}
	clear(n.inflight[len(kept):])
	n.inflight = kept
	n.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	n.dueBuf = out
	return out
}

// decode turns an envelope back into a message, checking the codec kept
// what matters.
func (e *envelope) decode() (raftpb.Message, error) {
	var m raftpb.Message
	if err := m.Unmarshal(e.wire); err != nil {
		return m, fmt.Errorf("rafttest: raftpb.Message.Unmarshal of an encoded %s: %w", e.msg, err)
	}
	if got := summarize(&m); got != e.msg {
		return m, fmt.Errorf("rafttest: codec round trip changed a message: sent %s, decoded %s", e.msg, got)
	}
	if again := m.Marshal(); !bytes.Equal(again, e.wire) {
		return m, fmt.Errorf("rafttest: codec is not stable: %s re-encodes to %d bytes, was %d", e.msg, len(again), len(e.wire))
	}
	return m, nil
}

// partition cuts every link between group and the other members, both ways.
func (n *network) partition(group, others []raftpb.NodeID) {
	for _, a := range group {
		for _, b := range others {
			n.cut[link{a, b}] = true
			n.cut[link{b, a}] = true
		}
	}
}

// cutOneWay loses every message from -> to (but not to -> from).
func (n *network) cutOneWay(from, to raftpb.NodeID) { n.cut[link{from, to}] = true }

// heal restores every link.
func (n *network) heal() { clear(n.cut) }

// isCut reports whether from -> to is cut.
func (n *network) isCut(from, to raftpb.NodeID) bool { return n.cut[link{from, to}] }

// cuts lists the cut links in a stable order (for the trace).
func (n *network) cuts() []link {
	out := make([]link, 0, len(n.cut))
	for l := range n.cut {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b link) int {
		if a.from != b.from {
			return int(a.from) - int(b.from)
		}
		return int(a.to) - int(b.to)
	})
	return out
}
