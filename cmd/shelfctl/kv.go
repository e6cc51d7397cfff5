package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/shelf-kv/shelf/client"
	"github.com/spf13/pflag"
)

// kvCommands are get, put and del (etcdctl's get_command.go,
// put_command.go, del_command.go).
func kvCommands() []*command {
	return []*command{
		{name: "get", args: "<key> [range_end]", short: "Gets the key or a range of keys", setup: setupGet},
		{name: "put", args: "<key> <value>", short: "Puts the given key into the store (value from stdin when omitted)", setup: setupPut},
		{name: "del", args: "<key> [range_end]", short: "Removes the specified key or range of keys [key, range_end)", setup: setupDel},
	}
}

// getFlags are get's options; txn's "get" lines take them too.
type getFlags struct {
	consistency, sortOrder, sortTarget string
	prefix, fromKey, keysOnly          bool
	countOnly, printValueOnly          bool
	limit, rev                         int64
}

func (f *getFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.consistency, "consistency", "l", "Linearizable(l) or Serializable(s)")
	fs.StringVar(&f.sortOrder, "order", "", "Order of results; ASCEND or DESCEND (ASCEND by default)")
	fs.StringVar(&f.sortTarget, "sort-by", "", "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION")
	fs.Int64Var(&f.limit, "limit", 0, "Maximum number of results")
	fs.BoolVar(&f.prefix, "prefix", false, "Get keys with matching prefix")
	fs.BoolVar(&f.fromKey, "from-key", false, "Get keys that are greater than or equal to the given key using byte compare")
	fs.Int64Var(&f.rev, "rev", 0, "Specify the kv revision")
	fs.BoolVar(&f.keysOnly, "keys-only", false, "Get only the keys")
	fs.BoolVar(&f.countOnly, "count-only", false, "Get only the count")
	fs.BoolVar(&f.printValueOnly, "print-value-only", false, `Only write values when using the "simple" output format`)
}

// op turns args and flags into the key and options of a range, with
// etcdctl's checks and messages (getGetOp).
func (f *getFlags) op(args []string) (string, []client.OpOption, error) {
	if err := checkKeyArgs("get", args, f.prefix, f.fromKey); err != nil {
		return "", nil, err
	}
	if f.printValueOnly && f.keysOnly {
		return "", nil, badArgs("`--print-value-only` and `--keys-only` cannot be set at the same time, choose one")
	}
	if f.countOnly && (f.keysOnly || f.printValueOnly) {
		return "", nil, badArgs("`--count-only` cannot be set together with `--keys-only` or `--print-value-only`")
	}
	var opts []client.OpOption
	switch f.consistency {
	case "s":
		opts = append(opts, client.WithSerializable())
	case "l":
	default:
		return "", nil, badFeature("unknown consistency flag %q", f.consistency)
	}
	opts, err := rangeOpts(opts, args, f.prefix, f.fromKey)
	if err != nil {
		return "", nil, err
	}
	if f.limit < 0 {
		return "", nil, badArgs("--limit %d: must not be negative", f.limit)
	}
	if f.rev < 0 {
		return "", nil, badArgs("--rev %d: must not be negative", f.rev)
	}
	opts = append(opts, client.WithLimit(f.limit), client.WithRev(f.rev))
	order := client.SortNone
	switch strings.ToUpper(f.sortOrder) {
	case "ASCEND":
		order = client.SortAscend
	case "DESCEND":
		order = client.SortDescend
	case "":
	default:
		return "", nil, badFeature("bad sort order %v", f.sortOrder)
	}
	target := client.SortByKey
	switch strings.ToUpper(f.sortTarget) {
	case "CREATE":
		target = client.SortByCreateRevision
	case "KEY", "":
	case "MODIFY":
		target = client.SortByModRevision
	case "VALUE":
		target = client.SortByValue
	case "VERSION":
		target = client.SortByVersion
	default:
		return "", nil, badFeature("bad sort target %v", f.sortTarget)
	}
	// etcd's clientv3.WithSort: key order ascending is the natural order.
	if target == client.SortByKey && order == client.SortAscend {
		order = client.SortNone
	}
	if order != client.SortNone || target != client.SortByKey {
		if order == client.SortNone {
			order = client.SortAscend
		}
		opts = append(opts, client.WithSort(target, order))
	}
	if f.keysOnly {
		opts = append(opts, client.WithKeysOnly())
	}
	if f.countOnly {
		opts = append(opts, client.WithCountOnly())
	}
	return args[0], opts, nil
}

