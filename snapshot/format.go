package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/shelf-kv/shelf/raft/raftpb"
)

// Format constants. Never change them: they are written to disk.
const (
	// Magic opens every snapshot file.
	Magic = "SHELFSNP"
	// EndMagic closes every snapshot file.
	EndMagic = "SHELFEND"
	// Version is the format version this package writes.
	Version uint16 = 1
	// MaxChunk is the largest compressed chunk a writer emits and a reader
	// accepts.
	MaxChunk = 1 << 20
	// maxHeader bounds the header body a reader accepts (it holds a few
	// fixed fields and the membership lists).
	maxHeader = 1 << 20
	// maxNodes bounds one membership list in a header.
	maxNodes = 1 << 16
)

// Errors.
var (
	// ErrCorrupt means the file is damaged: a checksum mismatch, a bad
	// magic, a truncated file, an impossible length or record. The wrapped
	// message names the file (when known) and what was wrong.
	ErrCorrupt = errors.New("snapshot: corrupt")
	// ErrVersion means the file was written by an unknown format version.
	ErrVersion = errors.New("snapshot: unsupported format version")
	// ErrNoSnapshot means a directory holds no snapshot file.
	ErrNoSnapshot = errors.New("snapshot: no snapshot")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Meta describes what a snapshot covers.
type Meta struct {
	// ClusterID identifies the cluster the snapshot belongs to.
	ClusterID uint64
	// Index and Term are the raft position of the last entry applied to
	// the store in the snapshot. Index always equals the store's applied
	// index.
	Index raftpb.Index
	Term  raftpb.Term
	// ConfState is the membership as of Index.
	ConfState raftpb.ConfState
	// Revision and CompactRevision are the store's, as of Index.
	Revision        int64
	CompactRevision int64
	// Members is opaque to this package: the server's encoding of the
	// members' names and URLs as of Index (raft's ConfState has only IDs).
	Members []byte
}

// encodeHeader returns the whole fixed prefix of a file: magic, version,
// reserved, hdrLen, body and hdrCRC.
func encodeHeader(m Meta) []byte {
	body := make([]byte, 0, 64)
	body = binary.LittleEndian.AppendUint64(body, m.ClusterID)
	body = binary.LittleEndian.AppendUint64(body, uint64(m.Index))
	body = binary.LittleEndian.AppendUint64(body, uint64(m.Term))
	body = binary.LittleEndian.AppendUint64(body, uint64(m.Revision))
	body = binary.LittleEndian.AppendUint64(body, uint64(m.CompactRevision))
	for _, ids := range [][]raftpb.NodeID{m.ConfState.Voters, m.ConfState.Learners, m.ConfState.VotersOutgoing, m.ConfState.LearnersNext} {
		body = binary.LittleEndian.AppendUint32(body, uint32(len(ids)))
		for _, id := range ids {
			body = binary.LittleEndian.AppendUint64(body, uint64(id))
		}
	}
	if m.ConfState.AutoLeave {
		body = append(body, 1)
	} else {
		body = append(body, 0)
	}
	body = binary.LittleEndian.AppendUint32(body, uint32(len(m.Members)))
	body = append(body, m.Members...)
	out := make([]byte, 0, 16+len(body)+4)
	out = append(out, Magic...)
	out = binary.LittleEndian.AppendUint16(out, Version)
	out = binary.LittleEndian.AppendUint16(out, 0)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	out = append(out, body...)
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// readHeader reads and verifies the fixed prefix of a file, feeding every
// byte it reads into sum.
func readHeader(r io.Reader, sum hash.Hash32) (Meta, error) {
	var m Meta
	fixed := make([]byte, 16)
	if _, err := io.ReadFull(r, fixed); err != nil {
		return m, fmt.Errorf("%w: header: %v", ErrCorrupt, eofIsCorrupt(err))
	}
	if string(fixed[:8]) != Magic {
		return m, fmt.Errorf("%w: bad magic %q at offset 0 (not a shelf snapshot)", ErrCorrupt, fixed[:8])
	}
	n := binary.LittleEndian.Uint32(fixed[12:16])
	if n > maxHeader {
		return m, fmt.Errorf("%w: header length %d at offset 12 exceeds %d", ErrCorrupt, n, maxHeader)
	}
	rest := make([]byte, int(n)+4)
	if _, err := io.ReadFull(r, rest); err != nil {
		return m, fmt.Errorf("%w: header body: %v", ErrCorrupt, eofIsCorrupt(err))
	}
	all := append(fixed, rest[:n]...)
	if got, want := crc32.Checksum(all, castagnoli), binary.LittleEndian.Uint32(rest[n:]); got != want {
		return m, fmt.Errorf("%w: header checksum mismatch at offset %d (stored %08x, computed %08x)", ErrCorrupt, 16+n, want, got)
	}
	// Only now that the checksum holds is the version trusted.
	if v := binary.LittleEndian.Uint16(fixed[8:10]); v != Version {
		return m, fmt.Errorf("%w: %d (this build reads version %d)", ErrVersion, v, Version)
	}
	sum.Write(all)
	sum.Write(rest[n:])
	d := decoder{b: rest[:n]}
	m.ClusterID = d.u64()
	m.Index = raftpb.Index(d.u64())
	m.Term = raftpb.Term(d.u64())
	m.Revision = int64(d.u64())
	m.CompactRevision = int64(d.u64())
	lists := []*[]raftpb.NodeID{&m.ConfState.Voters, &m.ConfState.Learners, &m.ConfState.VotersOutgoing, &m.ConfState.LearnersNext}
	for _, l := range lists {
		cnt := d.u32()
		if cnt > maxNodes {
			return m, fmt.Errorf("%w: membership list of %d nodes", ErrCorrupt, cnt)
		}
		for i := uint32(0); i < cnt; i++ {
			*l = append(*l, raftpb.NodeID(d.u64()))
		}
	}
	m.ConfState.AutoLeave = d.u8() == 1
	if n := d.u32(); n > maxHeader {
		return m, fmt.Errorf("%w: members blob of %d bytes", ErrCorrupt, n)
	} else if n > 0 {
		m.Members = append([]byte(nil), d.take(int(n))...)
	}
	if d.err != nil || len(d.b) != 0 {
		return m, fmt.Errorf("%w: header body of %d bytes does not parse", ErrCorrupt, n)
	}
	if m.Revision < 1 || m.CompactRevision < 0 || m.CompactRevision > m.Revision {
		return m, fmt.Errorf("%w: header revision %d, compact revision %d", ErrCorrupt, m.Revision, m.CompactRevision)
	}
	return m, nil
}

// decoder reads fixed-width little-endian fields, remembering the first
// short read instead of panicking.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil || len(d.b) < n {
		d.err = io.ErrUnexpectedEOF
		return make([]byte, n)
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) u8() uint8   { return d.take(1)[0] }
func (d *decoder) u32() uint32 { return binary.LittleEndian.Uint32(d.take(4)) }
func (d *decoder) u64() uint64 { return binary.LittleEndian.Uint64(d.take(8)) }

func eofIsCorrupt(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
