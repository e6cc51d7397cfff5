package main

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestPutGetDelSimple checks put, get (every option) and del in etcdctl's
// simple output.
func TestPutGetDelSimple(t *testing.T) {
	// The cluster is shared by every test (and every -count round): start
	// from an empty namespace, and keep the --from-key keys under "~",
	// which sorts after every other test's keys.
	ok(t, ctl(t, "del", "kv/", "--prefix"))
	ok(t, ctl(t, "del", "~kv2/", "--prefix"))
	expect(t, "put", ctl(t, "put", "kv/a", "1"), "OK\n")
	expect(t, "put with spaces", ctl(t, "put", "kv/b", "two words"), "OK\n")
	expect(t, "put from stdin", ctlIn(t, "from\nstdin", "put", "kv/c"), "OK\n")
	expect(t, "put --prev-kv", ctl(t, "put", "kv/a", "1b", "--prev-kv"), "OK\nkv/a\n1\n")

	expect(t, "get", ctl(t, "get", "kv/a"), "kv/a\n1b\n")
	expect(t, "get missing", ctl(t, "get", "kv/none"), "")
	expect(t, "get --prefix", ctl(t, "get", "kv/", "--prefix"), "kv/a\n1b\nkv/b\ntwo words\nkv/c\nfrom\nstdin\n")
	expect(t, "get range", ctl(t, "get", "kv/a", "kv/c"), "kv/a\n1b\nkv/b\ntwo words\n")
	expect(t, "get --keys-only", ctl(t, "get", "kv/", "--prefix", "--keys-only"), "kv/a\n\nkv/b\n\nkv/c\n\n")
	expect(t, "get --print-value-only", ctl(t, "get", "kv/", "--prefix", "--print-value-only", "--limit", "2"), "1b\ntwo words\n")
	expect(t, "get --count-only", ctl(t, "get", "kv/", "--prefix", "--count-only"), "3\n")
	expect(t, "get --sort-by VALUE --order DESCEND", ctl(t, "get", "kv/", "--prefix", "--sort-by", "VALUE", "--order", "DESCEND", "--print-value-only"),
		"two words\nfrom\nstdin\n1b\n")
	expect(t, "get --sort-by MODIFY", ctl(t, "get", "kv/", "--prefix", "--sort-by", "MODIFY", "--keys-only"), "kv/b\n\nkv/c\n\nkv/a\n\n")
	expect(t, "get --consistency s", ctl(t, "get", "kv/b", "--consistency", "s"), "kv/b\ntwo words\n")
	expect(t, "get --from-key", ctl(t, "get", "kv/b", "--from-key", "--keys-only", "--limit", "2"), "kv/b\n\nkv/c\n\n")

	// --rev reads the past.
	rev := revOf(t, "kv/r", "old")
	revOf(t, "kv/r", "new")
	expect(t, "get --rev", ctl(t, "get", "kv/r", "--rev", fmt.Sprint(rev)), "kv/r\nold\n")

	expect(t, "del", ctl(t, "del", "kv/r"), "1\n")
	expect(t, "del missing", ctl(t, "del", "kv/r"), "0\n")
	expect(t, "del --prev-kv", ctl(t, "del", "kv/c", "--prev-kv"), "1\nkv/c\nfrom\nstdin\n")
	expect(t, "del --prefix", ctl(t, "del", "kv/", "--prefix"), "2\n")
	expect(t, "get after del", ctl(t, "get", "kv/", "--prefix"), "")
	revOf(t, "~kv2/x", "1")
	revOf(t, "~kv2/y", "2")
	expect(t, "del --from-key", ctl(t, "del", "~kv2/y", "--from-key", "--prev-kv"), "1\n~kv2/y\n2\n")
	expect(t, "del range", ctl(t, "del", "~kv2/a", "~kv2/z"), "1\n")
}

