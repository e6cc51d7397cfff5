# shelf: build, test and measure. `make help` lists the targets.
#
# Every target works on a fresh machine: anything a test needs is installed by
# the target itself (see `deps`).

GO        ?= go
PKGS      ?= ./...
# Packages that run goroutines of their own; they also run under the race detector.
RACE_PKGS ?= ./wal/... ./mvcc/... ./snapshot/... ./server/... ./client/...
# Per-target time for each fuzz target in `make fuzz`.
FUZZTIME  ?= 20s
# Seeds for `make sim` (the long deterministic simulation run).
SEEDS     ?= 20000
# Client counts and duration per point for `make bench-kv`.
CLIENTS   ?= 1,16,256
DURATION  ?= 5s
# Benchmark filter and time for `make bench`.
BENCH     ?= .
BENCHTIME ?= 1s

.PHONY: help build test test-unit test-race lint bench bench-kv fuzz sim difftest run deps clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

build: ## compile every package and the binaries into ./bin
	$(GO) build $(PKGS)
	@if [ -d cmd ]; then mkdir -p bin && $(GO) build -o bin/ ./cmd/...; fi

test: deps lint test-unit test-race ## everything CI runs: lint, all tests, race detector

test-unit:
	$(GO) test -count=1 -timeout 20m $(PKGS)

test-race:
	$(GO) test -count=1 -race -short -timeout 15m $(RACE_PKGS)

lint: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

bench: ## Go benchmarks (numbers, never pass/fail)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem $(PKGS)

bench-kv: ## puts/s of a 3-member shelf vs a 3-member etcd on loopback at 1,16,256 clients (CLIENTS=, DURATION=)
	@scripts/deps.sh >/dev/null
	@mkdir -p bin && $(GO) build -o bin/shelf ./cmd/shelf
	$(GO) run ./bench/cmd/kvbench --shelf bin/shelf --clients $(CLIENTS) --duration $(DURATION)

fuzz: ## each fuzz target for FUZZTIME
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

sim: ## long deterministic raft simulation: make sim SEEDS=N
	$(GO) test -count=1 -timeout 0 -run '^TestSimulation$$' ./raft/rafttest/ -sim.seeds=$(SEEDS)

difftest: ## RUNS fresh-seed runs of the 10,000-op differential test against etcd (RUNS=, OPS=)
	@scripts/deps.sh >/dev/null
	@set -e; for i in $$(seq $(or $(RUNS),5)); do \
	  $(GO) test -count=1 -timeout 30m -run '^TestDifferential$$' ./internal/difftest/ -difftest.seed=0 -difftest.ops=$(or $(OPS),10000) -v | grep -E '^(---|ok|FAIL)|difftest: seed|differ'; \
	done

run: ## a local 3-member cluster on loopback (data in ./data, kept across runs; bin/shelfctl built too); Ctrl-C stops it
	@mkdir -p bin && $(GO) build -o bin/ ./cmd/shelf ./cmd/shelfctl
	./bin/shelf up $(ARGS)

deps: ## install what the tests need (nothing by hand on a fresh machine)
	@scripts/deps.sh

clean:
	rm -rf bin
