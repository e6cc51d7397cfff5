package rafttest

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/shelf-kv/shelf/raft"
	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Failure is the error Run returns when an invariant breaks. It carries
// everything needed to understand and replay the run.
type Failure struct {
	Seed  uint64
	Nodes int
	Steps int
	// Step is the scheduler step at which the invariant broke.
	Step int
	// Invariant is one of the Inv* names.
	Invariant string
	Detail    string
	// Trace is the tail of the event log, oldest first.
	Trace []string
}

func (f *Failure) Error() string {
	return fmt.Sprintf("rafttest: seed %d (%d members): invariant %s broken at step %d: %s",
		f.Seed, f.Nodes, f.Invariant, f.Step, f.Detail)
}

// Report renders the failure for a human: the invariant, the trace, and the
// command (replay) that reproduces it bit for bit.
func (f *Failure) Report(replay string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n--- last %d events ---\n", f.Error(), len(f.Trace))
	for _, l := range f.Trace {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "--- replay ---\n%s\n", replay)
	return b.String()
}

// Result summarises a run that broke no invariant.
type Result struct {
	Steps       int // steps run, fault phase plus settle phase
	Proposals   int // client proposals accepted by Propose
	Acked       int // proposals applied on their proposer
	Reads       int // ReadIndex answers checked
	Crashes     int
	Partitions  int
	ConfChanges int // membership changes applied
	Snapshots   int // snapshots created
	MaxTerm     raftpb.Term
	Members     int // members at the end
}

// sim is one simulation run. Everything happens on the caller's goroutine.
type sim struct {
	opts Options
	prof profile
	rng  *rand.Rand
	// aux is a second stream from the seed for features added after
	// regression seeds were recorded (torn crashes), so that their draws do
	// not shift the main stream of older seeds.
	aux  *rand.Rand
	step int
	// nodes holds every member ever created; ids lists them sorted.
	nodes map[raftpb.NodeID]*node
	ids   []raftpb.NodeID
	net   *network
	chk   *checker
	tr    *tracer
	fail  *Failure
	res   Result
	// settling is set once the faults stop (the settle phase).
	settling bool
	// isolations are leaders to cut off at a later step (isolateNewP).
	isolations []isolation
	clients
}

// Run simulates one cluster as opts say and returns nil error if every
// invariant held; otherwise the error is a *Failure.
func Run(opts Options) (res Result, err error) {
	if opts.Nodes < 1 {
		return res, fmt.Errorf("rafttest: Options.Nodes must be >= 1, got %d", opts.Nodes)
	}
	if opts.Steps <= 0 {
		opts.Steps = DefaultSteps
	}
	if opts.TraceLen <= 0 {
		opts.TraceLen = 60
	}
	s := &sim{
		opts:  opts,
		rng:   rand.New(rand.NewPCG(opts.Seed, 0x5348454c46)),
		nodes: map[raftpb.NodeID]*node{},
		tr:    newTracer(opts.TraceLen, opts.Verbose),
	}
	s.aux = rand.New(rand.NewPCG(opts.Seed, 0x746f726e))
	s.prof = drawProfile(s.rng, opts.Nodes)
	if s.aux.IntN(2) == 0 {
		s.prof.tornP = 0.5
	}
	if opts.tweak != nil {
		opts.tweak(&s.prof)
	}
	s.net = newNetwork(s.rng, &s.prof)
	s.chk = newChecker(s)
	s.clients.init()
	defer func() {
		if r := recover(); r != nil {
			s.failf(InvLibrary, "panic: %v\n%s", r, debug.Stack())
			res, err = s.res, s.fail
		}
	}()
	s.note(0, "profile %+v", s.prof)
	if err := s.bootstrap(); err != nil {
		return s.res, err
	}
	for s.step = 1; s.step <= opts.Steps && s.fail == nil; s.step++ {
		s.runStep(true)
	}
	if s.fail == nil {
		s.settle()
	}
	s.res.Steps = s.step
	s.res.Members = len(s.clients.conf.Voters) + len(s.clients.conf.Learners)
	if s.fail != nil {
		return s.res, s.fail
	}
	return s.res, nil
}

// bootstrap creates the initial voters 1..Nodes.
func (s *sim) bootstrap() error {
	voters := make([]raftpb.NodeID, s.opts.Nodes)
	for i := range voters {
		voters[i] = raftpb.NodeID(i + 1)
	}
	s.clients.conf = raftpb.ConfState{Voters: voters}
	s.clients.nextID = raftpb.NodeID(s.opts.Nodes + 1)
	for _, id := range voters {
		n := s.addNode(id)
		if err := n.disk.bootstrap(voters); err != nil {
			return err
		}
		if err := n.start(); err != nil {
			return err
		}
	}
	return nil
}

// addNode creates a member with an empty disk (not started).
func (s *sim) addNode(id raftpb.NodeID) *node {
	n := &node{id: id, s: s, disk: newDisk()}
	s.nodes[id] = n
	s.ids = append(s.ids, id)
	slices.Sort(s.ids)
	return n
}

