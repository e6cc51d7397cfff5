// Package bench measures shelf (and, for comparison, etcd) from the
// outside, over the etcd v3 JSON API both serve: a put load generator with
// a fixed number of concurrent clients, and a scraper for the Prometheus
// metrics both expose under etcd's names. Benchmarks are reports, never
// pass/fail tests: every number is printed with what produced it (the disk
// profile, the client count, the machine) and comparisons are ratios
// measured in the same run.
package bench
