package snapshot

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/shelf-kv/shelf/mvcc"
)

// Record kinds inside the zstd stream. Never renumber.
const (
	kindLease  byte = 1
	kindKeyRev byte = 2
)

// maxField bounds one key or value a reader accepts, so a corrupt length
// cannot make it allocate without limit. It is far above any request size a
// member accepts (--max-request-bytes).
const maxField = 256 << 20

func appendLease(b []byte, l mvcc.LeaseRecord) []byte {
	b = append(b, kindLease)
	b = binary.AppendVarint(b, l.ID)
	return binary.AppendVarint(b, l.TTL)
}

func appendKeyRev(b []byte, kr mvcc.KeyRevision) []byte {
	b = append(b, kindKeyRev)
	b = binary.AppendUvarint(b, uint64(len(kr.Key)))
	b = append(b, kr.Key...)
	b = binary.AppendVarint(b, kr.Main)
	b = binary.AppendVarint(b, kr.Sub)
	var flags byte
	if kr.Tombstone {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, kr.CreateRevision)
	b = binary.AppendVarint(b, kr.Version)
	b = binary.AppendVarint(b, kr.Lease)
	b = binary.AppendUvarint(b, uint64(len(kr.Value)))
	return append(b, kr.Value...)
}

// recordReader decodes records from the decompressed stream. Every error it
// returns wraps ErrCorrupt.
type recordReader struct {
	r *bufio.Reader
}

// next returns the next record's kind, filling l or kr; io.EOF at a clean
// end of stream.
func (rr *recordReader) next(l *mvcc.LeaseRecord, kr *mvcc.KeyRevision) (byte, error) {
	kind, err := rr.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		return 0, corrupt(err)
	}
	switch kind {
	case kindLease:
		l.ID = rr.varint(&err)
		l.TTL = rr.varint(&err)
	case kindKeyRev:
		kr.Key = rr.bytes(&err)
		kr.Main = rr.varint(&err)
		kr.Sub = rr.varint(&err)
		flags := rr.byte(&err)
		kr.Tombstone = flags&1 != 0
		if flags&^1 != 0 && err == nil {
			err = fmt.Errorf("unknown flags %#x", flags)
		}
		kr.CreateRevision = rr.varint(&err)
		kr.Version = rr.varint(&err)
		kr.Lease = rr.varint(&err)
		kr.Value = rr.bytes(&err)
	default:
		return 0, fmt.Errorf("%w: unknown record kind %d", ErrCorrupt, kind)
	}
	if err != nil {
		return 0, corrupt(err)
	}
	return kind, nil
}

func corrupt(err error) error {
	if errors.Is(err, ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w: record stream: %v", ErrCorrupt, eofIsCorrupt(err))
}

func (rr *recordReader) varint(err *error) int64 {
	if *err != nil {
		return 0
	}
	v, e := binary.ReadVarint(rr.r)
	*err = e
	return v
}

func (rr *recordReader) byte(err *error) byte {
	if *err != nil {
		return 0
	}
	b, e := rr.r.ReadByte()
	*err = e
	return b
}

func (rr *recordReader) bytes(err *error) []byte {
	if *err != nil {
		return nil
	}
	n, e := binary.ReadUvarint(rr.r)
	if e != nil {
		*err = e
		return nil
	}
	if n > maxField {
		*err = fmt.Errorf("field length %d exceeds %d", n, maxField)
		return nil
	}
	out := make([]byte, n)
	_, *err = io.ReadFull(rr.r, out)
	return out
}
