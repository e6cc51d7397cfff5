package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// applyEnv sets every flag that was not given on the command line from its
// environment variable, if present: --initial-cluster-token reads
// SHELF_INITIAL_CLUSTER_TOKEN. A command-line flag always wins. A bad value
// in the environment is an error naming the variable.
func applyEnv(fs *pflag.FlagSet, prefix string) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := prefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment variable %s=%q: %v", name, v, e)
			}
		}
	})
	return err
}

// splitURLs splits a comma-separated URL list, dropping empty items.
func splitURLs(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}
