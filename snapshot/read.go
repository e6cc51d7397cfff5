package snapshot

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/shelf-kv/shelf/mvcc"
)

// maxWindow bounds the zstd window a reader accepts (the writer uses the
// library default of a few MiB), so a corrupt frame header cannot make a
// reader allocate without limit.
const maxWindow = 64 << 20

// Read reads a whole snapshot from r, verifies it and builds a store from
// it with cfg. The store is returned only when every checksum holds and
// every record is consistent; otherwise the error wraps ErrCorrupt (or
// ErrVersion) and says where the damage was, and nothing is built. The
// caller owns the returned store and must Close it.
func Read(r io.Reader, cfg mvcc.Config, opts Options) (*mvcc.Store, Meta, Stats, error) {
	opts = opts.withDefaults()
	sum := crc32.New(castagnoli)
	m, err := readHeader(r, sum)
	if err != nil {
		return nil, m, Stats{}, err
	}
	rs, err := mvcc.NewRestorer(cfg, mvcc.ViewHeader{Revision: m.Revision, CompactRevision: m.CompactRevision, AppliedIndex: m.Index})
	if err != nil {
		return nil, m, Stats{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	cr := &chunkReader{r: r, sum: sum, off: int64(len(encodeHeader(m)))}
	st, err := readRecords(cr, rs, opts)
	if err != nil {
		return nil, m, st, err
	}
	if err := readTrailer(r, sum, cr.off, st.Records); err != nil {
		return nil, m, st, err
	}
	st.FileBytes = cr.off + 20
	store, err := rs.Finish()
	if err != nil {
		return nil, m, st, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if opts.Progress != nil {
		opts.Progress(Progress{Records: st.Records, Total: st.Records, Bytes: st.FileBytes, Done: true})
	}
	return store, m, st, nil
}

// readRecords decompresses the chunked stream and feeds every record to rs.
func readRecords(cr *chunkReader, rs *mvcc.Restorer, opts Options) (Stats, error) {
	var st Stats
	zr, err := zstd.NewReader(cr, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxWindow))
	if err != nil {
		return st, fmt.Errorf("snapshot: zstd: %w", err)
	}
	defer zr.Close()
	counted := &countReader{r: zr}
	rr := recordReader{r: bufio.NewReaderSize(counted, 64<<10)}
	var l mvcc.LeaseRecord
	var kr mvcc.KeyRevision
	for {
		kind, err := rr.next(&l, &kr)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("%w (near file offset %d)", err, cr.off)
		}
		switch kind {
		case kindLease:
			err = rs.AddLease(l)
		case kindKeyRev:
			err = rs.AddKeyRevision(kr)
		}
		if err != nil {
			return st, fmt.Errorf("%w: record %d: %v", ErrCorrupt, st.Records, err)
		}
		st.Records++
		if opts.Progress != nil && st.Records%opts.ProgressEvery == 0 {
			opts.Progress(Progress{Records: st.Records, Bytes: cr.off})
		}
	}
	st.RawBytes = counted.n
	// The decompressor may stop at the end of its frame before it has
	// seen the chunk terminator; anything left there was never written by
	// a writer.
	if n, err := io.Copy(io.Discard, cr); err != nil {
		return st, err
	} else if n != 0 {
		return st, fmt.Errorf("%w: %d stray bytes after the compressed stream (offset %d)", ErrCorrupt, n, cr.off)
	}
	return st, nil
}

// readTrailer reads the record count, the file checksum and the end magic.
func readTrailer(r io.Reader, sum interface {
	Write([]byte) (int, error)
	Sum32() uint32
}, off int64, records int64) error {
	t := make([]byte, 20)
	if _, err := io.ReadFull(r, t); err != nil {
		return fmt.Errorf("%w: trailer at offset %d: %v", ErrCorrupt, off, eofIsCorrupt(err))
	}
	sum.Write(t[:8])
	if got, want := sum.Sum32(), binary.LittleEndian.Uint32(t[8:12]); got != want {
		return fmt.Errorf("%w: file checksum mismatch at offset %d (stored %08x, computed %08x)", ErrCorrupt, off+8, want, got)
	}
	if string(t[12:]) != EndMagic {
		return fmt.Errorf("%w: bad end magic at offset %d", ErrCorrupt, off+12)
	}
	if n := int64(binary.LittleEndian.Uint64(t[:8])); n != records {
		return fmt.Errorf("%w: trailer says %d records, stream held %d", ErrCorrupt, n, records)
	}
	var extra [1]byte
	if n, _ := io.ReadFull(r, extra[:]); n != 0 {
		return fmt.Errorf("%w: data after the end magic at offset %d", ErrCorrupt, off+20)
	}
	return nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
