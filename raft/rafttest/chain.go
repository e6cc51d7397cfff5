package rafttest

import (
	"encoding/binary"
	"fmt"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// The simulation identifies a log prefix by a chain hash:
//
//	chain(0) = 0
//	chain(i) = fnv1a64(chain(i-1) | index | term | type | data of entry i)
//
// Two logs that share chain(i) agree on every entry up to i (barring a 64-bit
// collision), so log matching and state machine safety reduce to comparing
// one number per index. A member's state machine IS the chain hash of what it
// applied: applying entry i turns chain(i-1) into chain(i).

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// chainNext returns chain(e.Index) given prev = chain(e.Index-1).
func chainNext(prev uint64, e *raftpb.Entry) uint64 {
	h := uint64(fnvOffset)
	var b [8 + 8 + 8 + 1]byte
	binary.LittleEndian.PutUint64(b[0:], prev)
	binary.LittleEndian.PutUint64(b[8:], uint64(e.Index))
	binary.LittleEndian.PutUint64(b[16:], uint64(e.Term))
	b[24] = byte(e.Type)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	for _, c := range e.Data {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// bootstrapIndex and bootstrapTerm are where every initial member's log
// starts: a snapshot at 1/1 holding the initial membership (the pattern
// raft.MemoryStorage documents for bootstrapping a group).
const (
	bootstrapIndex raftpb.Index = 1
	bootstrapTerm  raftpb.Term  = 1
)

// bootstrapChain is chain(1): the bootstrap snapshot stands for an empty
// entry at 1/1.
func bootstrapChain() uint64 {
	return chainNext(0, &raftpb.Entry{Index: bootstrapIndex, Term: bootstrapTerm, Type: raftpb.EntryEmpty})
}

// smImage is the application's snapshot: the applied index and the chain hash
// of everything applied up to it. It is what goes into Snapshot.Data.
type smImage struct {
	Applied raftpb.Index
	Hash    uint64
}

// smMagic starts every encoded smImage so that a snapshot whose Data was
// mangled by a codec bug is recognised as such.
const smMagic = 0x5348454c46534d31 // "SHELFSM1"

func (s smImage) marshal() []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint64(b[0:], smMagic)
	binary.LittleEndian.PutUint64(b[8:], uint64(s.Applied))
	binary.LittleEndian.PutUint64(b[16:], s.Hash)
	return b
}

func unmarshalSM(b []byte) (smImage, error) {
	if len(b) != 24 || binary.LittleEndian.Uint64(b) != smMagic {
		return smImage{}, fmt.Errorf("rafttest: snapshot data is not a state machine image (%d bytes)", len(b))
	}
	return smImage{
		Applied: raftpb.Index(binary.LittleEndian.Uint64(b[8:])),
		Hash:    binary.LittleEndian.Uint64(b[16:]),
	}, nil
}
