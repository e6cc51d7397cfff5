package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/shelf-kv/shelf/client"
	"github.com/spf13/pflag"
)

// etcdctl's txn text syntax (etcdctl/README.md, "TXN"):
//
//	<compare>*      one per line, e.g.  mod("key1") > "0"
//	<blank line>
//	<success op>*   one per line: put k v | get k [flags] | del k [flags]
//	<blank line>
//	<failure op>*
//	<blank line>
//
// A compare is target("key") op "value": target is version (ver),
// create (c), mod (m), value (val) or lease; op is =, !=, > or <; the value
// is a quoted string, read as a decimal number for version/create/mod and
// as a hexadecimal lease ID for lease. Keys and values in op lines may be
// double- or single-quoted to hold spaces.

// txnSpec is a parsed txn: the compares and the two branches. Ops are
// kept as text too, so a test can check what was parsed.
type txnSpec struct {
	cmps      []client.Cmp
	cmpText   []string // normalized: target("key") op "value", target's long name
	then, els []client.Op
	thenText  []string // normalized: kind key [value], flags as given
	elsText   []string
}

// parseTxn reads a whole txn from r. etcdctl difference: the input may end
// (EOF) instead of with the last blank line; etcdctl fails with "EOF".
func parseTxn(r io.Reader) (*txnSpec, error) {
	br := bufio.NewReader(r)
	spec := &txnSpec{}
	lines, err := readSection(br)
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		c, text, err := parseCompare(l)
		if err != nil {
			return nil, err
		}
		spec.cmps = append(spec.cmps, c)
		spec.cmpText = append(spec.cmpText, text)
	}
	for _, br2 := range []struct {
		ops  *[]client.Op
		text *[]string
	}{{&spec.then, &spec.thenText}, {&spec.els, &spec.elsText}} {
		lines, err := readSection(br)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			op, text, err := parseOpLine(l)
			if err != nil {
				return nil, err
			}
			*br2.ops = append(*br2.ops, op)
			*br2.text = append(*br2.text, text)
		}
	}
	return spec, nil
}

// readSection reads trimmed lines up to a blank line or the end of input.
func readSection(br *bufio.Reader) ([]string, error) {
	var out []string
	for {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, withCode(exitInvalidInput, err)
		}
		t := strings.TrimSpace(line)
		if t == "" {
			return out, nil
		}
		out = append(out, t)
		if err != nil { // EOF after a last line without newline
			return out, nil
		}
	}
}

// parseCompare parses one compare line, with etcdctl's messages.
func parseCompare(line string) (client.Cmp, string, error) {
	bad := func(format string, a ...any) (client.Cmp, string, error) {
		return client.Cmp{}, "", withCode(exitInvalidInput, fmt.Errorf(format, a...))
	}
	target, rest, ok := strings.Cut(line, "(")
	if !ok {
		return bad("malformed comparison: %s", line)
	}
	target = strings.TrimSpace(target)
	key, rest, err := unquotePrefix(strings.TrimSpace(rest))
	if err != nil {
		return bad("malformed comparison: %s (key: %v)", line, err)
	}
	rest, ok = strings.CutPrefix(strings.TrimSpace(rest), ")")
	if !ok {
		return bad("malformed comparison: %s (want ) after the key)", line)
	}
	fields := strings.Fields(rest)
	if len(fields) < 2 {
		return bad("malformed comparison: %s (want an operator and a quoted value)", line)
	}
	op := fields[0]
	switch op {
	case "=", "!=", ">", "<":
	default:
		return bad("malformed comparison: %s (unknown operator %s; want =, !=, > or <)", line, op)
	}
	valText := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), op))
	val, tail, err := unquotePrefix(valText)
	if err != nil {
		return bad("malformed comparison: %s (value: %v)", line, err)
	}
	if strings.TrimSpace(tail) != "" {
		return bad("malformed comparison: %s (unexpected %q after the value)", line, strings.TrimSpace(tail))
	}
	num := func(base int) (int64, error) {
		n, err := strconv.ParseInt(val, base, 64)
		if err != nil {
			return 0, withCode(exitInvalidInput, fmt.Errorf("invalid txn compare request: %s", line))
		}
		return n, nil
	}
	var cmp client.Cmp
	var long string
	switch target {
	case "ver", "version":
		long, cmp = "version", client.Version(key)
	case "c", "create":
		long, cmp = "create", client.CreateRevision(key)
	case "m", "mod":
		long, cmp = "mod", client.ModRevision(key)
	case "val", "value":
		long, cmp = "value", client.Value(key)
	case "lease":
		long, cmp = "lease", client.LeaseValue(key)
	default:
		return bad("malformed comparison: %s (unknown target %s)", line, target)
	}
	text := fmt.Sprintf("%s(%q) %s %q", long, key, op, val)
	switch long {
	case "value":
		return client.Compare(cmp, op, val), text, nil
	case "lease":
		n, err := num(16)
		if err != nil {
			return client.Cmp{}, "", err
		}
		return client.Compare(cmp, op, n), text, nil
	default:
		n, err := num(10)
		if err != nil {
			return client.Cmp{}, "", err
		}
		return client.Compare(cmp, op, n), text, nil
	}
}

