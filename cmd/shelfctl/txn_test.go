package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseTxn is the table test of the txn text parser: what each input
// parses to (normalized), and the error and exit code of each bad input.
func TestParseTxn(t *testing.T) {
	for _, c := range []struct {
		name, in        string
		cmps, then, els string // normalized parses, joined with "; "
		err             string
		code            int
	}{
		{name: "empty", in: "\n\n\n"},
		{name: "end of input is the end", in: ""},
		{name: "every target", in: `mod("k1") > "5"` + "\n" + `m("k1") < "7"` + "\n" + `value("k2") = "v"` + "\n" +
			`val("k2") != "w x"` + "\n" + `create("k3") = "0"` + "\n" + `c("k3") > "1"` + "\n" + `version("k4") = "1"` + "\n" +
			`ver("k4") != "2"` + "\n" + `lease("k5") = "694d77aa9a38590f"` + "\n\n\n\n",
			cmps: `mod("k1") > "5"; mod("k1") < "7"; value("k2") = "v"; value("k2") != "w x"; create("k3") = "0"; ` +
				`create("k3") > "1"; version("k4") = "1"; version("k4") != "2"; lease("k5") = "694d77aa9a38590f"`},
		{name: "ops with flags and quotes", in: "\nput k v\nput 'a b' \"c\\td\" --prev-kv\nget k --prefix --limit=2\nget a z\ndel k --prefix\n\nput k w --lease=1a\ndel x\n",
			then: `put "k" "v"; put "a b" "c\td" "--prev-kv"; get "k" "--prefix" "--limit=2"; get "a" "z"; del "k" "--prefix"`,
			els:  `put "k" "w" "--lease=1a"; del "x"`},
		{name: "spaces around", in: "  value(\"k\")   =   \"v\"  \n  \n  put  k   v  \n\n",
			cmps: `value("k") = "v"`, then: `put "k" "v"`},
		{name: "escaped key", in: `value("a\"b") = "\u00e9"` + "\n\n\n", cmps: `value("a\"b") = "é"`},
		{name: "no parenthesis", in: "value k = v\n", err: "malformed comparison: value k = v", code: 3},
		{name: "unknown target", in: `bad("foo") = "x"` + "\n", err: `malformed comparison: bad("foo") = "x" (unknown target bad)`, code: 3},
		{name: "bad operator", in: `value("foo") == "x"` + "\n", err: `malformed comparison: value("foo") == "x" (unknown operator ==; want =, !=, > or <)`, code: 3},
		{name: "unquoted value", in: `value("foo") = x` + "\n", err: `malformed comparison: value("foo") = x (value: want a double-quoted string)`, code: 3},
		{name: "unquoted key", in: `value(foo) = "x"` + "\n", err: `malformed comparison: value(foo) = "x" (key: want a double-quoted string)`, code: 3},
		{name: "no operator", in: `value("foo")` + "\n", err: `malformed comparison: value("foo") (want an operator and a quoted value)`, code: 3},
		{name: "trailing text", in: `value("foo") = "x" y` + "\n", err: `malformed comparison: value("foo") = "x" y (unexpected "y" after the value)`, code: 3},
		{name: "not a number", in: `mod("foo") > "x"` + "\n", err: `invalid txn compare request: mod("foo") > "x"`, code: 3},
		{name: "lease not hex", in: `lease("foo") = "xyz"` + "\n", err: `invalid txn compare request: lease("foo") = "xyz"`, code: 3},
		{name: "unknown op", in: "\nfoo bar\n", err: `invalid txn request: foo bar (unknown operation "foo"; want put, get or del)`, code: 3},
		{name: "op without key", in: "\nget\n", err: "invalid txn compare request: get", code: 3},
		{name: "put without value", in: "\nput k\n", err: "invalid txn request: put k (put command needs 1 argument and input from stdin or 2 arguments)", code: 3},
		{name: "bad op flag", in: "\n\nget k --bogus\n", err: "invalid txn request: get k --bogus (unknown flag: --bogus)", code: 3},
		{name: "bad lease in op", in: "\nput k v --lease=zz\n", err: `invalid txn request: put k v --lease=zz (bad lease ID (strconv.ParseInt: parsing "zz": invalid syntax), expecting ID in Hex)`, code: 3},
		{name: "unterminated quote", in: "\nput 'k v\n", err: `invalid txn request: put 'k v (unterminated quoted string in "put 'k v")`, code: 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec, err := parseTxn(strings.NewReader(c.in))
			if c.err != "" {
				var ee *exitErr
				if err == nil || err.Error() != c.err || !errors.As(err, &ee) || ee.code != c.code {
					t.Fatalf("err = %v; want %q with exit code %d", err, c.err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct{ what, got, want string }{
				{"compares", strings.Join(spec.cmpText, "; "), c.cmps},
				{"success", strings.Join(spec.thenText, "; "), c.then},
				{"failure", strings.Join(spec.elsText, "; "), c.els},
			} {
				if p.got != p.want {
					t.Errorf("%s: got %s, want %s", p.what, p.got, p.want)
				}
			}
			if len(spec.cmps) != len(spec.cmpText) || len(spec.then) != len(spec.thenText) || len(spec.els) != len(spec.elsText) {
				t.Errorf("ops and their texts differ in number")
			}
		})
	}
}

// TestArgify checks the op-line splitter against etcdctl's Argify rules.
func TestArgify(t *testing.T) {
	for in, want := range map[string][]string{
		`put k v`:              {"put", "k", "v"},
		`put "a b" 'c d'`:      {"put", "a b", "c d"},
		`put "a\nb" '\n'`:      {"put", "a\nb", `\n`},
		"  get\tk  --prefix  ": {"get", "k", "--prefix"},
		`put k ""`:             {"put", "k", ""},
		`put k=v --lease=1`:    {"put", "k=v", "--lease=1"},
	} {
		got, err := argify(in)
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("argify(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestTxn runs transactions from stdin and from --file, in simple and
// json output, through both branches.
func TestTxn(t *testing.T) {
	ok(t, ctl(t, "del", "txn/", "--prefix")) // fresh keys in every -count round
	revOf(t, "txn/a", "1")
	rev := revOf(t, "txn/b", "2")
	in := `value("txn/a") = "1"` + "\n" + `mod("txn/b") = "` + fmt.Sprint(rev) + `"` + "\n" + `version("txn/c") = "0"` +
		"\n\nput txn/c \"three 3\"\ndel txn/b --prev-kv\nget txn/ --prefix\n\nput txn/failed yes\n\n"
	expect(t, "txn success", ctlIn(t, in, "txn"),
		"SUCCESS\n\nOK\n\n1\ntxn/b\n2\n\ntxn/a\n1\ntxn/c\nthree 3\n")
	// The same again fails: txn/b is gone, so its mod revision is 0.
	expect(t, "txn failure", ctlIn(t, in, "txn"), "FAILURE\n\nOK\n")
	expect(t, "failure branch applied", ctl(t, "get", "txn/failed"), "txn/failed\nyes\n")

	file := filepath.Join(t.TempDir(), "txn.txt")
	if err := os.WriteFile(file, []byte(`create("txn/a") > "0"`+"\n\nget txn/a\nput txn/d 4\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := ctl(t, "txn", "--file", file, "-w", "json")
	got := noTerm(ok(t, r))
	var aRev int64 // txn/a was written once, at rev-1
	aRev = rev - 1
	want := fmt.Sprintf(`{%s,"succeeded":true,"responses":[`+
		`{"Response":{"ResponseRange":{"header":{"revision":%d},"kvs":[{"key":"%s","create_revision":%d,"mod_revision":%d,"version":1,"value":"%s"}],"count":1}}},`+
		`{"Response":{"ResponsePut":{"header":{"revision":%d}}}}]}`+"\n",
		hdrJSON(rev+3), rev+2, b64("txn/a"), aRev, aRev, b64("1"), rev+3)
	if got != want {
		t.Errorf("txn --file -w json\n got %s\nwant %s", got, want)
	}
	r = ctlIn(t, `value("txn/a") = "1"`+"\n\nget txn/a\n\nget txn/b\n\n", "txn", "-i")
	expect(t, "txn -i", r, "compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\nSUCCESS\n\ntxn/a\n1\n")

	fails(t, "txn with an argument", ctl(t, "txn", "x"), 128, "Error: txn command does not accept argument\n")
	fails(t, "txn --file missing", ctl(t, "txn", "--file", "/nonexistent"), 128, "Error: --file: open /nonexistent: no such file or directory\n")
	fails(t, "txn bad compare", ctlIn(t, "value(\"a\") ~ \"b\"\n", "txn"), 3,
		"Error: malformed comparison: value(\"a\") ~ \"b\" (unknown operator ~; want =, !=, > or <)\n")
	fails(t, "txn duplicate key", ctlIn(t, "\nput txn/x 1\ndel txn/x\n\n", "txn"), 1,
		"Error: etcdserver: duplicate key given in txn request\n")
}
