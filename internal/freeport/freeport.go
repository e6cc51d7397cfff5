// Package freeport picks loopback TCP ports for tests and tools that must
// name a port before some process listens on it (a member's peer URL goes
// into every other member's --initial-cluster before anything listens).
//
// The usual trick, listening on port 0 and closing, hands out a port from
// the kernel's ephemeral range, which outgoing connections draw from too:
// with many tests making connections in parallel, one of them can take the
// port in the gap between the close and the real listen ("address already
// in use"). Ports here come from below the ephemeral range instead, where
// the kernel never assigns anything by itself, so only another explicit
// chooser can collide; within one process no port is handed out twice.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// low is the first port handed out; high (exclusive) is the start of the
// ephemeral range, read from the kernel when possible.
const (
	low         = 10000
	defaultHigh = 32768
)

// handed remembers the ports this process gave out. It is the one piece of
// package state in the project: uniqueness must hold across every test of
// a binary, and the ports are a process-wide resource anyway.
var handed struct {
	sync.Mutex
	ports map[int]bool
}

// Get returns a loopback port that is free right now and was not returned
// before by this process.
func Get() (int, error) {
	high := ephemeralStart()
	handed.Lock()
	defer handed.Unlock()
	if handed.ports == nil {
		handed.ports = make(map[int]bool)
	}
	for try := 0; try < 1000; try++ {
		p := low + rand.IntN(high-low)
		if handed.ports[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		handed.ports[p] = true
		return p, nil
	}
	return 0, errors.New("freeport: no free port found below the ephemeral range")
}

// ephemeralStart reads the start of the kernel's ephemeral port range
// (Linux), falling back to its default.
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultHigh
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return defaultHigh
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= low+1000 {
		return defaultHigh
	}
	return n
}
