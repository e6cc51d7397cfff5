package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/shelf-kv/shelf/client"
	"github.com/spf13/pflag"
)

// leaseCommands are lease grant|revoke|timetolive|list|keep-alive
// (etcdctl's lease_command.go). Lease IDs are hexadecimal, as etcdctl's.
func leaseCommands() []*command {
	return []*command{
		{name: "lease grant", args: "<ttl>", short: "Creates leases", setup: setupLeaseGrant},
		{name: "lease revoke", args: "<leaseID>", short: "Revokes leases", setup: setupLeaseRevoke},
		{name: "lease timetolive", args: "<leaseID> [--keys]", short: "Get lease information", setup: setupLeaseTimeToLive},
		{name: "lease list", short: "List all active leases", setup: setupLeaseList},
		{name: "lease keep-alive", args: "[--once] <leaseID>", short: "Keeps leases alive (renew)", setup: setupLeaseKeepAlive},
	}
}

// parseLeaseID parses a hexadecimal lease ID argument as etcdctl does.
func parseLeaseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 16, 64)
	if err != nil {
		return 0, badArgs("bad lease ID arg (%v), expecting ID in Hex", err)
	}
	return id, nil
}

// JSON shapes of clientv3's lease responses: the header's fields inline
// (an embedded *pb.ResponseHeader), then the lease fields.

type jLeaseGrant struct {
	*jHeader
	ID    int64  `json:"ID"`
	TTL   int64  `json:"TTL"`
	Error string `json:"Error"`
}

type jLeaseKeepAlive struct {
	*jHeader
	ID  int64 `json:"ID"`
	TTL int64 `json:"TTL"`
}

type jLeaseTTL struct {
	*jHeader
	ID         int64    `json:"id"`
	TTL        int64    `json:"ttl"`
	GrantedTTL int64    `json:"granted-ttl"`
	Keys       [][]byte `json:"keys"`
}

type jLeaseStatus struct {
	ID int64 `json:"id"`
}

type jLeases struct {
	*jHeader
	Leases []jLeaseStatus `json:"leases"`
}

type jLeaseRevoke struct {
	Header *jHeader `json:"header,omitempty"`
}

func setupLeaseGrant(fs *pflag.FlagSet) runner {
	return exactArgs(1, "lease grant command needs TTL argument", func(a *app, args []string) error {
		return request(a, func(ctx context.Context, c *client.Client) (*client.LeaseGrantResponse, error) {
			ttl, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return nil, badArgs("bad TTL (%v)", err)
			}
			resp, err := c.Grant(ctx, ttl)
			if err != nil {
				return nil, fmt.Errorf("failed to grant lease (%s)", errText(err))
			}
			return resp, nil
		}, func(resp *client.LeaseGrantResponse) jLeaseGrant {
			return jLeaseGrant{jHeader: hdrOrNil(resp.Header), ID: resp.ID, TTL: resp.TTL}
		}, func(resp *client.LeaseGrantResponse) error {
			fmt.Fprintf(a.stdout, "lease %016x granted with TTL(%ds)\n", resp.ID, resp.TTL)
			return nil
		})
	})
}

func setupLeaseRevoke(fs *pflag.FlagSet) runner {
	return exactArgs(1, "lease revoke command needs 1 argument", func(a *app, args []string) error {
		var id int64
		return request(a, func(ctx context.Context, c *client.Client) (*client.LeaseRevokeResponse, error) {
			var err error
			if id, err = parseLeaseID(args[0]); err != nil {
				return nil, err
			}
			resp, err := c.Revoke(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("failed to revoke lease (%s)", errText(err))
			}
			return resp, nil
		}, func(resp *client.LeaseRevokeResponse) jLeaseRevoke {
			return jLeaseRevoke{Header: hdrOrNil(resp.Header)}
		}, func(*client.LeaseRevokeResponse) error {
			fmt.Fprintf(a.stdout, "lease %016x revoked\n", id)
			return nil
		})
	})
}

