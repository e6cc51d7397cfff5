package transport

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// frameType is the byte after a frame's length. Values are written on the
// wire: never renumber, only append (and bump protocolVersion if an old
// member could misread the new type).
type frameType uint8

const (
	// frameMessage carries one raftpb.Message encoded by (*Message).Marshal.
	frameMessage frameType = 1
	// framePing carries 8 opaque bytes; the receiver echoes them in a framePong.
	framePing frameType = 2
	// framePong echoes a framePing's payload back on the same connection.
	framePong frameType = 3
	// frameSnapHeader opens a snapshot stream: uvarint body size, then the
	// MsgSnap encoded by (*Message).Marshal.
	frameSnapHeader frameType = 4
	// frameSnapChunk carries the next bytes of the snapshot body.
	frameSnapChunk frameType = 5
	// frameSnapEnd closes the snapshot body; its payload is empty.
	frameSnapEnd frameType = 6
	// frameSnapResult is the receiver's verdict: status byte (0 = applied),
	// then a UTF-8 reason.
	frameSnapResult frameType = 7

	// frameTypeEnd is one past the highest valid frame type.
	frameTypeEnd = 8
)

func (t frameType) String() string {
	names := [...]string{"", "Message", "Ping", "Pong", "SnapHeader", "SnapChunk", "SnapEnd", "SnapResult"}
	if t > 0 && t < frameTypeEnd {
		return names[t]
	}
	return fmt.Sprintf("frameType(%d)", uint8(t))
}

// frameHeaderSize is the fixed prefix of every frame: 4 bytes length (of the
// payload, big endian), 1 byte type, 4 bytes CRC32C (big endian) of the type
// byte followed by the payload. See doc.go. Never change.
const frameHeaderSize = 9

// castagnoli is the CRC32C table; a read-only value computed once.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameCRC returns the checksum stored in a frame of type t and payload p.
func frameCRC(t frameType, p []byte) uint32 {
	c := crc32.Update(0, castagnoli, []byte{byte(t)})
	return crc32.Update(c, castagnoli, p)
}

// appendFrameHeader appends the header of a frame of type t with payload p.
func appendFrameHeader(b []byte, t frameType, p []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	b = append(b, byte(t))
	return binary.BigEndian.AppendUint32(b, frameCRC(t, p))
}

// writeFrame writes one frame to w. The caller checks len(p) against the
// frame limit first (writeFrame does not know it); p must fit in 32 bits.
func writeFrame(w io.Writer, t frameType, p []byte) error {
	var hdr [frameHeaderSize]byte
	if _, err := w.Write(appendFrameHeader(hdr[:0], t, p)); err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	_, err := w.Write(p)
	return err
}

// frameReader decodes frames from a byte stream. It is not safe for
// concurrent use. The payload returned by next is only valid until the next
// call: the buffer is reused.
type frameReader struct {
	r *bufio.Reader
	// max is the largest payload accepted. Invariant: max > 0.
	max int
	buf []byte
}

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// readGrowStep bounds how much next allocates ahead of the bytes actually
// received, so a lying length field costs at most this much memory.
const readGrowStep = 1 << 20

// keepBufCap is the largest payload buffer a frameReader keeps between frames.
const keepBufCap = 4 << 20

// next reads one frame. It returns io.EOF only at a clean frame boundary;
// a stream that ends inside a frame gives an error wrapping ErrCorruptFrame
// and io.ErrUnexpectedEOF. A length above max wraps ErrFrameTooLarge, a bad
// checksum ErrChecksum, an unknown type ErrCorruptFrame. The returned n is
// the number of bytes the frame occupied on the wire.
func (fr *frameReader) next() (t frameType, payload []byte, n int, err error) {
	var hdr [frameHeaderSize]byte
	if _, err := io.ReadFull(fr.r, hdr[:]); err != nil {
		if err == io.EOF {
			return 0, nil, 0, io.EOF
		}
		return 0, nil, 0, fmt.Errorf("%w: reading frame header: %w", ErrCorruptFrame, err)
	}
	size := binary.BigEndian.Uint32(hdr[0:4])
	t = frameType(hdr[4])
	sum := binary.BigEndian.Uint32(hdr[5:9])
	if t == 0 || t >= frameTypeEnd {
		return 0, nil, 0, fmt.Errorf("%w: unknown frame type %d", ErrCorruptFrame, uint8(t))
	}
	if uint64(size) > uint64(fr.max) {
		return 0, nil, 0, fmt.Errorf("%w: %s frame of %d bytes exceeds the limit of %d bytes", ErrFrameTooLarge, t, size, fr.max)
	}
	if cap(fr.buf) > keepBufCap && int(size) <= keepBufCap {
		fr.buf = nil // do not pin one huge past frame's memory forever
	}
	fr.buf = fr.buf[:0]
	for len(fr.buf) < int(size) {
		step := min(int(size)-len(fr.buf), readGrowStep)
		fr.buf = slices.Grow(fr.buf, step)[:len(fr.buf)+step]
		if _, err := io.ReadFull(fr.r, fr.buf[len(fr.buf)-step:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, 0, fmt.Errorf("%w: reading %d-byte %s payload: %w", ErrCorruptFrame, size, t, err)
		}
	}
	if got := frameCRC(t, fr.buf); got != sum {
		return 0, nil, 0, fmt.Errorf("%w: %s frame of %d bytes has crc %#08x, header says %#08x", ErrChecksum, t, size, got, sum)
	}
	return t, fr.buf, frameHeaderSize + int(size), nil
}
