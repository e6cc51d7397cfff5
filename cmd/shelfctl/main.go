// Command shelfctl is the command-line client of a shelf cluster. It is to
// shelf what etcdctl (v3) is to etcd: the same command names, flags, output
// formats and exit codes wherever they apply, so an etcdctl user feels at
// home. It talks to the members only through client/.
//
// Deliberate differences from etcdctl 3.4 are listed in README.md's
// shelfctl section; each is marked "etcdctl difference" in the code.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is shelfctl's version, printed by `shelfctl version`.
const version = "0.1.0"

// apiVersion is the etcd API level shelf serves, as etcdctl prints it.
const apiVersion = "3.4"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit codes, as etcdctl's (ctlv3/command/error.go).
const (
	exitSuccess       = 0
	exitError         = 1
	exitBadConnection = 2
	exitInvalidInput  = 3
	exitBadFeature    = 4
	exitInterrupted   = 5
	exitBadArgs       = 128
)

// exitErr is an error with the exit code etcdctl uses for it.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitErr) Unwrap() error { return e.err }

// silentExit makes run exit with code without printing anything more:
// the command already said what went wrong.
func silentExit(code int) error { return &exitErr{code: code} }

// withCode wraps err with an exit code (nil stays nil).
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitErr{code: code, err: err}
}

// badArgs is a usage error (wrong number of arguments, unparsable argument):
// exit 128, as etcdctl's ExitBadArgs.
func badArgs(format string, a ...any) error {
	return &exitErr{code: exitBadArgs, err: fmt.Errorf(format, a...)}
}

// badFeature is an unsupported option value (output format, sort order,
// consistency): exit 4, as etcdctl's ExitBadFeature.
func badFeature(format string, a ...any) error {
	return &exitErr{code: exitBadFeature, err: fmt.Errorf(format, a...)}
}

// run is the whole program: it parses args, runs the command, prints any
// error as "Error: ..." on stderr and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	defer a.close()
	err := a.dispatch(args)
	if err == nil {
		return exitSuccess
	}
	code := exitError
	if e, ok := err.(*exitErr); ok {
		code = e.code
		if e.err == nil { // already reported, as etcdctl does for endpoint status
			return code
		}
	}
	fmt.Fprintln(stderr, "Error:", errText(err))
	return code
}
