// Package transport carries raft messages between the members of a shelf
// cluster over long-lived TCP connections (optionally mutual TLS).
//
// # Contract with the raft loop
//
// The server's raft loop creates one Transport (New), adds every other
// member (AddPeer), hands the transport the peer listener (Serve, on its
// own goroutine), and passes each Ready's messages to Send after the
// Ready's entries and hard state are durable. Received messages arrive on
// Handler.Process; losses are reported with Handler.ReportUnreachable and
// snapshot outcomes with Handler.ReportSnapshot. Send never blocks: each
// peer has two bounded queues, and a message that does not fit is dropped
// and reported (raft retries). Stop closes everything and returns once
// every goroutine has ended.
//
// # Streams
//
// Member A keeps two outbound connections to each peer B, and B keeps two
// to A (one long-lived connection per pair, direction and stream):
//
//   - the app stream carries MsgApp only: large, pipelined appends;
//   - the msg stream carries every other message (heartbeats, votes,
//     responses, ReadIndex) and ping/pong frames that measure the RTT.
//
// So a heartbeat never waits behind a multi-megabyte append on the same
// socket. Within one connection messages are delivered in send order,
// without gaps; across streams there is no order, and across a reconnect
// messages may be lost (raft tolerates both and retries). Each snapshot
// uses a connection of its own, closed when the transfer ends. A new
// connection for a stream closes the peer's previous one for that stream.
//
// A writer that loses its connection redials with a jittered exponential
// backoff (BackoffMin doubling to BackoffMax, each delay uniform in
// [d/2, d], from a seeded source), and drops what was queued meanwhile.
//
// # Handshake
//
// The dialling member writes, right after connecting (and after TLS):
//
//	0      4         5      6              14          22          30
//	+------+---------+------+--------------+-----------+-----------+
//	| SHLF | version | kind | cluster id   | from id   | to id     |
//	|  4B  |   1B    |  1B  | 8B big endian| 8B BE     | 8B BE     |
//	+------+---------+------+--------------+-----------+-----------+
//
// version is 1; kind is 1 (app), 2 (msg) or 3 (snapshot). The accepter
// answers with a status byte (0 = accepted; 1 bad handshake, 2 other
// cluster, 3 addressed to another member id, 4 unknown member, 5 shutting
// down), a reason length byte, and that many bytes of reason text. It
// refuses, logs why and closes on anything but 0. Frames follow.
//
// # Frames
//
// Everything after the handshake is a sequence of frames:
//
//	0                 4        5                 9
//	+-----------------+--------+-----------------+----------------------+
//	| payload length  |  type  | CRC32C          | payload              |
//	| 4B big endian   |   1B   | 4B big endian   | length bytes         |
//	+-----------------+--------+-----------------+----------------------+
//
// The CRC32C (Castagnoli) covers the type byte followed by the payload. A
// length above MaxFrameSize (64 MiB by default) is refused before any
// payload is read, and the connection is closed. Types:
//
//	1 Message     a raftpb.Message in its (*Message).Marshal encoding
//	2 Ping        8 bytes: sender's clock, ns since its Transport started
//	3 Pong        the Ping's 8 bytes echoed back, on the same connection
//	4 SnapHeader  uvarint body size, then the MsgSnap's Marshal encoding
//	5 SnapChunk   the next bytes of the snapshot body
//	6 SnapEnd     empty: the body is complete
//	7 SnapResult  status byte (0 = applied) then a reason, receiver->sender
//
// A snapshot stream is SnapHeader, SnapChunk*, SnapEnd from the sender,
// then one SnapResult from the receiver. The receiver hands the body to
// its SnapshotHandler as an io.Reader that pulls chunks off the socket on
// demand, so memory on both sides stays bounded by a chunk plus socket
// buffers, and a slow receiver slows the sender through TCP flow control.
//
// # Metrics
//
// etcd_network_peer_round_trip_time_seconds{To}, and the counters
// etcd_network_peer_sent_bytes_total{To}, etcd_network_peer_received_bytes_total{From},
// etcd_network_peer_sent_failures_total{To} and
// etcd_network_peer_received_failures_total{From}; peer ids are hex.
package transport
