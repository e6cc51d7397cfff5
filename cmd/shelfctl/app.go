package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/shelf-kv/shelf/client"
	"github.com/spf13/pflag"
)

// globals are the flags every command takes (etcdctl's global flags),
// each also read from SHELFCTL_<FLAG> when not given on the command line.
type globals struct {
	endpoints      []string
	writeOut       string
	dialTimeout    time.Duration
	commandTimeout time.Duration
	cacert         string
	cert           string
	key            string
	insecureSkip   bool
}

// Output formats (etcdctl's names; "fields" and "protobuf" are not offered).
const (
	outSimple = "simple"
	outJSON   = "json"
	outTable  = "table"
)

// app is one run of shelfctl: the parsed global flags, the streams, and
// the client, created on first use.
type app struct {
	g      globals
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	cli    *client.Client // nil until client() is called
}

// command is one shelfctl command. setup registers the command's own flags
// on fs (into variables it captures) and returns the function that runs
// it with the positional arguments, once every flag is parsed.
type command struct {
	name  string // "get", or "lease grant" for a command of a group
	args  string // the positional arguments, for usage
	short string
	setup func(fs *pflag.FlagSet) runner
}

// commands is every command, by full name. Groups ("lease", "member",
// "endpoint", "alarm") are the first word of several names.
func commands() map[string]*command {
	m := map[string]*command{}
	for _, list := range [][]*command{kvCommands(), txnCommands(), clusterCommands(), maintCommands(),
		watchCommands(), leaseCommands(), alarmCommands(), defragCommands()} {
		for _, c := range list {
			m[c.name] = c
		}
	}
	return m
}

// registerGlobals puts the global flags on fs, bound to g.
func registerGlobals(fs *pflag.FlagSet, g *globals) {
	fs.StringSliceVar(&g.endpoints, "endpoints", []string{"127.0.0.1:2379"}, "comma-separated member client URLs (host:port, or http(s)://host:port)")
	fs.StringVarP(&g.writeOut, "write-out", "w", outSimple, "output format: simple, json or table")
	fs.DurationVar(&g.dialTimeout, "dial-timeout", 2*time.Second, "dial timeout for client connections")
	fs.DurationVar(&g.commandTimeout, "command-timeout", 5*time.Second, "timeout for short running command (excluding dial timeout)")
	fs.StringVar(&g.cacert, "cacert", "", "verify certificates of TLS-enabled secure servers using this CA bundle")
	fs.StringVar(&g.cert, "cert", "", "identify secure client using this TLS certificate file")
	fs.StringVar(&g.key, "key", "", "identify secure client using this TLS key file")
	fs.BoolVar(&g.insecureSkip, "insecure-skip-tls-verify", false, "skip server certificate verification (CAUTION: for testing only)")
}

// dispatch parses the global flags, finds the command, parses its flags
// (global flags are accepted there too, as etcdctl's persistent flags),
// applies the SHELFCTL_ environment and runs it.
func (a *app) dispatch(args []string) error {
	gfs := pflag.NewFlagSet("shelfctl", pflag.ContinueOnError)
	gfs.SetOutput(io.Discard)
	gfs.SetInterspersed(false)
	registerGlobals(gfs, &a.g)
	if err := gfs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			a.usage(gfs)
			return nil
		}
		return err
	}
	rest := gfs.Args()
	if len(rest) == 0 {
		a.usage(gfs)
		return nil
	}
	all := commands()
	name := rest[0]
	cmd, ok := all[name]
	n := 1
	if !ok && isGroup(all, name) {
		if len(rest) < 2 || strings.HasPrefix(rest[1], "-") {
			a.groupUsage(all, name)
			if len(rest) >= 2 && (rest[1] == "-h" || rest[1] == "--help") {
				return nil
			}
			return badArgs("%s needs a subcommand: %s", name, strings.Join(groupSubs(all, name), ", "))
		}
		name += " " + rest[1]
		cmd, ok = all[name]
		n = 2
		if !ok {
			return fmt.Errorf("unknown command %q for \"shelfctl %s\"", rest[1], rest[0])
		}
	}
	if !ok {
		return fmt.Errorf("unknown command %q for \"shelfctl\"\nRun 'shelfctl --help' for usage.", name)
	}
	cfs := pflag.NewFlagSet("shelfctl "+name, pflag.ContinueOnError)
	cfs.SetOutput(io.Discard)
	runCmd := cmd.setup(cfs)
	own := cfs.FlagUsages()
	cfs.AddFlagSet(gfs)
	if err := cfs.Parse(rest[n:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(a.stdout, "Usage: shelfctl %s [flags] %s\n\n%s\n", cmd.name, cmd.args, cmd.short)
			if own != "" {
				fmt.Fprintf(a.stdout, "\nFlags:\n%s", own)
			}
			fmt.Fprintf(a.stdout, "\nGlobal flags:\n%s", gfs.FlagUsages())
			return nil
		}
		return err
	}
	if err := applyEnv(gfs); err != nil {
		return err
	}
	switch a.g.writeOut {
	case outSimple, outJSON, outTable:
	default:
		return badFeature("unsupported output format %q for --write-out (simple, json or table)", a.g.writeOut)
	}
	return runCmd(a, cfs.Args())
}

func isGroup(all map[string]*command, name string) bool { return len(groupSubs(all, name)) > 0 }

