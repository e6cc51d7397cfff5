package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/shelf-kv/shelf/client"
	"github.com/spf13/pflag"
)

// The frames the commands share: each command's setup keeps only what is
// its own (flags, argument checks, the call, how the answer prints).

// runner is a command ready to run, as its setup returns it.
type runner = func(a *app, args []string) error

// exactArgs runs run when there are exactly n positional arguments, and
// otherwise fails with etcdctl's msg (exit 128).
func exactArgs(n int, msg string, run runner) runner {
	return func(a *app, args []string) error {
		if len(args) != n {
			return badArgs("%s", msg)
		}
		return run(a, args)
	}
}

// refuseTable is etcdctl's answer to -w table on a command without a table.
func (a *app) refuseTable() error {
	if a.g.writeOut == outTable {
		return badFeature("table not supported as output format")
	}
	return nil
}

// send makes one request: the client, then do under --command-timeout.
func send[R any](a *app, do func(ctx context.Context, c *client.Client) (R, error)) (R, error) {
	c, err := a.client()
	if err != nil {
		var zero R
		return zero, err
	}
	ctx, cancel := a.ctx()
	defer cancel()
	return do(ctx, c)
}

// request is the skeleton of a one-request command without a table:
// -w table refused, the request sent, then its answer printed as JSON
// (toJSON's value) or as simple output.
func request[R, J any](a *app, do func(ctx context.Context, c *client.Client) (R, error), toJSON func(R) J, simple func(R) error) error {
	if err := a.refuseTable(); err != nil {
		return err
	}
	resp, err := send(a, do)
	if err != nil {
		return err
	}
	if a.g.writeOut == outJSON {
		return a.printJSON(toJSON(resp))
	}
	return simple(resp)
}

// printRows writes the answer of a command with a table: v as JSON, the
// table, or (simple) each row's cells joined by ", ".
func (a *app) printRows(v any, header []string, rows [][]string) error {
	switch a.g.writeOut {
	case outJSON:
		return a.printJSON(v)
	case outTable:
		renderTable(a.stdout, header, rows)
	default:
		for _, r := range rows {
			fmt.Fprintln(a.stdout, strings.Join(r, ", "))
		}
	}
	return nil
}

// targetsSetup is the frame of the per-endpoint commands (defrag,
// endpoint status|health): --cluster, no arguments, then run on the
// targets.
func targetsSetup(name string, run func(a *app, ts []target) error) func(*pflag.FlagSet) runner {
	return func(fs *pflag.FlagSet) runner {
		var cluster bool
		fs.BoolVar(&cluster, "cluster", false, "use all endpoints from the cluster member list")
		return func(a *app, args []string) error {
			if len(args) != 0 {
				return badArgs("%s command does not accept argument", name)
			}
			ts, err := a.targets(cluster)
			if err != nil {
				return err
			}
			return run(a, ts)
		}
	}
}

// eachTarget calls fn for every target, each under its own
// --command-timeout. A failure is said on stderr by fail (a format of the
// target's name and the error) and the others still run; failed is then a
// silent exit 1, for the command to return once it has printed. err is
// the failure to make the client.
func (a *app) eachTarget(ts []target, fail string, fn func(ctx context.Context, c *client.Client, t target) error) (failed, err error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		ctx, cancel := a.ctx()
		err := fn(ctx, c, t)
		cancel()
		if err != nil {
			fmt.Fprintf(a.stderr, fail, t.name, errText(err))
			failed = silentExit(exitError)
		}
	}
	return failed, nil
}
