# Skald — a log store that speaks Grafana Loki's protocols.
#
#   make run    build and run the single binary on :3100 (data in ./data)
#   make test   run every test (installs what the tests need first)

SHELL      := /bin/bash
GO         ?= go
BIN        := bin/skald
CACHE      := .cache
GOBIN_DIR  := $(abspath $(CACHE)/bin)
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BRANCH     ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
LDFLAGS    := -X github.com/skald-logs/skald/pkg/app.Version=$(VERSION) \
              -X github.com/skald-logs/skald/pkg/app.Revision=$(REVISION) \
              -X github.com/skald-logs/skald/pkg/app.Branch=$(BRANCH)
RUN_ARGS   ?=

.PHONY: all build run test test-unit generate bench bench-e2e fmt vet clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/skald

run: build
	./$(BIN) $(RUN_ARGS)

test:
	./tools/test.sh

test-unit:
	$(GO) test -count=1 ./...

generate:
	./tools/generate.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

# The end-to-end benchmark (tools/bench, docs/performance.md): start skald,
# push 1M lines, flush, run the query set, print the table. Smaller runs:
# make bench-e2e BENCH_E2E_ARGS='-lines 100000'
bench-e2e: build
	$(GO) run ./tools/bench -skald=$(BIN) $(BENCH_E2E_ARGS)

fmt:
	gofmt -w cmd pkg tools

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