// TestPutGetDelJSON checks -w json against etcdctl's shapes: base64 keys
// and values, numbers as numbers, empty fields left out.
func TestPutGetDelJSON(t *testing.T) {
	ok(t, ctl(t, "del", "j/", "--prefix")) // fresh keys in every -count round
	r := ctl(t, "put", "j/a", "va", "-w", "json")
	rev := revOf(t, "j/b", "vb") - 1
	if got, want := noTerm(ok(t, r)), fmt.Sprintf("{%s}\n", hdrJSON(rev)); got != want {
		t.Errorf("put json\n got %s\nwant %s", got, want)
	}
	r2 := ctl(t, "put", "j/a", "va2", "--prev-kv", "-w", "json")
	got := noTerm(ok(t, r2))
	want := fmt.Sprintf(`{%s,"prev_kv":{"key":"%s","create_revision":%d,"mod_revision":%d,"version":1,"value":"%s"}}`+"\n",
		hdrJSON(rev+2), b64("j/a"), rev, rev, b64("va"))
	if got != want {
		t.Errorf("put --prev-kv json\n got %s\nwant %s", got, want)
	}
	kvA := fmt.Sprintf(`{"key":"%s","create_revision":%d,"mod_revision":%d,"version":2,"value":"%s"}`, b64("j/a"), rev, rev+2, b64("va2"))
	kvB := fmt.Sprintf(`{"key":"%s","create_revision":%d,"mod_revision":%d,"version":1,"value":"%s"}`, b64("j/b"), rev+1, rev+1, b64("vb"))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "j/a"}, fmt.Sprintf(`{%s,"kvs":[%s],"count":1}`, hdrJSON(rev+2), kvA)},
		{[]string{"get", "j/", "--prefix"}, fmt.Sprintf(`{%s,"kvs":[%s,%s],"count":2}`, hdrJSON(rev+2), kvA, kvB)},
		{[]string{"get", "j/", "--prefix", "--limit", "1"}, fmt.Sprintf(`{%s,"kvs":[%s],"more":true,"count":2}`, hdrJSON(rev+2), kvA)},
		{[]string{"get", "j/", "--prefix", "--count-only"}, fmt.Sprintf(`{%s,"count":2}`, hdrJSON(rev+2))},
		{[]string{"get", "j/none"}, fmt.Sprintf(`{%s}`, hdrJSON(rev+2))},
		{[]string{"del", "j/b", "--prev-kv"}, fmt.Sprintf(`{%s,"deleted":1,"prev_kvs":[%s]}`, hdrJSON(rev+3), kvB)},
		{[]string{"del", "j/b"}, fmt.Sprintf(`{%s}`, hdrJSON(rev+3))},
	} {
		got := noTerm(ok(t, ctl(t, append(c.args, "-w", "json")...)))
		if got != c.want+"\n" {
			t.Errorf("%v -w json\n got %s\nwant %s", c.args, got, c.want)
		}
	}
}

// TestEnvironment checks that every global flag reads SHELFCTL_<FLAG>, that
// a flag on the command line wins, and that a bad value names its variable.
func TestEnvironment(t *testing.T) {
	revOf(t, "env/k", "v")
	eps := env.members[1].hostPort + "," + env.members[2].hostPort
	expect(t, "SHELFCTL_ENDPOINTS", ctlEnv(t, "", []string{"SHELFCTL_ENDPOINTS=" + eps}, "get", "env/k"), "env/k\nv\n")
	r := ctlEnv(t, "", []string{"SHELFCTL_ENDPOINTS=" + env.members[1].hostPort, "SHELFCTL_WRITE_OUT=json"}, "get", "env/none")
	if got := ok(t, r); !strings.Contains(got, fmt.Sprintf(`"member_id":%d`, env.members[1].id)) {
		t.Errorf("SHELFCTL_ENDPOINTS + SHELFCTL_WRITE_OUT=json: %q does not come from member 1", got)
	}
	expect(t, "flag beats env", ctlEnv(t, "", []string{"SHELFCTL_ENDPOINTS=127.0.0.1:1", "SHELFCTL_WRITE_OUT=json"},
		"--endpoints", env.members[2].hostPort, "-w", "simple", "get", "env/k"), "env/k\nv\n")
	expect(t, "SHELFCTL_COMMAND_TIMEOUT", ctlEnv(t, "", []string{"SHELFCTL_ENDPOINTS=" + eps, "SHELFCTL_COMMAND_TIMEOUT=3s",
		"SHELFCTL_DIAL_TIMEOUT=1s", "SHELFCTL_INSECURE_SKIP_TLS_VERIFY=false"}, "get", "env/k"), "env/k\nv\n")
	for _, c := range []struct{ env, stderr string }{
		{"SHELFCTL_DIAL_TIMEOUT=soon", `Error: environment variable SHELFCTL_DIAL_TIMEOUT="soon": invalid argument "soon" for "--dial-timeout" flag: must be a duration like "30s" or "5m"` + "\n"},
		{"SHELFCTL_COMMAND_TIMEOUT=x", `Error: environment variable SHELFCTL_COMMAND_TIMEOUT="x": invalid argument "x" for "--command-timeout" flag: must be a duration like "30s" or "5m"` + "\n"},
		{"SHELFCTL_INSECURE_SKIP_TLS_VERIFY=maybe", `Error: environment variable SHELFCTL_INSECURE_SKIP_TLS_VERIFY="maybe": invalid argument "maybe" for "--insecure-skip-tls-verify" flag: must be true or false` + "\n"},
	} {
		fails(t, c.env, ctlEnv(t, "", []string{c.env}, "get", "env/k"), 1, c.stderr)
	}
	fails(t, "SHELFCTL_WRITE_OUT=yaml", ctlEnv(t, "", []string{"SHELFCTL_WRITE_OUT=yaml"}, "get", "env/k"), 4,
		"Error: unsupported output format \"yaml\" for --write-out (simple, json or table)\n")
}