// runStep is one scheduler step: faults and client operations (unless
// settling), message delivery, clock ticks, and one round of the drivers.
func (s *sim) runStep(faults bool) {
	if faults {
		s.faults()
	}
	s.lifecycle()
	// Deliver what is due, in random order (reordering among equal delays).
	for _, e := range s.net.due(s.step) {
		if s.fail != nil {
			return
		}
		s.deliver(&e)
	}
	// Each live member ticks with probability tickP: clocks drift apart.
	for _, id := range s.ids {
		n := s.nodes[id]
		if n.up && s.rng.Float64() < s.prof.tickP {
			n.rn.Tick()
		}
	}
	// Drivers run in a random order each step, as independent processes.
	order := slices.Clone(s.ids)
	s.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, id := range order {
		if s.fail != nil {
			return
		}
		s.nodes[id].drive()
	}
	for _, id := range s.ids {
		n := s.nodes[id]
		if n.hs.Term > s.res.MaxTerm {
			s.res.MaxTerm = n.hs.Term
		}
		// A leader that applied its own removal must step down within an
		// election timeout (in ticks; a step ticks at most once).
		if n.up && n.state == raft.StateLeader && n.selfRemovedAt > 0 && s.step-n.selfRemovedAt > 2*s.prof.electionTick {
			s.failf(InvMembership, "member %d applied its own removal at step %d and still leads term %d", id, n.selfRemovedAt, n.hs.Term)
		}
	}
}

// send hands a message from n to the network (and reports losses the way
// a transport would: a lost snapshot fails, an unreachable peer is reported).
func (s *sim) send(n *node, m *raftpb.Message) {
	switch s.net.send(s.step, n.id, m) {
	case sentOK:
		s.tr.add(event{step: s.step, kind: evSend, msg: summarize(m)})
	case sentDup:
		s.tr.add(event{step: s.step, kind: evDup, msg: summarize(m)})
	case lostRandom:
		s.tr.add(event{step: s.step, kind: evDrop, msg: summarize(m), text: "lost"})
		if m.Type == raftpb.MsgSnap {
			n.rn.ReportSnapshot(m.To, raft.SnapshotFailure)
		}
	case lostCut:
		s.tr.add(event{step: s.step, kind: evDrop, msg: summarize(m), text: "link cut"})
		switch {
		case m.Type == raftpb.MsgSnap:
			n.rn.ReportSnapshot(m.To, raft.SnapshotFailure)
		case s.rng.IntN(4) == 0:
			n.rn.ReportUnreachable(m.To)
		}
	}
}

// deliver steps a message that arrived into its recipient, if the link and
// the recipient are up.
func (s *sim) deliver(e *envelope) {
	to, ok := s.nodes[e.msg.to]
	from := s.nodes[e.sender]
	var why string
	switch {
	case !ok || !to.up:
		why = "recipient down"
	case s.net.isCut(e.sender, e.msg.to):
		why = "link cut in flight"
	}
	if why != "" {
		s.tr.add(event{step: s.step, kind: evDrop, msg: e.msg, text: why})
		if e.msg.typ == raftpb.MsgSnap && from != nil && from.up {
			from.rn.ReportSnapshot(e.msg.to, raft.SnapshotFailure)
		}
		return
	}
	if to.pending != nil && !s.prof.stepInReady {
		// This driver steps nothing between Ready() and Advance(): the
		// message waits in the member's receive buffer until Advance.
		to.held = append(to.held, *e)
		return
	}
	s.stepInto(to, e)
}

// stepInto decodes a delivered message and steps it into its recipient.
func (s *sim) stepInto(to *node, e *envelope) {
	from := s.nodes[e.sender]
	m, err := e.decode()
	if err != nil {
		s.failf(InvLibrary, "%v", err)
		return
	}
	s.tr.add(event{step: s.step, kind: evDeliver, msg: e.msg})
	to.step(m)
	if m.Type == raftpb.MsgSnap && from != nil && from.up {
		from.rn.ReportSnapshot(m.To, raft.SnapshotFinish)
	}
}

// failf records the first broken invariant; later ones are ignored.
func (s *sim) failf(inv, format string, args ...any) {
	if s.fail != nil {
		return
	}
	s.fail = &Failure{
		Seed: s.opts.Seed, Nodes: s.opts.Nodes, Steps: s.opts.Steps, Step: s.step,
		Invariant: inv, Detail: fmt.Sprintf(format, args...),
	}
	s.note(0, "FAIL %s: %s", inv, s.fail.Detail)
	s.fail.Trace = s.tr.last()
}

// note adds a free-text event to the trace.
func (s *sim) note(id raftpb.NodeID, format string, args ...any) {
	if s.tr.out == nil && s.fail != nil {
		return
	}
	s.tr.add(event{step: s.step, kind: evNote, node: id, text: fmt.Sprintf(format, args...)})
}
