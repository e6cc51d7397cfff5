package raftpb

import (
	"errors"
	"reflect"
	"testing"
)

func sampleMessages() []Message {
	snap := &Snapshot{Data: []byte("state"), Metadata: SnapshotMetadata{Index: 42, Term: 7,
		ConfState: ConfState{Voters: []NodeID{1, 2, 3}, Learners: []NodeID{4}}}}
	return []Message{
		{},
		{Type: MsgApp, To: 2, From: 1, Term: 5, LogTerm: 4, Index: 10, Commit: 9,
			Entries: []Entry{{Term: 5, Index: 11, Type: EntryNormal, Data: []byte("x")},
				{Term: 5, Index: 12, Type: EntryEmpty},
				{Term: 5, Index: 13, Type: EntryConfChange, Data: ConfChange{Type: ConfChangeAddNode, NodeID: 4}.Marshal()}}},
		{Type: MsgAppResp, To: 1, From: 2, Term: 5, Index: 10, Reject: true, RejectHint: 7, LogTerm: 3},
		{Type: MsgSnap, To: 3, From: 1, Term: 9, Snapshot: snap},
		{Type: MsgReadIndex, From: 2, To: 1, Context: []byte("ctx")},
		{Type: MsgPreVoteResp, From: ^NodeID(0), To: 1, Term: ^Term(0), Index: ^Index(0)},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		var got Message
		if err := got.Unmarshal(m.Marshal()); err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", got, m)
		}
	}
}

func TestMessageUnmarshalRejectsCorruption(t *testing.T) {
	good := sampleMessages()[1].Marshal()
	for name, data := range map[string][]byte{
		"empty":        nil,
		"bad version":  append([]byte{9}, good[1:]...),
		"bad type":     append([]byte{messageVersion, 200}, good[2:]...),
		"truncated":    good[:len(good)-1],
		"trailing":     append(append([]byte(nil), good...), 0),
		"huge entries": {messageVersion, byte(MsgApp), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f},
	} {
		var m Message
		err := m.Unmarshal(data)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
	// Every strict prefix of a valid encoding is refused.
	for i := range good {
		var m Message
		if err := m.Unmarshal(good[:i]); err == nil {
			t.Fatalf("prefix of %d bytes accepted", i)
		}
	}
}

func TestConfChangeRoundTrip(t *testing.T) {
	for _, cc := range []ConfChange{
		{Type: ConfChangeAddNode, NodeID: 1},
		{Type: ConfChangeRemoveNode, NodeID: 1 << 60, Context: []byte("why")},
		{Type: ConfChangeAddLearnerNode, NodeID: 7},
	} {
		var got ConfChange
		if err := got.Unmarshal(cc.Marshal()); err != nil || !reflect.DeepEqual(got, cc) {
			t.Fatalf("round trip %v: got %v, %v", cc, got, err)
		}
	}
	var cc ConfChange
	if err := cc.Unmarshal([]byte{confChangeVersion, 9, 1, 0}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("unknown type: %v", err)
	}
	if err := cc.Unmarshal([]byte{2, 0, 1, 0}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("unknown version: %v", err)
	}
}

func TestStrings(t *testing.T) {
	if MsgHup.String() != "MsgHup" || MsgPreVoteResp.String() != "MsgPreVoteResp" || MessageType(99).String() != "MessageType(99)" {
		t.Error("MessageType.String")
	}
	if !MsgBeat.IsLocal() || MsgApp.IsLocal() || !MsgAppResp.IsResponse() {
		t.Error("IsLocal / IsResponse")
	}
}

// FuzzMessageUnmarshal: Unmarshal never panics, every error wraps
// ErrCorrupt, and whatever it accepts survives a Marshal/Unmarshal round trip.
func FuzzMessageUnmarshal(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(m.Marshal())
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if err := m.Unmarshal(data); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		again := m.Marshal()
		var m2 Message
		if err := m2.Unmarshal(again); err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decode failed: %v", err)
		}
	})
}

// FuzzConfChangeUnmarshal: never panics; accepted input round-trips.
func FuzzConfChangeUnmarshal(f *testing.F) {
	f.Add(ConfChange{Type: ConfChangeAddNode, NodeID: 3, Context: []byte("c")}.Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		var cc ConfChange
		if err := cc.Unmarshal(data); err != nil {
			return
		}
		var cc2 ConfChange
		if err := cc2.Unmarshal(cc.Marshal()); err != nil || !reflect.DeepEqual(cc, cc2) {
			t.Fatalf("round trip of accepted input failed: %v", err)
		}
	})
}
