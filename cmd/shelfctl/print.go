package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/shelf-kv/shelf/client"
)

// Output. Simple output is etcdctl's printer_simple.go; JSON output is
// what etcdctl's printer_json.go writes, which is encoding/json applied to
// etcd's protobuf structs: snake_case (or the .proto's camelCase) names,
// omitempty everywhere, int64/uint64 as JSON numbers, bytes as base64.
// The j* types below reproduce those structs field for field.

// jHeader is etcd's ResponseHeader as encoding/json writes it.
type jHeader struct {
	ClusterID uint64 `json:"cluster_id,omitempty"`
	MemberID  uint64 `json:"member_id,omitempty"`
	Revision  int64  `json:"revision,omitempty"`
	RaftTerm  uint64 `json:"raft_term,omitempty"`
}

func hdr(h client.Header) *jHeader {
	return &jHeader{ClusterID: h.ClusterID, MemberID: h.MemberID, Revision: h.Revision, RaftTerm: h.RaftTerm}
}

// hdrOrNil is nil for a zero header, which etcd leaves out.
func hdrOrNil(h client.Header) *jHeader {
	if h == (client.Header{}) {
		return nil
	}
	return hdr(h)
}

// jKV is mvccpb.KeyValue.
type jKV struct {
	Key            []byte `json:"key,omitempty"`
	CreateRevision int64  `json:"create_revision,omitempty"`
	ModRevision    int64  `json:"mod_revision,omitempty"`
	Version        int64  `json:"version,omitempty"`
	Value          []byte `json:"value,omitempty"`
	Lease          int64  `json:"lease,omitempty"`
}

func jkv(kv *client.KeyValue) *jKV {
	if kv == nil {
		return nil
	}
	return &jKV{Key: kv.Key, CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision,
		Version: kv.Version, Value: kv.Value, Lease: kv.Lease}
}

func jkvs(kvs []*client.KeyValue) []*jKV {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]*jKV, len(kvs))
	for i, kv := range kvs {
		out[i] = jkv(kv)
	}
	return out
}

// jRange is RangeResponse.
type jRange struct {
	Header *jHeader `json:"header,omitempty"`
	Kvs    []*jKV   `json:"kvs,omitempty"`
	More   bool     `json:"more,omitempty"`
	Count  int64    `json:"count,omitempty"`
}

func jrange(r *client.GetResponse) *jRange {
	return &jRange{Header: hdrOrNil(r.Header), Kvs: jkvs(r.Kvs), More: r.More, Count: r.Count}
}

// jPut is PutResponse.
type jPut struct {
	Header *jHeader `json:"header,omitempty"`
	PrevKv *jKV     `json:"prev_kv,omitempty"`
}

func jput(r *client.PutResponse) *jPut {
	return &jPut{Header: hdrOrNil(r.Header), PrevKv: jkv(r.PrevKv)}
}

// jDelete is DeleteRangeResponse.
type jDelete struct {
	Header  *jHeader `json:"header,omitempty"`
	Deleted int64    `json:"deleted,omitempty"`
	PrevKvs []*jKV   `json:"prev_kvs,omitempty"`
}

func jdel(r *client.DeleteResponse) *jDelete {
	return &jDelete{Header: hdrOrNil(r.Header), Deleted: r.Deleted, PrevKvs: jkvs(r.PrevKvs)}
}

// printJSON writes v as one line of JSON.
func (a *app) printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.stdout, string(b))
	return err
}

// printKV is etcdctl's printKV: the key (unless valueOnly), then the value,
// each on its own line, as raw bytes.
func printKV(w io.Writer, valueOnly bool, kv *client.KeyValue) {
	if !valueOnly {
		fmt.Fprintln(w, string(kv.Key))
	}
	fmt.Fprintln(w, string(kv.Value))
}

// humanBytes is go-humanize's Bytes, which etcdctl uses for DB SIZE:
// SI units (1000), one decimal below 10 ("20 kB", "1.5 MB", "9 B").
func humanBytes(n uint64) string {
	if n < 10 {
		return fmt.Sprintf("%d B", n)
	}
	sizes := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	e := math.Floor(math.Log(float64(n)) / math.Log(1000))
	suffix := sizes[int(e)]
	val := math.Floor(float64(n)/math.Pow(1000, e)*10+0.5) / 10
	f := "%.0f %s"
	if val < 10 {
		f = "%.1f %s"
	}
	return fmt.Sprintf(f, val, suffix)
}

// renderTable writes rows as etcdctl's tables (olekukonko/tablewriter with
// ALIGN_RIGHT): a ruled box, centred upper-case headers, cells aligned
// right with one space of padding.
func renderTable(w io.Writer, header []string, rows [][]string) {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	var rule strings.Builder
	rule.WriteString("+")
	for _, wd := range widths {
		rule.WriteString(strings.Repeat("-", wd+2) + "+")
	}
	line := func(cells []string, cell func(s string, wd int) string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cells {
			b.WriteString(" " + cell(c, widths[i]) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	fmt.Fprintln(w, rule.String())
	line(header, func(s string, wd int) string {
		gap := wd - len(s)
		return strings.Repeat(" ", gap/2) + strings.ToUpper(s) + strings.Repeat(" ", gap-gap/2)
	})
	fmt.Fprintln(w, rule.String())
	for _, r := range rows {
		line(r, func(s string, wd int) string { return strings.Repeat(" ", wd-len(s)) + s })
	}
	fmt.Fprintln(w, rule.String())
}
