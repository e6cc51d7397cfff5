package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/shelf-kv/shelf/client"
	"github.com/spf13/pflag"
)

// maintCommands are compaction and version (etcdctl's
// compaction_command.go, version_command.go); defrag and move-leader are
// in defrag.go.
func maintCommands() []*command {
	return []*command{
		{name: "compaction", args: "<revision>", short: "Compacts the event history", setup: setupCompaction},
		{name: "version", short: "Prints the version of shelfctl", setup: setupVersion},
	}
}

func setupCompaction(fs *pflag.FlagSet) runner {
	var physical bool
	fs.BoolVar(&physical, "physical", false, "'true' to wait for compaction to physically remove all old revisions")
	return exactArgs(1, "compaction command needs 1 argument", func(a *app, args []string) error {
		rev, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			return err // exit 1, as etcdctl
		}
		var opts []client.CompactOption
		if physical {
			opts = append(opts, client.WithPhysical())
		}
		if _, err := send(a, func(ctx context.Context, c *client.Client) (*client.CompactResponse, error) {
			return c.Compact(ctx, rev, opts...)
		}); err != nil {
			return err
		}
		// As etcdctl: this line whatever --write-out says.
		fmt.Fprintf(a.stdout, "compacted revision %v\n", rev)
		return nil
	})
}

func setupVersion(fs *pflag.FlagSet) runner {
	return func(a *app, args []string) error {
		fmt.Fprintf(a.stdout, "shelfctl version: %s\nAPI version: %s\n", version, apiVersion)
		return nil
	}
}
