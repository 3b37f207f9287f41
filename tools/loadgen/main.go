// Command loadgen pushes a deterministic log workload to a Loki-compatible
// server over its HTTP push API and reports what the server acknowledged:
// lines/s, MB/s, push latency percentiles and failures. It exits non-zero if
// any push failed.
//
//	go run ./tools/loadgen -url http://localhost:3100 -lines 1000000 -streams 100
//	go run ./tools/loadgen -corpus '/data/loghub/*.log' -rate 100000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/skald-logs/skald/tools/loadgen/loadgen"
)

func main() {
	code, err := run(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
	}
	os.Exit(code)
}

func run(args []string) (int, error) {
	def := loadgen.DefaultWorkloadConfig()
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	var (
		url         = fs.String("url", "http://localhost:3100", "Base URL of the server; pushes go to <url>/loki/api/v1/push.")
		tenant      = fs.String("tenant", "", "Tenant sent as X-Scope-OrgID (none when empty).")
		format      = fs.String("format", "snappy", "Push encoding: snappy (protobuf) or json.")
		streams     = fs.Int("streams", def.Streams, "Number of streams.")
		lines       = fs.Int64("lines", def.Lines, "Number of lines to push in all.")
		lineSize    = fs.Int("line-size", def.LineSize, "Mean size of a generated line in bytes (±25%).")
		kind        = fs.String("kind", "mixed", "Generated lines: access, json, logfmt, or mixed (a kind per stream).")
		corpus      = fs.String("corpus", "", "Comma-separated files, directories or globs whose lines replace the generated ones.")
		span        = fs.Duration("span", def.Span, "Timestamps spread over this span, ending now.")
		seed        = fs.Uint64("seed", def.Seed, "Seed of the generated content.")
		concurrency = fs.Int("concurrency", 2, "Concurrent senders (each owns a share of the streams).")
		batch       = fs.Int("batch", 1000, "Lines per push.")
		rate        = fs.Float64("rate", 0, "Offered load in lines/s over all senders; 0 is as fast as the server acknowledges.")
		timeout     = fs.Duration("timeout", 30*time.Second, "Timeout of one push.")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, nil
		}
		return 2, err
	}
	if fs.NArg() > 0 {
		return 2, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	wcfg := loadgen.WorkloadConfig{Streams: *streams, Lines: *lines, LineSize: *lineSize, Span: *span, Seed: *seed}
	var err error
	if wcfg.Kind, err = loadgen.ParseKind(*kind); err != nil {
		return 2, err
	}
	if *corpus != "" {
		if wcfg.Corpus, err = loadgen.LoadCorpus(strings.Split(*corpus, ",")); err != nil {
			return 2, err
		}
	}
	w, err := loadgen.NewWorkload(wcfg)
	if err != nil {
		return 2, err
	}
	rcfg := loadgen.DefaultRunConfig(strings.TrimSuffix(*url, "/") + "/loki/api/v1/push")
	rcfg.Tenant, rcfg.Concurrency, rcfg.BatchSize, rcfg.Rate, rcfg.Timeout = *tenant, *concurrency, *batch, *rate, *timeout
	if rcfg.Format, err = loadgen.ParseFormat(*format); err != nil {
		return 2, err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	offered := "as fast as acknowledged"
	if *rate > 0 {
		offered = fmt.Sprintf("%.0f lines/s offered", *rate)
	}
	fmt.Printf("pushing %d lines over %d streams to %s: %s batches of %d, %d senders, %s\n",
		*lines, *streams, rcfg.URL, rcfg.Format, *batch, *concurrency, offered)
	res, err := loadgen.Run(ctx, rcfg, w)
	if res != nil {
		fmt.Println(res)
	}
	if err != nil {
		return 1, err
	}
	if res.Failures > 0 {
		return 1, fmt.Errorf("%d of %d pushes failed", res.Failures, res.Pushes)
	}
	return 0, nil
}