// groupSubs lists the subcommands of group name, sorted.
func groupSubs(all map[string]*command, name string) []string {
	var subs []string
	for full := range all {
		if g, sub, ok := strings.Cut(full, " "); ok && g == name {
			subs = append(subs, sub)
		}
	}
	sort.Strings(subs)
	return subs
}

// applyEnv sets every global flag not given on the command line from
// SHELFCTL_<FLAG> (--dial-timeout from SHELFCTL_DIAL_TIMEOUT). A bad value
// is an error naming the variable.
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := "SHELFCTL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if f.Name == "endpoints" {
			// A slice flag appends on Set after the first; start afresh.
			f.Value.(pflag.SliceValue).Replace(nil)
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("environment variable %s=%q: %v", name, v, e)
		}
	})
	return err
}

func (a *app) usage(fs *pflag.FlagSet) {
	all := commands()
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(a.stdout, "shelfctl: the command-line client of a shelf cluster (etcdctl's commands and flags)\n\nUsage: shelfctl [global flags] <command> [flags] [args]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(a.stdout, "  %-46s %s\n", n+" "+all[n].args, all[n].short)
	}
	fmt.Fprintf(a.stdout, "\nGlobal flags (also from SHELFCTL_<FLAG>, e.g. SHELFCTL_ENDPOINTS):\n%s", fs.FlagUsages())
}

func (a *app) groupUsage(all map[string]*command, group string) {
	fmt.Fprintf(a.stdout, "Usage: shelfctl %s <subcommand>\n\nSubcommands:\n", group)
	for _, s := range groupSubs(all, group) {
		c := all[group+" "+s]
		fmt.Fprintf(a.stdout, "  %-46s %s\n", s+" "+c.args, c.short)
	}
}

// endpointURLs turns --endpoints into URLs: an endpoint without a scheme
// gets https:// when any TLS flag is set, http:// otherwise (etcdctl
// accepts both forms too).
func (a *app) endpointURLs() ([]string, error) {
	scheme := "http://"
	if a.g.cacert != "" || a.g.cert != "" || a.g.key != "" || a.g.insecureSkip {
		scheme = "https://"
	}
	var out []string
	for _, ep := range a.g.endpoints {
		ep = strings.TrimSpace(ep)
		if ep == "" {
			continue
		}
		if !strings.Contains(ep, "://") {
			ep = scheme + ep
		}
		out = append(out, ep)
	}
	if len(out) == 0 {
		return nil, badArgs("--endpoints is empty")
	}
	return out, nil
}

// tlsConfig builds the TLS configuration of the TLS flags, or nil when
// none is set.
func (a *app) tlsConfig() (*tls.Config, error) {
	g := a.g
	if g.cacert == "" && g.cert == "" && g.key == "" && !g.insecureSkip {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: g.insecureSkip}
	if (g.cert == "") != (g.key == "") {
		return nil, badArgs("--cert and --key must be given together")
	}
	if g.cert != "" {
		c, err := tls.LoadX509KeyPair(g.cert, g.key)
		if err != nil {
			return nil, badArgs("--cert/--key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	if g.cacert != "" {
		pem, err := os.ReadFile(g.cacert)
		if err != nil {
			return nil, badArgs("--cacert: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, badArgs("--cacert %s: no PEM certificate in it", g.cacert)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// newClient builds a client for eps with the global flags' timeouts and TLS.
func (a *app) newClient(eps []string) (*client.Client, error) {
	tc, err := a.tlsConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{Endpoints: eps, DialTimeout: a.g.dialTimeout,
		RequestTimeout: a.g.commandTimeout, TLS: tc})
	if err != nil {
		return nil, badArgs("%v", err)
	}
	return c, nil
}

// client is the client of every --endpoints endpoint, with failover.
func (a *app) client() (*client.Client, error) {
	if a.cli != nil {
		return a.cli, nil
	}
	eps, err := a.endpointURLs()
	if err != nil {
		return nil, err
	}
	a.cli, err = a.newClient(eps)
	return a.cli, err
}

func (a *app) close() {
	if a.cli != nil {
		a.cli.Close()
	}
}

// ctx is the context of one request: --command-timeout, as etcdctl's
// commandCtx.
func (a *app) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.g.commandTimeout)
}

// errText is how an error is printed after "Error: ": a member's answer
// prints as etcd's message alone ("etcdserver: mvcc: required revision has
// been compacted"), as etcdctl. A call that ran out of time prints
// "context deadline exceeded", as etcdctl, followed (etcdctl difference)
// by the last failure that made it retry, e.g. "(last error: dial tcp
// 127.0.0.1:2379: connect: connection refused)".
func errText(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		if last := lastError(err); last != nil && !errors.Is(last, context.DeadlineExceeded) {
			return "context deadline exceeded (last error: " + causeText(last) + ")"
		}
		return "context deadline exceeded"
	}
	return causeText(err)
}

// causeText is err without the client's wrapping: etcd's message for a
// member's answer, the network error for a failed request.
func causeText(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce.Message
	}
	if errors.Is(err, client.ErrLeaseNotFound) { // found by the client itself (keepalive)
		return "etcdserver: requested lease not found"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// lastError digs out the last attempt's failure from the client's
// "gave up" error, which wraps the context's error and that failure.
func lastError(err error) error {
	for err != nil {
		if m, ok := err.(interface{ Unwrap() []error }); ok {
			errs := m.Unwrap()
			if len(errs) == 0 {
				return nil
			}
			return errs[len(errs)-1]
		}
		err = errors.Unwrap(err)
	}
	return nil
}