// TestBadUsage checks etcdctl's messages and exit codes for bad flags and
// arguments; none of them reaches a member.
func TestBadUsage(t *testing.T) {
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"get", "--bogus"}, 1, "unknown flag: --bogus"},
		{[]string{"--bogus", "get"}, 1, "unknown flag: --bogus"},
		{[]string{"bogus"}, 1, "unknown command \"bogus\" for \"shelfctl\"\nRun 'shelfctl --help' for usage."},
		{[]string{"member", "bogus"}, 1, "unknown command \"bogus\" for \"shelfctl member\""},
		{[]string{"get"}, 128, "get command needs one argument as key and an optional argument as range_end"},
		{[]string{"get", "a", "b", "c"}, 128, "get command needs one argument as key and an optional argument as range_end"},
		{[]string{"get", "a", "--prefix", "--from-key"}, 128, "`--prefix` and `--from-key` cannot be set at the same time, choose one"},
		{[]string{"get", "a", "b", "--prefix"}, 128, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set"},
		{[]string{"get", "a", "--consistency", "x"}, 4, `unknown consistency flag "x"`},
		{[]string{"get", "a", "--order", "up"}, 4, "bad sort order up"},
		{[]string{"get", "a", "--sort-by", "size"}, 4, "bad sort target size"},
		{[]string{"get", "a", "--limit", "ten"}, 1, `invalid argument "ten" for "--limit" flag: must be an integer`},
		{[]string{"get", "a", "-w", "table"}, 4, "table not supported as output format"},
		{[]string{"get", "a", "-w", "fields"}, 4, `unsupported output format "fields" for --write-out (simple, json or table)`},
		{[]string{"--dial-timeout", "x", "get", "a"}, 1, `invalid argument "x" for "--dial-timeout" flag: must be a duration like "30s" or "5m"`},
		{[]string{"put"}, 128, "put command needs 1 argument and input from stdin or 2 arguments"},
		{[]string{"put", "k"}, 128, "put command needs 1 argument and input from stdin or 2 arguments"},
		{[]string{"put", "k", "v", "--ignore-value"}, 128, "put command needs only 1 argument when 'ignore-value' is set"},
		{[]string{"put", "k", "v", "--lease", "xyz"}, 128, `bad lease ID (strconv.ParseInt: parsing "xyz": invalid syntax), expecting ID in Hex`},
		{[]string{"del"}, 128, "del command needs one argument as key and an optional argument as range_end"},
		{[]string{"compaction"}, 128, "compaction command needs 1 argument"},
		{[]string{"compaction", "x"}, 1, `strconv.ParseInt: parsing "x": invalid syntax`},
		{[]string{"member", "remove", "zz"}, 128, `bad member ID arg (strconv.ParseUint: parsing "zz": invalid syntax), expecting ID in Hex`},
		{[]string{"member", "add", "x"}, 128, "member peer urls not provided"},
		{[]string{"--endpoints", "ftp://h:1", "get", "a"}, 128, `client: invalid config: endpoint "ftp://h:1": scheme must be http or https, not "ftp"`},
		{[]string{"--cert", "/nonexistent.pem", "get", "a"}, 128, "--cert and --key must be given together"},
		{[]string{"--cacert", "/nonexistent.pem", "get", "a"}, 128, "--cacert: open /nonexistent.pem: no such file or directory"},
	} {
		fails(t, strings.Join(c.args, " "), ctl(t, c.args...), c.code, "Error: "+c.stderr+"\n")
	}
	fails(t, "empty --endpoints", ctlEnv(t, "", nil, "--endpoints", "", "get", "a"), 128, "Error: --endpoints is empty\n")
	// Help is not an error.
	r := ctl(t, "get", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Usage: shelfctl get") || !strings.Contains(r.stdout, "--prefix") {
		t.Errorf("get --help: exit %d stdout %q", r.code, r.stdout)
	}
	r = ctl(t, "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "endpoint status") || !strings.Contains(r.stdout, "SHELFCTL_ENDPOINTS") {
		t.Errorf("--help: exit %d stdout %q", r.code, r.stdout)
	}
}

// TestServerErrors checks that a member's refusal prints etcd's message
// and exits 1, as etcdctl.
func TestServerErrors(t *testing.T) {
	fails(t, "future revision", ctl(t, "get", "a", "--rev", "100000000"), 1,
		"Error: etcdserver: mvcc: required revision is a future revision\n")
	fails(t, "ignore-value of a missing key", ctl(t, "put", "srv/none", "--ignore-value"), 1,
		"Error: etcdserver: key not found\n")
	r := ctlEnv(t, "", nil, "--endpoints", "127.0.0.1:1", "--command-timeout", "300ms", "get", "a")
	fails(t, "unreachable", r, 1, refusedOr(r.stderr, "Error: "+refused+"\n"))
}

func TestVersion(t *testing.T) {
	expect(t, "version", ctl(t, "version"), "shelfctl version: "+version+"\nAPI version: 3.4\n")
}
