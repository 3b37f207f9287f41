// Command skald runs Skald, a log store that speaks Grafana Loki's protocols:
// every component in one process by default (-target=all), with an embedded
// filesystem object store under -common.path-prefix.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/skald-logs/skald/pkg/app"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "skald:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := app.Load(os.Args[1:])
	if err != nil {
		return err
	}
	logger, err := app.NewLogger(cfg.Server.LogLevel)
	if err != nil {
		return err
	}
	a, err := app.New(cfg, logger)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return a.Run(ctx)
}
