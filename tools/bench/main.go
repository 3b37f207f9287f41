// Command bench is Skald's end-to-end benchmark (make bench-e2e): it starts
// skald on a temporary data directory and a free port, pushes a fixed
// workload over the HTTP push API with the load generator, flushes, runs a
// fixed query set, and prints a table of ingest rate, server CPU per line,
// resident memory, bytes on disk per raw byte (beside what snappy, S2 and
// zstd alone make of the same lines) and each query's latency and scan rate.
//
//	go run ./tools/bench -skald bin/skald                  # the default workload
//	go run ./tools/bench -lines 100000 -streams 20         # a smaller run
//	go run ./tools/bench -profile /tmp/prof                # plus CPU profiles
//
// It needs Linux: it reads the server's CPU time and memory from /proc.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/skald-logs/skald/tools/loadgen/loadgen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func parseFlags(args []string, stderr io.Writer) (Config, string, error) {
	def := loadgen.DefaultWorkloadConfig()
	push := loadgen.DefaultRunConfig("")
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg        Config
		serverArgs stringList
		kind       = fs.String("kind", "mixed", "Generated lines: access, json, logfmt, or mixed (a kind per stream).")
		corpus     = fs.String("corpus", "", "Comma-separated files, directories or globs whose lines replace the generated ones.")
		format     = fs.String("format", "snappy", "Push encoding: snappy (protobuf) or json.")
		jsonOut    = fs.String("json", "", "Also write the report as JSON to this file.")
	)
	fs.StringVar(&cfg.Skald, "skald", "", "Skald binary; empty builds ./cmd/skald first.")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "Server data directory; empty uses a temporary one.")
	fs.BoolVar(&cfg.Keep, "keep", false, "Keep the temporary data directory.")
	fs.Var(&serverArgs, "server-arg", "Extra server flag, e.g. -server-arg=-ingester.chunk-target-size=2097152 (repeatable).")
	fs.Int64Var(&cfg.Workload.Lines, "lines", def.Lines, "Lines to push.")
	fs.IntVar(&cfg.Workload.Streams, "streams", def.Streams, "Streams (20 to 1,000 in the issue's workload).")
	fs.IntVar(&cfg.Workload.LineSize, "line-size", def.LineSize, "Mean size of a generated line in bytes.")
	fs.DurationVar(&cfg.Workload.Span, "span", def.Span, "Timestamps spread over this span, ending now.")
	fs.Uint64Var(&cfg.Workload.Seed, "seed", def.Seed, "Seed of the generated content.")
	fs.IntVar(&push.BatchSize, "batch", push.BatchSize, "Lines per push.")
	fs.IntVar(&push.Concurrency, "concurrency", push.Concurrency, "Concurrent senders.")
	fs.Float64Var(&push.Rate, "rate", 0, "Offered load in lines/s; 0 pushes as fast as acknowledged.")
	fs.StringVar(&push.Tenant, "tenant", "", "Tenant (X-Scope-OrgID) to push and query as.")
	fs.IntVar(&cfg.Budget.minRuns, "runs", 5, "Runs of each query after its first run (at least).")
	fs.IntVar(&cfg.Budget.maxRuns, "max-runs", 200, "Runs of each query at most.")
	fs.DurationVar(&cfg.Budget.minTime, "query-time", time.Second, "Repeat each query until this much time has passed (for a CPU time of many 10 ms ticks).")
	fs.StringVar(&cfg.ProfileDir, "profile", "", "Directory for CPU profiles of the server (from /debug/pprof/profile): ingest.pprof and query-<name>.pprof.")
	fs.IntVar(&cfg.ProfileSeconds, "profile-seconds", 10, "Length of the ingest profile, from the start of the ingest.")
	fs.IntVar(&cfg.QueryProfileSeconds, "query-profile-seconds", 5, "Length of each query's profile.")
	if err := fs.Parse(args); err != nil {
		return cfg, "", err
	}
	if fs.NArg() > 0 {
		return cfg, "", fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	if cfg.Workload.Kind, err = loadgen.ParseKind(*kind); err != nil {
		return cfg, "", err
	}
	if *corpus != "" {
		if cfg.Workload.Corpus, err = loadgen.LoadCorpus(strings.Split(*corpus, ",")); err != nil {
			return cfg, "", err
		}
	}
	if push.Format, err = loadgen.ParseFormat(*format); err != nil {
		return cfg, "", err
	}
	cfg.Push = push
	cfg.ServerArgs = serverArgs
	cfg.Log = stderr
	return cfg, *jsonOut, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	cfg, jsonOut, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, cfg)
	if rep != nil {
		if werr := rep.WriteTable(stdout); werr != nil && err == nil {
			err = werr
		}
		if jsonOut != "" {
			data, jerr := json.MarshalIndent(rep, "", "  ")
			if jerr == nil {
				jerr = os.WriteFile(jsonOut, append(data, '\n'), 0o644)
			}
			if jerr != nil && err == nil {
				err = jerr
			}
		}
	}
	if err != nil {
		return err
	}
	if rep.Ingest.Failures > 0 {
		return fmt.Errorf("%d of %d pushes failed", rep.Ingest.Failures, rep.Ingest.Pushes)
	}
	return nil
}