// checkKeyArgs checks the arguments of get and del (cmd): a key and an
// optional range_end, and not both --prefix and --from-key.
func checkKeyArgs(cmd string, args []string, prefix, fromKey bool) error {
	if len(args) == 0 || len(args) > 2 {
		return badArgs("%s command needs one argument as key and an optional argument as range_end", cmd)
	}
	if prefix && fromKey {
		return badArgs("`--prefix` and `--from-key` cannot be set at the same time, choose one")
	}
	return nil
}

// rangeOpts adds to opts the range of get and del: range_end if given
// (not with --prefix or --from-key), the prefix, or from the key.
func rangeOpts(opts []client.OpOption, args []string, prefix, fromKey bool) ([]client.OpOption, error) {
	if len(args) > 1 {
		if prefix || fromKey {
			return nil, badArgs("too many arguments, only accept one argument when `--prefix` or `--from-key` is set")
		}
		opts = append(opts, client.WithRange(args[1]))
	}
	if prefix {
		opts = append(opts, client.WithPrefix())
	}
	if fromKey {
		opts = append(opts, client.WithFromKey())
	}
	return opts, nil
}

func setupGet(fs *pflag.FlagSet) runner {
	var f getFlags
	f.register(fs)
	return keyRun(f.op, (*client.Client).Get, jrange, func(a *app, resp *client.GetResponse) {
		// etcdctl difference: etcdctl 3.5 allows --count-only only with
		// -w fields; here simple output prints the count alone.
		if f.countOnly {
			fmt.Fprintln(a.stdout, resp.Count)
			return
		}
		printGet(a.stdout, f.printValueOnly, resp)
	})
}

// keyRun is the shape of get and del: op makes the key and options of the
// arguments, then one request.
func keyRun[R, J any](op func([]string) (string, []client.OpOption, error),
	call func(c *client.Client, ctx context.Context, key string, opts ...client.OpOption) (R, error),
	toJSON func(R) J, simple func(*app, R)) runner {
	return func(a *app, args []string) error {
		key, opts, err := op(args)
		if err != nil {
			return err
		}
		return request(a, func(ctx context.Context, c *client.Client) (R, error) {
			return call(c, ctx, key, opts...)
		}, toJSON, func(resp R) error {
			simple(a, resp)
			return nil
		})
	}
}

// printGet is etcdctl's simple Get: each key and value on its own line.
func printGet(w io.Writer, valueOnly bool, resp *client.GetResponse) {
	for _, kv := range resp.Kvs {
		printKV(w, valueOnly, kv)
	}
}

// putFlags are put's options; txn's "put" lines take them too.
type putFlags struct {
	lease                    string
	prevKV                   bool
	ignoreValue, ignoreLease bool
}

func (f *putFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.lease, "lease", "0", "lease ID (in hexadecimal) to attach to the key")
	fs.BoolVar(&f.prevKV, "prev-kv", false, "return the previous key-value pair before modification")
	fs.BoolVar(&f.ignoreValue, "ignore-value", false, "updates the key using its current value")
	fs.BoolVar(&f.ignoreLease, "ignore-lease", false, "updates the key using its current lease")
}

