// Package crashwork is the shared vocabulary of wal's crash test: the
// operations the crash writer performs, their one-line text form (printed
// before each operation, with an "ack" line after it returns), the
// deterministic entry contents, and a model that applies operations the way
// the WAL's contract says it must.
package crashwork

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Kind is the kind of an operation.
type Kind string

// The operation kinds, one per WAL mutating method.
const (
	Save     Kind = "save"
	Truncate Kind = "trunc"
	Compact  Kind = "compact"
	Reset    Kind = "reset"
)

// Op is one operation of the writer. For Save: HS (zero = unchanged) and
// Count entries from Lo, all of Term, with contents from Gen. For
// Truncate/Compact: Index. For Reset: Index and Term.
type Op struct {
	N     int
	Kind  Kind
	HS    raftpb.HardState
	Lo    raftpb.Index
	Count int
	Term  raftpb.Term
	Gen   uint64
	Index raftpb.Index
}

// String is the op's line, parsed back by ParseOp.
func (o Op) String() string {
	switch o.Kind {
	case Save:
		return fmt.Sprintf("op %d save %d %d %d %d %d %d %d", o.N, o.HS.Term, o.HS.Vote, o.HS.Commit, o.Lo, o.Count, o.Term, o.Gen)
	case Reset:
		return fmt.Sprintf("op %d reset %d %d", o.N, o.Index, o.Term)
	default:
		return fmt.Sprintf("op %d %s %d", o.N, o.Kind, o.Index)
	}
}

// ParseOp parses a line produced by Op.String.
func ParseOp(line string) (Op, error) {
	f := strings.Fields(line)
	if len(f) < 4 || f[0] != "op" {
		return Op{}, fmt.Errorf("crashwork: not an op line: %q", line)
	}
	nums := make([]uint64, 0, len(f)-3)
	for _, s := range f[3:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return Op{}, fmt.Errorf("crashwork: %q: %v", line, err)
		}
		nums = append(nums, v)
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return Op{}, fmt.Errorf("crashwork: %q: %v", line, err)
	}
	o := Op{N: n, Kind: Kind(f[2])}
	want := map[Kind]int{Save: 7, Truncate: 1, Compact: 1, Reset: 2}[o.Kind]
	if want == 0 || len(nums) != want {
		return Op{}, fmt.Errorf("crashwork: bad op line %q", line)
	}
	switch o.Kind {
	case Save:
		o.HS = raftpb.HardState{Term: raftpb.Term(nums[0]), Vote: raftpb.NodeID(nums[1]), Commit: raftpb.Index(nums[2])}
		o.Lo, o.Count, o.Term, o.Gen = raftpb.Index(nums[3]), int(nums[4]), raftpb.Term(nums[5]), nums[6]
	case Reset:
		o.Index, o.Term = raftpb.Index(nums[0]), raftpb.Term(nums[1])
	default:
		o.Index = raftpb.Index(nums[0])
	}
	return o, nil
}

// Entries returns the entries of a Save op.
func (o Op) Entries() []raftpb.Entry {
	out := make([]raftpb.Entry, 0, o.Count)
	for k := 0; k < o.Count; k++ {
		out = append(out, EntryFor(o.Lo+raftpb.Index(k), o.Term, o.Gen))
	}
	return out
}

// EntryFor is the deterministic entry written at index i, term t by the op
// of generation gen: its type and contents depend on all three, so an entry
// from another op, term or index never compares equal.
func EntryFor(i raftpb.Index, t raftpb.Term, gen uint64) raftpb.Entry {
	e := raftpb.Entry{Index: i, Term: t, Type: raftpb.EntryNormal}
	switch (uint64(i) + gen) % 17 {
	case 0:
		e.Type = raftpb.EntryEmpty
		return e
	case 1:
		e.Type = raftpb.EntryConfChange
	}
	e.Data = fmt.Appendf(nil, "%d.%d.%d:", i, t, gen)
	n := int((uint64(i)*7 + gen) % 300)
	for k := 0; k < n; k++ {
		e.Data = append(e.Data, byte(uint64(i)+gen+uint64(k)))
	}
	return e
}

// State is the model of a WAL: base (compaction point) and its term, the
// live entries base+1.., and the hard state.
type State struct {
	Base     raftpb.Index
	BaseTerm raftpb.Term
	Ents     []raftpb.Entry
	HS       raftpb.HardState
}

// Last is the last index of s.
func (s State) Last() raftpb.Index { return s.Base + raftpb.Index(len(s.Ents)) }

// Clone returns a deep enough copy (entries are never mutated).
func (s State) Clone() State {
	s.Ents = slices.Clone(s.Ents)
	return s
}

// append applies entries es (contiguous, starting in [Base+1, Last+1]).
func (s *State) append(es []raftpb.Entry) {
	for _, e := range es {
		s.Ents = append(s.Ents[:e.Index-s.Base-1], e)
	}
}

// Apply returns the state after the whole of op.
func (s State) Apply(o Op) State {
	s = s.Clone()
	switch o.Kind {
	case Save:
		s.append(o.Entries())
		if o.HS != (raftpb.HardState{}) {
			s.HS = o.HS
		}
	case Truncate:
		s.Ents = s.Ents[:o.Index-s.Base]
	case Compact:
		s.BaseTerm = s.termOf(o.Index)
		s.Ents = s.Ents[o.Index-s.Base:]
		s.Base = o.Index
	case Reset:
		s.Ents, s.Base, s.BaseTerm = nil, o.Index, o.Term
	}
	return s
}

// Candidates returns every state a crash during op may legally leave: the
// state before it, every prefix of a Save's entries (written before its
// hard state), and the state after it.
func (s State) Candidates(o Op) []State {
	out := []State{s}
	if o.Kind == Save {
		es := o.Entries()
		for m := 1; m <= len(es); m++ {
			c := s.Clone()
			c.append(es[:m])
			out = append(out, c)
		}
	}
	return append(out, s.Apply(o))
}

// termOf returns the term of index i in [Base, Last].
func (s State) termOf(i raftpb.Index) raftpb.Term {
	if i == s.Base {
		return s.BaseTerm
	}
	return s.Ents[i-s.Base-1].Term
}

// TermOf returns the term of index i in [Base, Last].
func (s State) TermOf(i raftpb.Index) raftpb.Term { return s.termOf(i) }

// Diff describes how got differs from want, or "" if they are equal.
func Diff(got, want State) string {
	switch {
	case got.Base != want.Base || got.Last() != want.Last():
		return fmt.Sprintf("range (%d, %d], want (%d, %d]", got.Base, got.Last(), want.Base, want.Last())
	case got.BaseTerm != want.BaseTerm:
		return fmt.Sprintf("term of base %d is %d, want %d", got.Base, got.BaseTerm, want.BaseTerm)
	case got.HS != want.HS:
		return fmt.Sprintf("hard state %v, want %v", got.HS, want.HS)
	}
	for k := range got.Ents {
		g, w := got.Ents[k], want.Ents[k]
		if g.Index != w.Index || g.Term != w.Term || g.Type != w.Type || string(g.Data) != string(w.Data) {
			return fmt.Sprintf("entry %d is %v, want %v", w.Index, g, w)
		}
	}
	return ""
}
