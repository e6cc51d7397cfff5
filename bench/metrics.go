package bench

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ScrapeSum fetches endpoint/metrics and returns the value of the series
// named metric (summed over its label sets). It reads the Prometheus text
// format, which both shelf and etcd serve.
func ScrapeSum(endpoint, metric string) (float64, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(endpoint + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sum, found := 0.0, false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric) {
			continue
		}
		rest := line[len(metric):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue // a longer name with the same prefix
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("bench: metric line %q: %v", line, err)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("bench: %s/metrics has no %s", endpoint, metric)
	}
	return sum, nil
}

// ScrapeAll sums metric over every endpoint.
func ScrapeAll(endpoints []string, metric string) (float64, error) {
	total := 0.0
	for _, ep := range endpoints {
		v, err := ScrapeSum(ep, metric)
		if err != nil {
			return 0, err
		}
		total += v
	}
	return total, nil
}
