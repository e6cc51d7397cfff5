// Command kvbench measures puts/s through the etcd v3 JSON API on a
// 3-member shelf cluster and, in the same run on the same machine, on a
// 3-member etcd cluster started the same way, at several client counts,
// with the fsyncs each put cost (from both systems' own metrics).
//
//	go run ./bench/cmd/kvbench --shelf bin/shelf --etcd $(command -v etcd)
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/shelf-kv/shelf/bench"
)

type row struct {
	System       string  `json:"system"`
	Clients      int     `json:"clients"`
	PutsPerSec   float64 `json:"puts_per_sec"`
	P50Ms        float64 `json:"p50_ms"`
	P99Ms        float64 `json:"p99_ms"`
	FsyncsPerPut float64 `json:"fsyncs_per_put"`
	Errors       int     `json:"errors"`
	DiskProfile  string  `json:"disk_profile"`
	DurationSecs float64 `json:"duration_secs"`
}

func main() {
	shelfBin := pflag.String("shelf", "bin/shelf", "shelf binary")
	etcdBin := pflag.String("etcd", "", `etcd binary (default: etcd on PATH); "none" measures shelf only`)
	clients := pflag.String("clients", "1,16,256", "comma-separated client counts")
	dur := pflag.Duration("duration", 5*time.Second, "measured time per run")
	warm := pflag.Duration("warmup", time.Second, "unmeasured time before each run")
	profile := pflag.String("disk-profile", "real", "shelf's emulated disk (etcd always runs on the real disk)")
	jsonOut := pflag.String("json", "", "also write the rows as JSON to this file")
	pflag.Parse()
	if err := run(*shelfBin, *etcdBin, *clients, *dur, *warm, *profile, *jsonOut); err != nil {
		fmt.Fprintln(os.Stderr, "kvbench:", err)
		os.Exit(1)
	}
}

func run(shelfBin, etcdBin, clientList string, dur, warm time.Duration, profile, jsonOut string) error {
	var levels []int
	for _, s := range strings.Split(clientList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("--clients: %q is not a positive number", s)
		}
		levels = append(levels, n)
	}
	switch etcdBin {
	case "":
		etcdBin, _ = exec.LookPath("etcd")
	case "none":
		etcdBin = ""
	}
	dir, err := os.MkdirTemp("", "kvbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	specs := []bench.ClusterSpec{{Name: "shelf", Binary: shelfBin, Member: []string{"member"}, Size: 3, Dir: dir,
		Extra: []string{"--disk-profile", profile, "--log-level", "warn", "--enable-pprof"}}}
	if etcdBin != "" {
		specs = append(specs, bench.ClusterSpec{Name: "etcd", Binary: etcdBin, Size: 3, Dir: dir,
			Extra: []string{"--log-level", "warn"}})
	} else {
		fmt.Println("kvbench: no etcd binary found; measuring shelf only")
	}
	clusters := map[string]*bench.Cluster{}
	for _, sp := range specs {
		fmt.Printf("starting a 3-member %s cluster...\n", sp.Name)
		c, err := bench.StartCluster(sp)
		if err != nil {
			return err
		}
		defer c.Stop()
		clusters[sp.Name] = c
	}
	var rows []row
	// Interleave the systems at each level so slow drift of a shared
	// machine hits both alike.
	for _, n := range levels {
		for _, sp := range specs {
			c := clusters[sp.Name]
			fmt.Printf("%s: %d clients for %v (after %v warm-up)...\n", sp.Name, n, dur, warm)
			if warm > 0 {
				if _, err := bench.RunPuts(context.Background(), bench.PutLoad{Endpoints: c.Endpoints, Clients: n,
					Duration: warm, Seed: uint64(n) + 1000}); err != nil {
					return fmt.Errorf("%s warm-up at %d clients: %w", sp.Name, n, err)
				}
			}
			// Scraped between the warm-up and the measured run, so the
			// fsync delta belongs to the measured puts alone.
			before, err := bench.ScrapeAll(c.Endpoints, "etcd_disk_wal_fsync_duration_seconds_count")
			if err != nil {
				return err
			}
			res, err := bench.RunPuts(context.Background(), bench.PutLoad{Endpoints: c.Endpoints, Clients: n,
				Duration: dur, Seed: uint64(n)})
			if err != nil {
				return fmt.Errorf("%s at %d clients: %w", sp.Name, n, err)
			}
			after, err := bench.ScrapeAll(c.Endpoints, "etcd_disk_wal_fsync_duration_seconds_count")
			if err != nil {
				return err
			}
			perPut := 0.0
			if res.Puts > 0 {
				perPut = (after - before) / float64(res.Puts)
			}
			prof := profile
			if sp.Name == "etcd" {
				prof = "real"
			}
			r := row{System: sp.Name, Clients: n, PutsPerSec: res.PutsPerSec, P50Ms: ms(res.P50), P99Ms: ms(res.P99),
				FsyncsPerPut: perPut, Errors: res.Errors, DiskProfile: prof, DurationSecs: dur.Seconds()}
			rows = append(rows, r)
			fmt.Printf("  %s\n", res)
		}
	}
	printTable(rows)
	if jsonOut != "" {
		b, _ := json.MarshalIndent(rows, "", "  ")
		if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printTable(rows []row) {
	fmt.Printf("\n%-6s %8s %10s %9s %9s %12s %7s %8s\n", "system", "clients", "puts/s", "p50 ms", "p99 ms", "fsyncs/put", "errors", "disk")
	etcd := map[int]float64{}
	for _, r := range rows {
		if r.System == "etcd" {
			etcd[r.Clients] = r.PutsPerSec
		}
	}
	for _, r := range rows {
		fmt.Printf("%-6s %8d %10.0f %9.2f %9.2f %12.3f %7d %8s\n", r.System, r.Clients, r.PutsPerSec, r.P50Ms, r.P99Ms, r.FsyncsPerPut, r.Errors, r.DiskProfile)
	}
	if len(etcd) > 0 {
		fmt.Println()
		for _, r := range rows {
			if r.System == "shelf" && etcd[r.Clients] > 0 {
				fmt.Printf("shelf/etcd puts/s at %d clients: %.2fx\n", r.Clients, r.PutsPerSec/etcd[r.Clients])
			}
		}
	}
}
