package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shelf-kv/shelf/client"
)

// target is one endpoint a per-member command addresses: its URL and how
// it is displayed (as given on the command line, or the member's client
// URL with --cluster, as etcdctl shows them).
type target struct {
	url, name string
}

// targets are the --endpoints, or with cluster every member's client URLs
// (etcdctl's endpointsFromCluster).
func (a *app) targets(cluster bool) ([]target, error) {
	if !cluster {
		urls, err := a.endpointURLs()
		if err != nil {
			return nil, err
		}
		var out []target
		i := 0
		for _, ep := range a.g.endpoints {
			if ep = strings.TrimSpace(ep); ep != "" {
				out = append(out, target{url: urls[i], name: ep})
				i++
			}
		}
		return out, nil
	}
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	ctx, cancel := a.ctx()
	defer cancel()
	resp, err := c.MemberList(ctx)
	if err != nil {
		return nil, withCode(exitError, fmt.Errorf("failed to fetch endpoints from etcd cluster member list: %w", err))
	}
	var out []target
	for _, m := range resp.Members {
		for _, u := range m.ClientURLs {
			out = append(out, target{url: u, name: u})
		}
	}
	return out, nil
}

// jStatus is one element of etcdctl's -w json endpoint status: the
// endpoint and etcd's StatusResponse (camelCase names from its .proto).
type jStatus struct {
	Endpoint string     `json:"Endpoint"`
	Status   jStatusPay `json:"Status"`
}

type jStatusPay struct {
	Header           *jHeader `json:"header,omitempty"`
	Version          string   `json:"version,omitempty"`
	DBSize           int64    `json:"dbSize,omitempty"`
	Leader           uint64   `json:"leader,omitempty"`
	RaftIndex        uint64   `json:"raftIndex,omitempty"`
	RaftTerm         uint64   `json:"raftTerm,omitempty"`
	RaftAppliedIndex uint64   `json:"raftAppliedIndex,omitempty"`
	Errors           []string `json:"errors,omitempty"`
	DBSizeInUse      int64    `json:"dbSizeInUse,omitempty"`
	IsLearner        bool     `json:"isLearner,omitempty"`
}

type epStatus struct {
	name string
	resp *client.StatusResponse
}

// statusRows is etcdctl's makeEndpointStatusTable (3.4: no DB SIZE IN USE column).
func statusRows(list []epStatus) ([]string, [][]string) {
	hdr := []string{"endpoint", "ID", "version", "db size", "is leader", "is learner", "raft term",
		"raft index", "raft applied index", "errors"}
	var rows [][]string
	for _, s := range list {
		r := s.resp
		rows = append(rows, []string{s.name, fmt.Sprintf("%x", r.Header.MemberID), r.Version,
			humanBytes(uint64(max(r.DBSize, 0))), fmt.Sprint(r.Leader == r.Header.MemberID),
			fmt.Sprint(r.IsLearner), fmt.Sprint(r.RaftTerm), fmt.Sprint(r.RaftIndex),
			fmt.Sprint(r.RaftAppliedIndex), strings.Join(r.Errors, ", ")})
	}
	return hdr, rows
}

func endpointStatus(a *app, ts []target) error {
	var list []epStatus
	failed, err := a.eachTarget(ts, "Failed to get the status of endpoint %s (%s)\n", func(ctx context.Context, c *client.Client, t target) error {
		resp, err := c.Status(ctx, t.url)
		if err == nil {
			list = append(list, epStatus{name: t.name, resp: resp})
		}
		return err
	})
	if err != nil {
		return err
	}
	out := make([]jStatus, 0, len(list))
	for _, s := range list {
		r := s.resp
		out = append(out, jStatus{Endpoint: s.name, Status: jStatusPay{Header: hdrOrNil(r.Header),
			Version: r.Version, DBSize: r.DBSize, Leader: r.Leader, RaftIndex: r.RaftIndex,
			RaftTerm: r.RaftTerm, RaftAppliedIndex: r.RaftAppliedIndex, Errors: r.Errors,
			DBSizeInUse: r.DBSizeInUse, IsLearner: r.IsLearner}})
	}
	hdr, rows := statusRows(list)
	if err := a.printRows(out, hdr, rows); err != nil {
		return err
	}
	return failed
}

// epHealth is etcdctl's epHealth, and its -w json shape.
type epHealth struct {
	Ep     string `json:"endpoint"`
	Health bool   `json:"health"`
	Took   string `json:"took"`
	Error  string `json:"error,omitempty"`
}

// checkHealth is etcdctl's health check of one endpoint: a linearizable
// Get of "health" through that member alone (it needs a leader and a
// quorum), then no active alarm.
func (a *app) checkHealth(t target) epHealth {
	h := epHealth{Ep: t.name}
	c, err := a.newClient([]string{t.url})
	if err != nil {
		h.Error = errText(err)
		return h
	}
	defer c.Close()
	ctx, cancel := a.ctx()
	defer cancel()
	start := time.Now()
	_, err = c.Get(ctx, "health")
	h.Took = time.Since(start).String()
	if err != nil {
		h.Error = errText(err)
		return h
	}
	h.Health = true
	if msg := a.alarmHealth(ctx, c); msg != "" {
		h.Health, h.Error = false, msg
	}
	return h
}

func endpointHealth(a *app, ts []target) error {
	if _, err := a.tlsConfig(); err != nil {
		return err
	}
	hs := make([]epHealth, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() { defer wg.Done(); hs[i] = a.checkHealth(t) }()
	}
	wg.Wait()
	healthy := true
	for _, h := range hs {
		healthy = healthy && h.Health
	}
	switch a.g.writeOut {
	case outJSON:
		if err := a.printJSON(hs); err != nil {
			return err
		}
	case outTable:
		var rows [][]string
		for _, h := range hs {
			rows = append(rows, []string{h.Ep, fmt.Sprint(h.Health), h.Took, h.Error})
		}
		renderTable(a.stdout, []string{"endpoint", "health", "took", "error"}, rows)
	default:
		// etcdctl difference: etcdctl 3.4 prints these lines on
		// stderr; shelfctl prints them on stdout, where the answer
		// of a command belongs.
		for _, h := range hs {
			if h.Health {
				fmt.Fprintf(a.stdout, "%s is healthy: successfully committed proposal: took = %v\n", h.Ep, h.Took)
			} else {
				fmt.Fprintf(a.stdout, "%s is unhealthy: failed to commit proposal: %v\n", h.Ep, h.Error)
			}
		}
	}
	if !healthy {
		return errors.New("unhealthy cluster")
	}
	return nil
}
