// Package snapshot reads and writes shelf's snapshot files: a point-in-time
// image of one member's mvcc store plus the raft position and membership it
// corresponds to. A member writes one every --snapshot-count applied entries
// (so the WAL before it can be cut), sends one to a follower that is too far
// behind, and loads the newest valid one on restart.
//
// # File format (version 1)
//
// All integers in the fixed parts are little-endian. Never change the meaning
// of a field of version 1; a change of layout is a new version number.
//
//	+----------+---------+----------+-----------+--------------------+----------+
//	| magic    | version | reserved | hdrLen    | header body        | hdrCRC   |
//	| 8 bytes  | uint16  | uint16   | uint32    | hdrLen bytes       | uint32   |
//	| SHELFSNP | 1       | 0        |           | (see below)        | CRC32C   |
//	+----------+---------+----------+-----------+--------------------+----------+
//	| chunk: uint32 n (1 <= n <= MaxChunk), then n bytes of the zstd stream      |
//	| ... more chunks ...                                                        |
//	| uint32 0 (end of chunks)                                                   |
//	+------------------+-------------------+-------------------------------------+
//	| records uint64   | fileCRC uint32    | end magic "SHELFEND" (8 bytes)      |
//	+------------------+-------------------+-------------------------------------+
//
// hdrCRC is the CRC32C (Castagnoli) of every byte before it. fileCRC is the
// CRC32C of every byte of the file before it (header, chunk lengths, chunk
// bytes, the zero terminator and the record count), so any bit flip anywhere
// is detected. The header body is:
//
//	clusterID uint64, raftIndex uint64, raftTerm uint64,
//	revision int64, compactRevision int64,
//	then four node-id lists (voters, learners, votersOutgoing, learnersNext),
//	each a uint32 count followed by that many uint64 ids, then autoLeave uint8,
//	then members: a uint32 length and that many bytes (opaque: the server's
//	encoding of member names and URLs).
//
// The zstd stream (github.com/klauspost/compress/zstd) holds records, each a
// kind byte followed by varint fields (encoding/binary's Varint/Uvarint):
//
//	kindLease (1):  id varint, ttl varint
//	kindKeyRev (2): key uvarint-length-prefixed, main varint, sub varint,
//	                flags uint8 (bit 0: tombstone), create varint,
//	                version varint, lease varint, value uvarint-length-prefixed
//
// Leases come first, then key revisions in the order mvcc.View.ForEach
// yields them (keys ascending, then revisions ascending), which is the order
// mvcc.Restorer requires.
//
// Chunking the compressed stream lets a reader find the end of the stream
// and check the trailer without trusting the decompressor to stop at the
// right byte, and bounds how much a corrupt length can make it allocate.
//
// # Durability and trust
//
// Save writes to a temporary file in the target directory, fsyncs it,
// renames it to its final name (%016x-%016x.snap: raft term, raft index, so
// names sort by position), and fsyncs the directory. A reader verifies the
// header checksum before trusting any field and the file checksum before it
// returns a store: a corrupt or truncated snapshot is an error naming the
// file and what was wrong, never a partial load.
package snapshot
