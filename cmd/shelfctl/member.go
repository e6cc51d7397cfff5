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

// clusterCommands are member list|add|remove|promote|update and endpoint
// status|health (etcdctl's member_command.go and ep_command.go).
func clusterCommands() []*command {
	return []*command{
		{name: "member list", short: "Lists all members in the cluster", setup: setupMemberList},
		{name: "member add", args: "<memberName> --peer-urls=<urls>", short: "Adds a member into the cluster", setup: setupMemberAdd},
		{name: "member remove", args: "<memberID>", short: "Removes a member from the cluster", setup: memberIDSetup("removed from", (*client.Client).MemberRemove)},
		{name: "member promote", args: "<memberID>", short: "Promotes a non-voting member in the cluster", setup: memberIDSetup("promoted in", (*client.Client).MemberPromote)},
		{name: "endpoint status", short: "Prints out the status of endpoints specified in `--endpoints` flag", setup: targetsSetup("endpoint status", endpointStatus)},
		{name: "endpoint health", short: "Checks the healthiness of endpoints specified in `--endpoints` flag", setup: targetsSetup("endpoint health", endpointHealth)},
	}
}

// jMember is etcdserverpb.Member (proto names: ID, peerURLs).
type jMember struct {
	ID         uint64   `json:"ID,omitempty"`
	Name       string   `json:"name,omitempty"`
	PeerURLs   []string `json:"peerURLs,omitempty"`
	ClientURLs []string `json:"clientURLs,omitempty"`
	IsLearner  bool     `json:"isLearner,omitempty"`
}

// jMemberResp is Member{List,Add,Remove,Update,Promote}Response.
type jMemberResp struct {
	Header  *jHeader   `json:"header,omitempty"`
	Member  *jMember   `json:"member,omitempty"`
	Members []*jMember `json:"members,omitempty"`
}

func jmember(m client.Member) *jMember {
	return &jMember{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs, IsLearner: m.IsLearner}
}

func jmembers(r *client.MemberResponse) *jMemberResp {
	out := &jMemberResp{Header: hdrOrNil(r.Header)}
	if r.Member != nil {
		out.Member = jmember(*r.Member)
	}
	for _, m := range r.Members {
		out.Members = append(out.Members, jmember(m))
	}
	return out
}

// memberRows is etcdctl's makeMemberListTable.
func memberRows(r *client.MemberResponse) ([]string, [][]string) {
	hdr := []string{"ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"}
	var rows [][]string
	for _, m := range r.Members {
		status := "started"
		if m.Name == "" {
			status = "unstarted"
		}
		rows = append(rows, []string{fmt.Sprintf("%x", m.ID), status, m.Name,
			strings.Join(m.PeerURLs, ","), strings.Join(m.ClientURLs, ","), strconv.FormatBool(m.IsLearner)})
	}
	return hdr, rows
}

func setupMemberList(fs *pflag.FlagSet) runner {
	return exactArgs(0, "member list command does not accept argument", func(a *app, _ []string) error {
		resp, err := send(a, func(ctx context.Context, c *client.Client) (*client.MemberResponse, error) {
			return c.MemberList(ctx)
		})
		if err != nil {
			return err
		}
		hdr, rows := memberRows(resp)
		return a.printRows(jmembers(resp), hdr, rows)
	})
}

// parseMemberID parses a hexadecimal member ID argument as etcdctl does.
func parseMemberID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, badArgs("bad member ID arg (%v), expecting ID in Hex", err)
	}
	return id, nil
}

// splitPeerURLs splits --peer-urls, as etcdctl does.
func splitPeerURLs(s string) ([]string, error) {
	var urls []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	if len(urls) == 0 {
		return nil, badArgs("member peer urls not provided")
	}
	return urls, nil
}

func setupMemberAdd(fs *pflag.FlagSet) runner {
	var peerURLs string
	var learner bool
	fs.StringVar(&peerURLs, "peer-urls", "", "comma separated peer URLs for the new member.")
	fs.BoolVar(&learner, "learner", false, "indicates if the new member is raft learner")
	return exactArgs(1, "member name not provided", func(a *app, args []string) error {
		name := args[0]
		urls, err := splitPeerURLs(peerURLs)
		if err != nil {
			return err
		}
		return request(a, func(ctx context.Context, c *client.Client) (*client.MemberResponse, error) {
			if learner {
				return c.MemberAddAsLearner(ctx, urls)
			}
			return c.MemberAdd(ctx, urls)
		}, jmembers, func(resp *client.MemberResponse) error {
			if resp.Member == nil {
				return fmt.Errorf("member add: the answer names no new member")
			}
			// etcdctl 3.4's line, which does not say "as learner" (3.5's does).
			fmt.Fprintf(a.stdout, "Member %16x added to cluster %16x\n", resp.Member.ID, resp.Header.ClusterID)
			printJoinEnv(a.stdout, name, resp.Member.ID, urls, resp.Members)
			return nil
		})
	})
}

// printJoinEnv prints the environment the new member starts with, as
// etcdctl does, but with shelf's SHELF_ variables (etcdctl difference:
// ETCD_NAME becomes SHELF_NAME and so on, which `shelf member` reads).
func printJoinEnv(w io.Writer, name string, newID uint64, peers []string, members []client.Member) {
	var conf []string
	for _, m := range members {
		n := m.Name
		if m.ID == newID {
			n = name
		}
		for _, u := range m.PeerURLs {
			conf = append(conf, fmt.Sprintf("%s=%s", n, u))
		}
	}
	fmt.Fprint(w, "\n")
	fmt.Fprintf(w, "SHELF_NAME=%q\n", name)
	fmt.Fprintf(w, "SHELF_INITIAL_CLUSTER=%q\n", strings.Join(conf, ","))
	fmt.Fprintf(w, "SHELF_INITIAL_ADVERTISE_PEER_URLS=%q\n", strings.Join(peers, ","))
	fmt.Fprintf(w, "SHELF_INITIAL_CLUSTER_STATE=\"existing\"\n")
}

// memberIDCall is a call on one member, by ID.
type memberIDCall = func(c *client.Client, ctx context.Context, id uint64) (*client.MemberResponse, error)

// memberIDSetup is a command of memberIDRun's shape without flags.
func memberIDSetup(verb string, call memberIDCall) func(*pflag.FlagSet) runner {
	return func(*pflag.FlagSet) runner { return memberIDRun(verb, nil, call) }
}

// memberIDRun is the shape of member remove, promote and update: one hex
// ID, then check (of the flags; nil for none), one call, "Member <id>
// <verb> cluster <cluster id>".
func memberIDRun(verb string, check func() error, call memberIDCall) runner {
	return exactArgs(1, "member ID is not provided", func(a *app, args []string) error {
		id, err := parseMemberID(args[0])
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		return request(a, func(ctx context.Context, c *client.Client) (*client.MemberResponse, error) {
			return call(c, ctx, id)
		}, jmembers, func(resp *client.MemberResponse) error {
			fmt.Fprintf(a.stdout, "Member %16x %s cluster %16x\n", id, verb, resp.Header.ClusterID)
			return nil
		})
	})
}