func setupLeaseTimeToLive(fs *pflag.FlagSet) runner {
	var keys bool
	fs.BoolVar(&keys, "keys", false, "Get keys attached to this lease")
	return exactArgs(1, "lease timetolive command needs lease ID as argument", func(a *app, args []string) error {
		return request(a, func(ctx context.Context, c *client.Client) (*client.LeaseTimeToLiveResponse, error) {
			id, err := parseLeaseID(args[0])
			if err != nil {
				return nil, err
			}
			resp, err := c.TimeToLive(ctx, id, keys)
			return resp, withCode(exitBadConnection, err)
		}, func(resp *client.LeaseTimeToLiveResponse) jLeaseTTL {
			return jLeaseTTL{jHeader: hdrOrNil(resp.Header), ID: resp.ID, TTL: resp.TTL,
				GrantedTTL: resp.GrantedTTL, Keys: resp.Keys}
		}, func(resp *client.LeaseTimeToLiveResponse) error {
			if resp.GrantedTTL == 0 && resp.TTL == -1 {
				fmt.Fprintf(a.stdout, "lease %016x already expired\n", resp.ID)
				return nil
			}
			txt := fmt.Sprintf("lease %016x granted with TTL(%ds), remaining(%ds)", resp.ID, resp.GrantedTTL, resp.TTL)
			if keys {
				ks := make([]string, len(resp.Keys))
				for i, k := range resp.Keys {
					ks[i] = string(k)
				}
				txt += fmt.Sprintf(", attached keys(%v)", ks)
			}
			fmt.Fprintln(a.stdout, txt)
			return nil
		})
	})
}

func setupLeaseList(fs *pflag.FlagSet) runner {
	return exactArgs(0, "lease list command does not accept argument", func(a *app, _ []string) error {
		return request(a, func(ctx context.Context, c *client.Client) (*client.LeaseLeasesResponse, error) {
			resp, err := c.Leases(ctx)
			return resp, withCode(exitBadConnection, err)
		}, func(resp *client.LeaseLeasesResponse) jLeases {
			// clientv3 makes the list with make(): [] when empty, never null.
			out := jLeases{jHeader: hdrOrNil(resp.Header), Leases: []jLeaseStatus{}}
			for _, l := range resp.Leases {
				out.Leases = append(out.Leases, jLeaseStatus{ID: l.ID})
			}
			return out
		}, func(resp *client.LeaseLeasesResponse) error {
			fmt.Fprintf(a.stdout, "found %d leases\n", len(resp.Leases))
			for _, l := range resp.Leases {
				fmt.Fprintf(a.stdout, "%016x\n", l.ID)
			}
			return nil
		})
	})
}

func setupLeaseKeepAlive(fs *pflag.FlagSet) runner {
	var once bool
	fs.BoolVar(&once, "once", false, "Resets the keep-alive time to its original value and exits immediately")
	return exactArgs(1, "lease keep-alive command needs lease ID as argument", func(a *app, args []string) error {
		if err := a.refuseTable(); err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		id, err := parseLeaseID(args[0])
		if err != nil {
			return err
		}
		show := func(resp *client.LeaseKeepAliveResponse) error {
			if a.g.writeOut == outJSON {
				return a.printJSON(jLeaseKeepAlive{jHeader: hdrOrNil(resp.Header), ID: resp.ID, TTL: resp.TTL})
			}
			fmt.Fprintf(a.stdout, "lease %016x keepalived with TTL(%d)\n", resp.ID, resp.TTL)
			return nil
		}
		if once {
			ctx, cancel := a.ctx()
			defer cancel()
			resp, err := c.KeepAliveOnce(ctx, id)
			if err != nil {
				return withCode(exitBadConnection, err)
			}
			return show(resp)
		}
		// Renew until Ctrl-C (or SIGTERM), or until the lease is gone.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		ch, err := c.KeepAlive(ctx, id)
		if errors.Is(err, client.ErrLeaseNotFound) {
			// As etcdctl: a lease that is already gone is no error.
			if a.g.writeOut == outSimple {
				fmt.Fprintf(a.stdout, "lease %016x expired or revoked.\n", id)
			}
			return nil
		}
		if err != nil {
			return withCode(exitBadConnection, err)
		}
		for resp := range ch {
			if err := show(resp); err != nil {
				return err
			}
		}
		if ctx.Err() == nil && a.g.writeOut == outSimple {
			fmt.Fprintf(a.stdout, "lease %016x expired or revoked.\n", id)
		}
		return nil
	})
}
