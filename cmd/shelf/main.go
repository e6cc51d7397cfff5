// Command shelf is the shelf daemon: `shelf member` runs one member of a
// cluster, `shelf up` runs a local 3-member cluster on loopback.
package main

import (
	"fmt"
	"os"
)

// version is the shelf version reported by `shelf version` and the status API.
const version = "0.1.0"

const usage = `shelf: a replicated, revisioned key-value store

Usage:
  shelf member [flags]   run one member of a cluster (etcd's flag names)
  shelf up [flags]       run a local 3-member cluster on loopback
  shelf version          print the version

Run "shelf <command> --help" for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "member":
		err = runMember(os.Args[2:])
	case "up":
		err = runUp(os.Args[2:])
	case "version", "--version":
		fmt.Println("shelf", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "shelf: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "shelf:", err)
		os.Exit(1)
	}
}