// unquotePrefix reads a Go double-quoted string at the start of s and
// returns it and what follows.
func unquotePrefix(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, errors.New("want a double-quoted string")
	}
	prefix, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", s, errors.New("unterminated or invalid quoted string")
	}
	v, _ := strconv.Unquote(prefix)
	return v, s[len(prefix):], nil
}

// argify splits an op line as etcdctl's Argify: on white space, with
// "double-quoted" (Go escapes) and 'single-quoted' (literal) words.
func argify(line string) ([]string, error) {
	var out []string
	s := strings.TrimSpace(line)
	for s != "" {
		switch s[0] {
		case '"':
			p, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, fmt.Errorf("unterminated quoted string in %q", line)
			}
			v, _ := strconv.Unquote(p)
			out = append(out, v)
			s = s[len(p):]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quoted string in %q", line)
			}
			out = append(out, s[1:1+end])
			s = s[2+end:]
		default:
			end := strings.IndexAny(s, " \t")
			if end < 0 {
				end = len(s)
			}
			out = append(out, s[:end])
			s = s[end:]
		}
		s = strings.TrimLeft(s, " \t")
	}
	return out, nil
}

// parseOpLine parses "put k v [flags]", "get k [end] [flags]" or
// "del k [end] [flags]" with the flags of the put, get and del commands.
func parseOpLine(line string) (client.Op, string, error) {
	bad := func(err error) (client.Op, string, error) {
		return client.Op{}, "", withCode(exitInvalidInput, fmt.Errorf("invalid txn request: %s (%v)", line, err))
	}
	args, err := argify(line)
	if err != nil {
		return bad(err)
	}
	if len(args) < 2 {
		return client.Op{}, "", withCode(exitInvalidInput, fmt.Errorf("invalid txn compare request: %s", line))
	}
	fs := pflag.NewFlagSet(args[0], pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var op client.Op
	var build func() error
	switch args[0] {
	case "put":
		var f putFlags
		f.register(fs)
		build = func() error {
			k, v, opts, err := f.op(fs.Args(), nil)
			op = client.OpPut(k, v, opts...)
			return err
		}
	case "get":
		var f getFlags
		f.register(fs)
		build = func() error {
			k, opts, err := f.op(fs.Args())
			op = client.OpGet(k, opts...)
			return err
		}
	case "del":
		var f delFlags
		f.register(fs)
		build = func() error {
			k, opts, err := f.op(fs.Args())
			op = client.OpDelete(k, opts...)
			return err
		}
	default:
		return bad(fmt.Errorf("unknown operation %q; want put, get or del", args[0]))
	}
	if err := fs.Parse(args[1:]); err != nil {
		return bad(err)
	}
	if err := build(); err != nil {
		return bad(err)
	}
	text := args[0]
	for _, a := range args[1:] {
		text += " " + strconv.Quote(a)
	}
	return op, text, nil
}
