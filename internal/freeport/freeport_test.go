package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestGetGivesDistinctListenablePorts(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 200; i++ {
		p, err := Get()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		if p < low || p >= ephemeralStart() {
			t.Fatalf("port %d outside [%d, %d)", p, low, ephemeralStart())
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d is not listenable: %v", p, err)
		}
		l.Close()
	}
}