// op is etcdctl's getPutOp. stdin is read for the value when only the
// key is given (nil stdin: no value available).
func (f *putFlags) op(args []string, stdin io.Reader) (string, string, []client.OpOption, error) {
	if len(args) == 0 {
		return "", "", nil, badArgs("put command needs 1 argument and input from stdin or 2 arguments")
	}
	if f.ignoreValue && len(args) > 1 {
		return "", "", nil, badArgs("put command needs only 1 argument when 'ignore-value' is set")
	}
	if len(args) > 2 {
		return "", "", nil, badArgs("put command needs 1 argument and input from stdin or 2 arguments")
	}
	key, value := args[0], ""
	if !f.ignoreValue {
		if len(args) == 2 {
			value = args[1]
		} else {
			var b []byte
			if stdin != nil {
				b, _ = io.ReadAll(stdin)
			}
			if len(b) == 0 {
				return "", "", nil, badArgs("put command needs 1 argument and input from stdin or 2 arguments")
			}
			value = string(b)
		}
	}
	id, err := strconv.ParseInt(f.lease, 16, 64)
	if err != nil {
		return "", "", nil, badArgs("bad lease ID (%v), expecting ID in Hex", err)
	}
	var opts []client.OpOption
	if id != 0 {
		opts = append(opts, client.WithLease(id))
	}
	if f.prevKV {
		opts = append(opts, client.WithPrevKV())
	}
	if f.ignoreValue {
		opts = append(opts, client.WithIgnoreValue())
	}
	if f.ignoreLease {
		opts = append(opts, client.WithIgnoreLease())
	}
	return key, value, opts, nil
}

func setupPut(fs *pflag.FlagSet) runner {
	var f putFlags
	f.register(fs)
	return func(a *app, args []string) error {
		if err := a.refuseTable(); err != nil {
			return err
		}
		key, value, opts, err := f.op(args, a.stdin)
		if err != nil {
			return err
		}
		return request(a, func(ctx context.Context, c *client.Client) (*client.PutResponse, error) {
			return c.Put(ctx, key, value, opts...)
		}, jput, func(resp *client.PutResponse) error {
			printPut(a.stdout, resp)
			return nil
		})
	}
}

// printPut is etcdctl's simple Put: OK, then the previous pair if asked.
func printPut(w io.Writer, resp *client.PutResponse) {
	fmt.Fprintln(w, "OK")
	if resp.PrevKv != nil {
		printKV(w, false, resp.PrevKv)
	}
}

// delFlags are del's options; txn's "del" lines take them too.
type delFlags struct {
	prefix, prevKV, fromKey bool
}

func (f *delFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.prefix, "prefix", false, "delete keys with matching prefix")
	fs.BoolVar(&f.prevKV, "prev-kv", false, "return deleted key-value pairs")
	fs.BoolVar(&f.fromKey, "from-key", false, "delete keys that are greater than or equal to the given key using byte compare")
}

// op is etcdctl's getDelOp.
func (f *delFlags) op(args []string) (string, []client.OpOption, error) {
	if err := checkKeyArgs("del", args, f.prefix, f.fromKey); err != nil {
		return "", nil, err
	}
	opts, err := rangeOpts(nil, args, f.prefix, f.fromKey)
	if err != nil {
		return "", nil, err
	}
	if f.prevKV {
		opts = append(opts, client.WithPrevKV())
	}
	return args[0], opts, nil
}

func setupDel(fs *pflag.FlagSet) runner {
	var f delFlags
	f.register(fs)
	return keyRun(f.op, (*client.Client).Delete, jdel, func(a *app, resp *client.DeleteResponse) { printDel(a.stdout, resp) })
}

// printDel is etcdctl's simple Del: the count, then the deleted pairs if asked.
func printDel(w io.Writer, resp *client.DeleteResponse) {
	fmt.Fprintln(w, resp.Deleted)
	for _, kv := range resp.PrevKvs {
		printKV(w, false, kv)
	}
}
