package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/api"
	"github.com/skald-logs/skald/pkg/distributor"
	"github.com/skald-logs/skald/pkg/ingester"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/objstore"
	"github.com/skald-logs/skald/pkg/objstore/filesystem"
	"github.com/skald-logs/skald/pkg/objstore/s3"
	"github.com/skald-logs/skald/pkg/querier"
	"github.com/skald-logs/skald/pkg/storage"
)

// initSingle builds the single binary: every component in process, the
// distributor and the querier calling the ingester directly.
func (a *App) initSingle() error {
	overrides, err := a.cfg.overrides()
	if err != nil {
		return err
	}
	if err := a.initStore(); err != nil {
		return err
	}
	ingCfg := a.cfg.Ingester.Config
	if ingCfg.MemoryBudget == 0 {
		ingCfg.MemoryBudget = ingester.DefaultSingleBinaryMemoryBudget
	}
	ing, err := ingester.New(ingCfg, overrides, a.store, a.logger.With("component", "ingester"), a.reg)
	if err != nil {
		return err
	}
	a.ingester = ing
	if err := a.initCompactor(); err != nil {
		return err
	}
	dist := distributor.New(overrides, ing, a.logger.With("component", "distributor"), a.reg)
	q := querier.New(a.cfg.Querier, ing, a.store, a.store)
	engine := logql.NewEngine(q, overrides, a.logger.With("component", "engine"))
	a.initHTTP(api.Deps{Pusher: dist, Engine: engine, Tailer: tailer{q}, Metadata: q, Volumes: q, Detector: q, Limits: overrides,
		Flusher: ing, Readiness: readiness{a}})
	return nil
}

// initStore opens the object store and the chunk store over it.
func (a *App) initStore() error {
	bucket, err := newBucket(a.cfg, a.logger.With("component", "objstore"), a.reg)
	if err != nil {
		return fmt.Errorf("object store: %w", err)
	}
	a.bucket = bucket
	storeCfg := a.cfg.Store
	storeCfg.MaxParallelPutChunk = a.cfg.Ingester.ConcurrentFlushes
	store, err := storage.New(storeCfg, bucket, a.cfg.Ingester.ID, a.logger.With("component", "store"), a.reg)
	if err != nil {
		return err
	}
	a.store = store
	return nil
}

// newBucket opens the configured object store. An S3 bucket that cannot be
// reached at start is reported, not fatal: flushes retry until it answers.
func newBucket(cfg *Config, logger *slog.Logger, reg prometheus.Registerer) (objstore.Bucket, error) {
	if cfg.Storage.Backend != "s3" {
		return filesystem.New(filesystem.Config{Dir: cfg.filesystemDir()}, logger)
	}
	b, err := s3.New(cfg.Storage.S3, logger, reg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Check(ctx); err != nil {
		logger.Warn("S3 bucket not reachable at start; flushes will retry", "err", err)
	}
	return b, nil
}
