package snapshot

import (
	"encoding/binary"
	"fmt"
	"hash"
	"io"
)

// chunkWriter frames the compressed stream into length-prefixed chunks of at
// most MaxChunk bytes, feeding every byte it writes into sum.
type chunkWriter struct {
	w   io.Writer
	sum hash.Hash32
	buf []byte
	n   int64 // bytes written to w
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	written := len(p)
	for len(p) > 0 {
		room := MaxChunk - len(c.buf)
		k := min(room, len(p))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		if len(c.buf) == MaxChunk {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return written, nil
}

func (c *chunkWriter) emit(b []byte) error {
	c.sum.Write(b)
	n, err := c.w.Write(b)
	c.n += int64(n)
	return err
}

// flush writes the buffered bytes as one chunk (nothing when empty).
func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	var l [4]byte
	binary.LittleEndian.PutUint32(l[:], uint32(len(c.buf)))
	if err := c.emit(l[:]); err != nil {
		return err
	}
	if err := c.emit(c.buf); err != nil {
		return err
	}
	c.buf = c.buf[:0]
	return nil
}

// finish flushes and writes the zero-length terminator.
func (c *chunkWriter) finish() error {
	if err := c.flush(); err != nil {
		return err
	}
	return c.emit([]byte{0, 0, 0, 0})
}

// chunkReader is the inverse of chunkWriter: it yields the chunks' payload
// and returns io.EOF at the terminator, feeding every byte into sum. off is
// the file offset of the next byte, for error messages.
type chunkReader struct {
	r    io.Reader
	sum  hash.Hash32
	left int // bytes left in the current chunk
	done bool
	off  int64
}

func (c *chunkReader) read(p []byte) error {
	n, err := io.ReadFull(c.r, p)
	c.sum.Write(p[:n])
	c.off += int64(n)
	if err != nil {
		return fmt.Errorf("%w: truncated at offset %d: %v", ErrCorrupt, c.off, eofIsCorrupt(err))
	}
	return nil
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	if c.left == 0 {
		var l [4]byte
		at := c.off
		if err := c.read(l[:]); err != nil {
			return 0, err
		}
		n := binary.LittleEndian.Uint32(l[:])
		if n == 0 {
			c.done = true
			return 0, io.EOF
		}
		if n > MaxChunk {
			return 0, fmt.Errorf("%w: chunk length %d at offset %d exceeds %d", ErrCorrupt, n, at, MaxChunk)
		}
		c.left = int(n)
	}
	k := min(len(p), c.left)
	if err := c.read(p[:k]); err != nil {
		return 0, err
	}
	c.left -= k
	return k, nil
}
