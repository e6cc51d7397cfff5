package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"time"
)

// PutLoad configures a put load.
type PutLoad struct {
	// Endpoints are client URLs; client i sends to Endpoints[i%len].
	Endpoints []string
	// Clients is the number of concurrent clients, each with one request
	// in flight at a time.
	Clients int
	// Duration is how long the load runs; all of it is measured (run a
	// short load first to warm up).
	Duration time.Duration
	// KeySpace, KeySize and ValueSize shape the requests: keys are drawn
	// uniformly from KeySpace distinct keys of KeySize bytes.
	KeySpace, KeySize, ValueSize int
	// Seed seeds the key choice.
	Seed uint64
}

// Result is what one load run measured.
type Result struct {
	Clients    int
	Puts       int           // acknowledged puts in the measured phase
	Errors     int           // failed puts in the measured phase
	Elapsed    time.Duration // length of the measured phase
	P50, P99   time.Duration // put latency percentiles
	PutsPerSec float64
}

func (r Result) String() string {
	return fmt.Sprintf("clients=%d puts=%d errors=%d puts/s=%.0f p50=%v p99=%v",
		r.Clients, r.Puts, r.Errors, r.PutsPerSec, r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond))
}

// RunPuts runs the load and returns what the measured phase achieved.
func RunPuts(ctx context.Context, cfg PutLoad) (Result, error) {
	if len(cfg.Endpoints) == 0 || cfg.Clients <= 0 || cfg.Duration <= 0 {
		return Result{}, fmt.Errorf("bench: need endpoints, clients > 0 and a duration (got %d endpoints, %d clients, %v)",
			len(cfg.Endpoints), cfg.Clients, cfg.Duration)
	}
	if cfg.KeySpace <= 0 {
		cfg.KeySpace = 100_000
	}
	if cfg.KeySize < 8 {
		cfg.KeySize = 16
	}
	if cfg.ValueSize <= 0 {
		cfg.ValueSize = 256
	}
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.Clients + 8, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	value := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("v"), cfg.ValueSize))

	end := time.Now().Add(cfg.Duration)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		puts      int
		errs      int
		firstErr  error
	)
	var wg sync.WaitGroup
	for c := 0; c < cfg.Clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(c)))
			ep := cfg.Endpoints[c%len(cfg.Endpoints)] + "/v3/kv/put"
			var lat []time.Duration
			var ok, bad int
			var e1 error
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				key := fmt.Sprintf("%0*d", cfg.KeySize, rng.IntN(cfg.KeySpace))
				body := `{"key":"` + base64.StdEncoding.EncodeToString([]byte(key)) + `","value":"` + value + `"}`
				err := post(client, ep, body)
				t1 := time.Now()
				if err != nil {
					bad++
					if e1 == nil {
						e1 = err
					}
					continue
				}
				ok++
				lat = append(lat, t1.Sub(t0))
			}
			mu.Lock()
			latencies = append(latencies, lat...)
			puts += ok
			errs += bad
			if firstErr == nil {
				firstErr = e1
			}
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	res := Result{Clients: cfg.Clients, Puts: puts, Errors: errs, Elapsed: cfg.Duration}
	res.PutsPerSec = float64(puts) / cfg.Duration.Seconds()
	if len(latencies) > 0 {
		sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
		res.P50 = latencies[len(latencies)/2]
		res.P99 = latencies[len(latencies)*99/100]
	}
	if puts == 0 && firstErr != nil {
		return res, fmt.Errorf("bench: every put failed; first error: %w", firstErr)
	}
	return res, ctx.Err()
}

func post(client *http.Client, url, body string) error {
	resp, err := client.Post(url, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
