package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/pflag"
)

// defragCommands are defrag, move-leader and member update: the commands
// built on the maintenance API (etcdctl's defrag_command.go,
// move_leader_command.go, member_command.go).
func defragCommands() []*command {
	return []*command{
		{name: "defrag", args: "[--cluster]", short: "Defragments the storage of the members with given endpoints", setup: setupDefrag},
		{name: "move-leader", args: "<transferee-member-id>", short: "Transfers leadership to another cluster member", setup: setupMoveLeader},
		{name: "member update", args: "<memberID> --peer-urls=<urls>", short: "Updates a member in the cluster", setup: setupMemberUpdate},
	}
}

func setupDefrag(fs *pflag.FlagSet) func(*app, []string) error {
	var cluster bool
	fs.BoolVar(&cluster, "cluster", false, "use all endpoints from the cluster member list")
	return func(a *app, args []string) error {
		if len(args) != 0 {
			return badArgs("defrag command does not accept argument")
		}
		ts, err := a.targets(cluster)
		if err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		failed := false
		for _, t := range ts {
			ctx, cancel := a.ctx()
			_, err := c.Defragment(ctx, t.url)
			cancel()
			if err != nil {
				fmt.Fprintf(a.stderr, "Failed to defragment etcd member[%s] (%s)\n", t.name, errText(err))
				failed = true
				continue
			}
			// As etcdctl, this line whatever --write-out says.
			fmt.Fprintf(a.stdout, "Finished defragmenting etcd member[%s]\n", t.name)
		}
		if failed {
			return silentExit(exitError)
		}
		return nil
	}
}

func setupMoveLeader(fs *pflag.FlagSet) func(*app, []string) error {
	return func(a *app, args []string) error {
		if len(args) != 1 {
			return badArgs("move-leader command needs 1 argument")
		}
		to, err := strconv.ParseUint(args[0], 16, 64)
		if err != nil {
			return withCode(exitBadArgs, err)
		}
		if a.g.writeOut == outTable {
			return noTable()
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
		ctx, cancel := a.ctx()
		defer cancel()
		resp, err := c.MoveLeader(ctx, to)
		if err != nil {
			return err
		}
		if a.g.writeOut == outJSON {
			return a.printJSON(struct {
				Header *jHeader `json:"header,omitempty"`
			}{hdrOrNil(resp.Header)})
		}
		fmt.Fprintf(a.stdout, "Leadership transferred from %s to %s\n", strconv.FormatUint(from, 16), strconv.FormatUint(to, 16))
		return nil
	}
}

func setupMemberUpdate(fs *pflag.FlagSet) func(*app, []string) error {
	var peerURLs string
	fs.StringVar(&peerURLs, "peer-urls", "", "comma separated peer URLs for the updated member.")
	return func(a *app, args []string) error {
		if len(args) != 1 {
			return badArgs("member ID is not provided")
		}
		id, err := parseMemberID(args[0])
		if err != nil {
			return err
		}
		urls, err := splitPeerURLs(peerURLs)
		if err != nil {
			return err
		}
		if a.g.writeOut == outTable {
			return noTable()
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		ctx, cancel := a.ctx()
		defer cancel()
		resp, err := c.MemberUpdate(ctx, id, urls)
		if err != nil {
			return err
		}
		if a.g.writeOut == outJSON {
			return a.printJSON(jmembers(resp))
		}
		fmt.Fprintf(a.stdout, "Member %16x updated in cluster %16x\n", id, resp.Header.ClusterID)
		return nil
	}
}
