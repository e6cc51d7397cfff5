package snapshot

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"

	"github.com/klauspost/compress/zstd"
	"github.com/shelf-kv/shelf/mvcc"
)

// Options tune reading and writing. The zero value is ready to use.
type Options struct {
	// Logger receives one line per finished save or load. Default: discard.
	Logger *slog.Logger
	// Progress, when set, is called every ProgressEvery records and once
	// more with Done set when the operation finishes. It runs on the
	// caller's goroutine and must not block for long.
	Progress func(Progress)
	// ProgressEvery is how many records pass between Progress calls.
	// Default 100,000.
	ProgressEvery int64
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 100_000
	}
	return o
}

// Progress reports how far a save or load has come.
type Progress struct {
	// Records is the number of records (leases and key revisions) handled.
	Records int64
	// Total is the number of records expected, when known (0 otherwise).
	Total int64
	// Bytes is the number of file bytes written or read so far.
	Bytes int64
	Done  bool
}

// Stats describes a finished save or load.
type Stats struct {
	// Records is the number of leases plus key revisions in the file.
	Records int64
	// FileBytes is the size of the file (compressed).
	FileBytes int64
	// RawBytes is the size of the record stream before compression.
	RawBytes int64
}

// Write writes a snapshot of v to w. The raft position and revisions in
// the file come from v (Index is v's applied index); m supplies the
// cluster id, the term of that index and the membership, and any Index or
// revision set in m must agree with v. Write does not sync: Save does. An
// error leaves w holding a partial file that no reader accepts.
func Write(w io.Writer, m Meta, v *mvcc.View, opts Options) (Meta, Stats, error) {
	opts = opts.withDefaults()
	h := v.Header()
	if (m.Index != 0 && m.Index != h.AppliedIndex) || (m.Revision != 0 && m.Revision != h.Revision) {
		return m, Stats{}, fmt.Errorf("snapshot: meta index %d / revision %d disagree with the view's %d / %d",
			m.Index, m.Revision, h.AppliedIndex, h.Revision)
	}
	m.Index, m.Revision, m.CompactRevision = h.AppliedIndex, h.Revision, h.CompactRevision

	sum := crc32.New(castagnoli)
	hdr := encodeHeader(m)
	sum.Write(hdr)
	if _, err := w.Write(hdr); err != nil {
		return m, Stats{}, fmt.Errorf("snapshot: write header: %w", err)
	}
	cw := &chunkWriter{w: w, sum: sum, n: int64(len(hdr))}
	zw, err := zstd.NewWriter(cw, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return m, Stats{}, fmt.Errorf("snapshot: zstd: %w", err)
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	var st Stats
	var buf []byte
	emit := func(b []byte) error {
		st.Records++
		st.RawBytes += int64(len(b))
		if _, err := bw.Write(b); err != nil {
			return err
		}
		if opts.Progress != nil && st.Records%opts.ProgressEvery == 0 {
			opts.Progress(Progress{Records: st.Records, Bytes: cw.n})
		}
		return nil
	}
	for _, l := range v.Leases() {
		if err := emit(appendLease(buf[:0], l)); err != nil {
			return m, st, fmt.Errorf("snapshot: write: %w", err)
		}
	}
	err = v.ForEach(func(kr mvcc.KeyRevision) error {
		buf = appendKeyRev(buf[:0], kr)
		return emit(buf)
	})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = cw.finish()
	}
	if err != nil {
		return m, st, fmt.Errorf("snapshot: write: %w", err)
	}
	trailer := binary.LittleEndian.AppendUint64(nil, uint64(st.Records))
	sum.Write(trailer)
	trailer = binary.LittleEndian.AppendUint32(trailer, sum.Sum32())
	trailer = append(trailer, EndMagic...)
	if _, err := w.Write(trailer); err != nil {
		return m, st, fmt.Errorf("snapshot: write trailer: %w", err)
	}
	st.FileBytes = cw.n + int64(len(trailer))
	if opts.Progress != nil {
		opts.Progress(Progress{Records: st.Records, Total: st.Records, Bytes: st.FileBytes, Done: true})
	}
	return m, st, nil
}
