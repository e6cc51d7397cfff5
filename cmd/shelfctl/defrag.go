package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/shelf-kv/shelf/client"
	"github.com/spf13/pflag"
)

// defragCommands are defrag, move-leader and member update: the commands
// built on the maintenance API (etcdctl's defrag_command.go,
// move_leader_command.go, member_command.go).
func defragCommands() []*command {
	return []*command{
		{name: "defrag", args: "[--cluster]", short: "Defragments the storage of the members with given endpoints", setup: targetsSetup("defrag", defrag)},
		{name: "move-leader", args: "<transferee-member-id>", short: "Transfers leadership to another cluster member", setup: setupMoveLeader},
		{name: "member update", args: "<memberID> --peer-urls=<urls>", short: "Updates a member in the cluster", setup: setupMemberUpdate},
	}
}

func defrag(a *app, ts []target) error {
	failed, err := a.eachTarget(ts, "Failed to defragment etcd member[%s] (%s)\n", func(ctx context.Context, c *client.Client, t target) error {
		if _, err := c.Defragment(ctx, t.url); err != nil {
			return err
		}
		// As etcdctl, this line whatever --write-out says.
		fmt.Fprintf(a.stdout, "Finished defragmenting etcd member[%s]\n", t.name)
		return nil
	})
	if err != nil {
		return err
	}
	return failed
}

func setupMoveLeader(fs *pflag.FlagSet) runner {
	return exactArgs(1, "move-leader command needs 1 argument", func(a *app, args []string) error {
		to, err := strconv.ParseUint(args[0], 16, 64)
		if err != nil {
			return withCode(exitBadArgs, err)
		}
		if err := a.refuseTable(); err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		ts, err := a.targets(false)
		if err != nil {
			return err
		}
		// The current leader, to say where leadership came from: the
		// first endpoint that knows one.
		var from uint64
		var lastErr error
		for _, t := range ts {
			ctx, cancel := a.ctx()
			st, err := c.Status(ctx, t.url)
			cancel()
			if err != nil {
				lastErr = err
				continue
			}
			if st.Leader != 0 {
				from = st.Leader
				break
			}
		}
		if from == 0 {
			if lastErr != nil {
				return lastErr
			}
			return withCode(exitBadArgs, fmt.Errorf("no leader endpoint given at %v", a.g.endpoints))
		}
		return request(a, func(ctx context.Context, c *client.Client) (*client.MoveLeaderResponse, error) {
			return c.MoveLeader(ctx, to)
		}, func(resp *client.MoveLeaderResponse) any {
			return struct {
				Header *jHeader `json:"header,omitempty"`
			}{hdrOrNil(resp.Header)}
		}, func(*client.MoveLeaderResponse) error {
			fmt.Fprintf(a.stdout, "Leadership transferred from %s to %s\n", strconv.FormatUint(from, 16), strconv.FormatUint(to, 16))
			return nil
		})
	})
}

func setupMemberUpdate(fs *pflag.FlagSet) runner {
	var peerURLs string
	fs.StringVar(&peerURLs, "peer-urls", "", "comma separated peer URLs for the updated member.")
	var urls []string
	return memberIDRun("updated in", func() (err error) {
		urls, err = splitPeerURLs(peerURLs)
		return err
	}, func(c *client.Client, ctx context.Context, id uint64) (*client.MemberResponse, error) {
		return c.MemberUpdate(ctx, id, urls)
	})
}
