package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/shelf-kv/shelf/client"
	"github.com/spf13/pflag"
)

// watchCommands is watch (etcdctl's watch_command.go, without -i and
// without running a command per event).
func watchCommands() []*command {
	return []*command{{name: "watch", args: "<key> [range_end]", short: "Watches events stream on keys or prefixes (until Ctrl-C)", setup: setupWatch}}
}

func setupWatch(fs *pflag.FlagSet) runner {
	var prefix, prevKV bool
	var rev int64
	fs.BoolVar(&prefix, "prefix", false, "Watch on a prefix if prefix is set")
	fs.Int64Var(&rev, "rev", 0, "Revision to start watching")
	fs.BoolVar(&prevKV, "prev-kv", false, "get the previous key-value pair before the event happens")
	return func(a *app, args []string) error {
		if len(args) == 0 || len(args) > 2 {
			return badArgs("watch command needs one argument as key or prefix and an optional argument as range_end")
		}
		if prefix && len(args) > 1 {
			return badArgs("too many arguments, only accept one argument when `--prefix` is set")
		}
		if rev < 0 {
			return badArgs("--rev %d: must not be negative", rev)
		}
		if err := a.refuseTable(); err != nil {
			return err
		}
		var opts []client.OpOption
		if len(args) == 2 {
			opts = append(opts, client.WithRange(args[1]))
		}
		if prefix {
			opts = append(opts, client.WithPrefix())
		}
		if rev > 0 {
			opts = append(opts, client.WithRev(rev))
		}
		if prevKV {
			opts = append(opts, client.WithPrevKV())
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		// The watch lasts until Ctrl-C (or SIGTERM), which ends it cleanly.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		for resp := range c.Watch(ctx, args[0], opts...) {
			if resp.Canceled {
				fmt.Fprintf(a.stderr, "watch was canceled (%s)\n", cancelText(resp))
			}
			// etcd's Go client keeps the created message and progress
			// notifications to itself; etcdctl never prints them.
			if len(resp.Events) == 0 && !resp.Canceled {
				continue
			}
			if a.g.writeOut == outJSON {
				if err := a.printJSON(jwatch(resp)); err != nil {
					return err
				}
				continue
			}
			printWatch(a.stdout, resp)
		}
		if ctx.Err() != nil {
			return nil
		}
		return withCode(exitInterrupted, errors.New("watch is canceled by the server"))
	}
}

// eventName is mvccpb.Event_EventType's String.
func eventName(t client.EventType) string {
	switch t {
	case client.EventPut:
		return "PUT"
	case client.EventDelete:
		return "DELETE"
	}
	return strconv.Itoa(int(t))
}

// printWatch is etcdctl's simple Watch: the event type, the previous pair
// if any, then the pair (a deleted key prints an empty value).
func printWatch(w io.Writer, resp client.WatchResponse) {
	for _, e := range resp.Events {
		fmt.Fprintln(w, eventName(e.Type))
		if e.PrevKv != nil {
			printKV(w, false, e.PrevKv)
		}
		if e.Kv != nil {
			printKV(w, false, e.Kv)
		}
	}
}

// jWatch is clientv3.WatchResponse as encoding/json writes it (exported
// Go field names; events as mvccpb.Event).
type jWatch struct {
	Header          jHeader   `json:"Header"`
	Events          []*jEvent `json:"Events"`
	CompactRevision int64     `json:"CompactRevision"`
	Canceled        bool      `json:"Canceled"`
	Created         bool      `json:"Created"`
}

type jEvent struct {
	Type   int32 `json:"type,omitempty"`
	Kv     *jKV  `json:"kv,omitempty"`
	PrevKv *jKV  `json:"prev_kv,omitempty"`
}

func jwatch(r client.WatchResponse) *jWatch {
	out := &jWatch{Header: *hdr(r.Header), CompactRevision: r.CompactRevision, Canceled: r.Canceled, Created: r.Created}
	for _, e := range r.Events {
		out.Events = append(out.Events, &jEvent{Type: int32(e.Type), Kv: jkv(e.Kv), PrevKv: jkv(e.PrevKv)})
	}
	return out
}

// cancelText is why a watch was canceled, as etcd's clientv3 words it
// (WatchResponse.Err): compaction first, then the server's reason.
func cancelText(r client.WatchResponse) string {
	switch {
	case r.CompactRevision != 0:
		return "etcdserver: mvcc: required revision has been compacted"
	case r.CancelReason != "":
		return r.CancelReason
	case r.Err() != nil:
		return errText(r.Err())
	}
	return "etcdserver: mvcc: required revision is a future revision"
}
