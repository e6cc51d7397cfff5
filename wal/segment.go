package wal

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// This file knows tidwall/wal v1.2.1's on-disk layout, which the library
// does not export: a directory of segment files named by the (1-based)
// library index of their first record as 20 decimal digits, each a sequence
// of records `uvarint(len) || data` in the library's Binary format. During a
// truncation the library also writes `<name>.START` / `<name>.END` files
// (completed and fsynced before they are renamed into place) which its Open
// resolves.

// segName is the library's file name for a segment starting at lib index i.
func segName(i uint64) string { return fmt.Sprintf("%020d", i) }

// segmentFile is one plain (not .START/.END) segment file.
type segmentFile struct {
	name  string // base name, 20 digits
	path  string // dir + name
	first uint64 // library index of its first record
}

// listSegments returns the plain segment files of dir sorted by first
// index, and whether a .START or .END file (an interrupted truncation) is
// present. It applies the same name filter as the library's load.
func listSegments(dir string) (segs []segmentFile, pending bool, err error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, false, err
	}
	for _, de := range des {
		name := de.Name()
		if de.IsDir() || len(name) < 20 {
			continue
		}
		idx, perr := strconv.ParseUint(name[:20], 10, 64)
		if perr != nil || idx == 0 {
			continue
		}
		switch {
		case len(name) == 20:
			segs = append(segs, segmentFile{name: name, path: filepath.Join(dir, name), first: idx})
		case len(name) == 26 && strings.HasSuffix(name, ".START"),
			len(name) == 24 && strings.HasSuffix(name, ".END"):
			pending = true
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	return segs, pending, nil
}

// removeTemps deletes the library's leftover temporary files
// (<name>.START.TEMP, <name>.END.TEMP): a crash inside its atomic write left
// them before their rename, so they hold nothing the log needs. It returns
// how many it removed.
func removeTemps(dir string) (int, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, de := range des {
		name := de.Name()
		if len(name) < 20 || de.IsDir() {
			continue
		}
		if _, err := strconv.ParseUint(name[:20], 10, 64); err != nil {
			continue
		}
		if rest := name[20:]; rest == ".START.TEMP" || rest == ".END.TEMP" {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// libRecord locates the library record starting at off in data: its frame
// bytes are data[start:end]. ok is false if the record is incomplete (a
// truncated length varint or fewer bytes than the length says).
func libRecord(data []byte, off int) (start, end int, ok bool) {
	size, n := binary.Uvarint(data[off:])
	if n <= 0 {
		return 0, 0, false
	}
	start = off + n
	if size > uint64(len(data)-start) {
		return 0, 0, false
	}
	return start, start + int(size), true
}

// libRecordSize is the number of bytes the library uses to store a record
// of n data bytes.
func libRecordSize(n int) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], uint64(n)) + n
}

// scanVisit receives each valid frame of a segment with its byte offset
// (of the library record) and its library index.
type scanVisit func(f Frame, off int64, libIndex uint64) error

// badRecord describes the first record of a segment that is not a valid
// frame.
type badRecord struct {
	off    int64 // byte offset of the library record
	reason string
}

// scanSegment decodes every record of data (the content of segment seg),
// calling visit for each valid frame in order. It stops at the first record
// that is incomplete or does not decode, returning it as bad (nil if the
// whole segment is valid), and the number of valid records before it.
// An error from visit is returned as is.
func scanSegment(seg segmentFile, data []byte, visit scanVisit) (count uint64, bad *badRecord, err error) {
	off := 0
	for off < len(data) {
		start, end, ok := libRecord(data, off)
		if !ok {
			return count, &badRecord{off: int64(off), reason: "incomplete record"}, nil
		}
		f, derr := DecodeFrame(data[start:end])
		if derr != nil {
			return count, &badRecord{off: int64(off), reason: derr.Error()}, nil
		}
		if err := visit(f, int64(off), seg.first+count); err != nil {
			return count, nil, err
		}
		count++
		off = end
	}
	return count, nil, nil
}

// validFrameAfter reports the offset of the first position after from at
// which a complete, CRC-valid frame starts (library framing included), or
// -1. It tries every byte offset, so a corrupted length varint cannot hide
// valid records behind it: if anything valid follows a bad record, the bad
// record is not a torn tail but corruption.
func validFrameAfter(data []byte, from int64) int64 {
	for y := int(from) + 1; y < len(data); y++ {
		start, end, ok := libRecord(data, y)
		if !ok || end-start < FrameHeaderSize {
			continue
		}
		if _, err := DecodeFrame(data[start:end]); err == nil {
			return int64(y)
		}
	}
	return -1
}

// corruptAt builds the error for corruption at a byte offset of a segment.
func corruptAt(path string, off int64, format string, args ...any) error {
	return fmt.Errorf("%w: segment %s at byte offset %d: %s", ErrCorrupt, path, off, fmt.Sprintf(format, args...))
}

// truncateAndSync cuts the file at path to size bytes and fsyncs it, so the
// repair itself is durable before anything is appended after it.
func truncateAndSync(path string, size int64, hook func(string) error) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return err
	}
	if hook != nil {
		if err := hook(path); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// syncDir fsyncs the directory dir so that file creations, renames and
// removals in it are durable.
func syncDir(dir string, hook func(string) error) error {
	if hook != nil {
		if err := hook(dir); err != nil {
			return err
		}
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return err
	}
	return d.Close()
}
