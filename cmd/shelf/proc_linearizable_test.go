package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// kvInput and kvOutput are one operation of the linearizability history.
type kvInput struct {
	put        bool
	key, value string
}

type kvOutput struct {
	value string
}

// registerModel is a map of independent registers, checked one key at a
// time: a get must return the last value put (or "" before any put).
var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(kvInput).key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		in := input.(kvInput)
		if in.put {
			return true, in.value
		}
		return output.(kvOutput).value == state.(string), state
	},
	DescribeOperation: func(input, output interface{}) string {
		in := input.(kvInput)
		if in.put {
			return fmt.Sprintf("put(%s, %s)", in.key, in.value)
		}
		return fmt.Sprintf("get(%s) -> %q", in.key, output.(kvOutput).value)
	},
}

// TestProcLinearizableAcrossLeaderKill records the history of concurrent
// clients putting and (linearizably) getting a few keys through every
// member while the leader is killed with -9 and later restarted, and checks
// the history with porcupine. A put that failed may or may not have been
// applied: it is recorded as still running until the end of time, which
// lets the checker place it anywhere after its start (or nowhere visible).
// The check is not vacuous: with the gets made serializable (local, possibly
// stale reads on followers) it reports the history Illegal.
func TestProcLinearizableAcrossLeaderKill(t *testing.T) {
	c := newProcCluster(t, 3)
	c.startAll()
	c.waitHealthy()
	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }
	var (
		mu      sync.Mutex
		history []porcupine.Operation
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	keys := []string{"lin/a", "lin/b", "lin/c", "lin/d"}
	for client := 0; client < 8; client++ {
		wg.Add(1)
		go func(client int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(client), 7))
			w := &writer{c: c}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				eps := w.endpoints()
				if len(eps) == 0 {
					continue
				}
				ep := eps[rng.IntN(len(eps))]
				in := kvInput{put: rng.IntN(2) == 0, key: keys[rng.IntN(len(keys))]}
				op := porcupine.Operation{ClientId: client, Input: in, Call: now()}
				if in.put {
					in.value = fmt.Sprintf("c%d-%d", client, i)
					op.Input = in
					err := putKV(ep, in.key, in.value)
					op.Return, op.Output = now(), kvOutput{}
					if err != nil {
						op.Return = math.MaxInt64 // outcome unknown
					}
				} else {
					v, _, err := getKV(ep, in.key, false)
					if err != nil {
						continue // a failed read has no effect
					}
					op.Return, op.Output = now(), kvOutput{value: v}
				}
				mu.Lock()
				history = append(history, op)
				mu.Unlock()
			}
		}(client)
	}
	waitOps := func(n int) {
		deadline := time.Now().Add(60 * time.Second)
		for {
			mu.Lock()
			got := len(history)
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d operations recorded within 60s", got)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitOps(300)
	lead := c.leader()
	c.kill(lead)
	waitOps(800)
	c.start(lead)
	c.waitHealthy()
	waitOps(1300)
	close(stop)
	wg.Wait()

	unknown := 0
	for _, op := range history {
		if op.Return == math.MaxInt64 {
			unknown++
		}
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel, history, 60*time.Second)
	t.Logf("%d operations (%d puts of unknown outcome) across the kill of %s: %s", len(history), unknown, lead.name, res)
	if res == porcupine.Illegal {
		path := t.TempDir() + "/history.html"
		if err := porcupine.VisualizePath(registerModel, info, path); err == nil {
			t.Logf("visualization: %s", path)
		}
		t.Fatal("the history is not linearizable")
	}
}
