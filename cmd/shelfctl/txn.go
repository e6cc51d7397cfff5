package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shelf-kv/shelf/client"
	"github.com/spf13/pflag"
)

func txnCommands() []*command {
	return []*command{{name: "txn", args: "", short: "Txn processes all the requests in one transaction (from stdin, --file, or -i prompts)", setup: setupTxn}}
}

func setupTxn(fs *pflag.FlagSet) runner {
	var interactive bool
	var file string
	fs.BoolVarP(&interactive, "interactive", "i", false, "Input transaction in interactive mode")
	fs.StringVar(&file, "file", "", "read the transaction from this file instead of stdin")
	return exactArgs(0, "txn command does not accept argument", func(a *app, _ []string) error {
		if err := a.refuseTable(); err != nil {
			return err
		}
		var in io.Reader = a.stdin
		if file != "" {
			f, err := os.Open(file)
			if err != nil {
				return badArgs("--file: %v", err)
			}
			defer f.Close()
			in = f
		}
		if interactive {
			in = &promptReader{r: bufio.NewReader(in), w: a.stdout}
		}
		spec, err := parseTxn(in)
		if err != nil {
			return err
		}
		return request(a, func(ctx context.Context, c *client.Client) (*client.TxnResponse, error) {
			return c.Txn(ctx).If(spec.cmps...).Then(spec.then...).Else(spec.els...).Commit()
		}, jtxn, func(resp *client.TxnResponse) error {
			printTxn(a.stdout, resp)
			return nil
		})
	})
}

// promptReader prints etcdctl's -i prompts before each section: it hands
// out the input line by line and prints the next prompt after each blank
// line.
type promptReader struct {
	r       *bufio.Reader
	w       io.Writer
	section int
	pending []byte
}

var txnPrompts = []string{"compares:", "success requests (get, put, del):", "failure requests (get, put, del):"}

func (p *promptReader) Read(b []byte) (int, error) {
	if len(p.pending) == 0 {
		if p.section == 0 {
			fmt.Fprintln(p.w, txnPrompts[0])
			p.section = 1
		}
		line, err := p.r.ReadString('\n')
		if line == "" && err != nil {
			return 0, err
		}
		if strings.TrimSpace(line) == "" && p.section < len(txnPrompts) {
			fmt.Fprintln(p.w, txnPrompts[p.section])
			p.section++
		}
		p.pending = []byte(line)
	}
	n := copy(b, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

// printTxn is etcdctl's simple Txn: SUCCESS or FAILURE, then each
// response after a blank line, printed as its command would print it.
func printTxn(w io.Writer, resp *client.TxnResponse) {
	if resp.Succeeded {
		fmt.Fprintln(w, "SUCCESS")
	} else {
		fmt.Fprintln(w, "FAILURE")
	}
	for _, r := range resp.Responses {
		fmt.Fprintln(w)
		switch {
		case r.Delete != nil:
			printDel(w, r.Delete)
		case r.Put != nil:
			printPut(w, r.Put)
		case r.Get != nil:
			printGet(w, false, r.Get)
		default:
			fmt.Fprintf(w, "unexpected response %+v\n", r)
		}
	}
}

// jTxn is TxnResponse as encoding/json writes etcd's Go struct: the
// oneof response is {"Response":{"ResponsePut":{...}}}.
type jTxn struct {
	Header    *jHeader    `json:"header,omitempty"`
	Succeeded bool        `json:"succeeded,omitempty"`
	Responses []jRespOpOf `json:"responses,omitempty"`
}

type jRespOpOf struct {
	Response jRespOp `json:"Response"`
}

type jRespOp struct {
	ResponseRange       *jRange  `json:"ResponseRange,omitempty"`
	ResponsePut         *jPut    `json:"ResponsePut,omitempty"`
	ResponseDeleteRange *jDelete `json:"ResponseDeleteRange,omitempty"`
	ResponseTxn         *jTxn    `json:"ResponseTxn,omitempty"`
}

func jtxn(r *client.TxnResponse) *jTxn {
	out := &jTxn{Header: hdrOrNil(r.Header), Succeeded: r.Succeeded}
	for _, op := range r.Responses {
		var j jRespOp
		switch {
		case op.Get != nil:
			j.ResponseRange = jrange(op.Get)
		case op.Put != nil:
			j.ResponsePut = jput(op.Put)
		case op.Delete != nil:
			j.ResponseDeleteRange = jdel(op.Delete)
		case op.Txn != nil:
			j.ResponseTxn = jtxn(op.Txn)
		}
		out.Responses = append(out.Responses, jRespOpOf{Response: j})
	}
	return out
}
