// Package app wires Skald's components into one process according to the
// configuration and the -target flag, and runs it until it is told to stop.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

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

// App is one running skald process.
type App struct {
	cfg    *Config
	logger *slog.Logger
	reg    *prometheus.Registry

	bucket   objstore.Bucket
	ingester *ingester.Ingester
	http     *http.Server
	listener net.Listener
	ready    atomic.Bool
}

// New builds the components of cfg; nothing listens until Run.
func New(cfg *Config, logger *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, logger: logger, reg: prometheus.NewRegistry()}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	overrides, err := cfg.overrides()
	if err != nil {
		return nil, err
	}
	bucket, err := newBucket(cfg, logger.With("component", "objstore"), a.reg)
	if err != nil {
		return nil, fmt.Errorf("object store: %w", err)
	}
	a.bucket = bucket
	store, err := storage.New(cfg.Store, bucket, cfg.Ingester.ID, logger.With("component", "store"), a.reg)
	if err != nil {
		return nil, err
	}
	ing, err := ingester.New(cfg.Ingester, overrides, store, logger.With("component", "ingester"), a.reg)
	if err != nil {
		return nil, err
	}
	a.ingester = ing
	dist := distributor.New(overrides, ing, logger.With("component", "distributor"), a.reg)
	q := querier.New(cfg.Querier, ing, store, store)
	engine := logql.NewEngine(q, overrides, logger.With("component", "engine"))

	apiCfg := cfg.API
	apiCfg.AuthEnabled = cfg.AuthEnabled
	apiCfg.MaxEntriesLimitPerQuery = cfg.Limits.MaxEntriesLimitPerQuery
	apiCfg.MaxQueryLength = cfg.Limits.MaxQueryLength
	apiCfg.Build = api.BuildInfo{
		Version: Version, Revision: Revision, Branch: Branch,
		BuildUser: BuildUser, BuildDate: BuildDate, GoVersion: runtime.Version(),
	}
	handler := api.New(apiCfg, api.Deps{
		Pusher:    dist,
		Engine:    engine,
		Metadata:  q,
		Flusher:   ing,
		Readiness: readiness{a},
	}, logger.With("component", "api"), a.reg, a.reg).Handler()

	mux := http.NewServeMux()
	mux.Handle("/", handler)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)

	addr := net.JoinHostPort(cfg.Server.HTTPListenAddress, strconv.Itoa(cfg.Server.HTTPListenPort))
	a.http = &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	return a, nil
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

type readiness struct{ a *App }

func (r readiness) Ready(context.Context) error {
	if !r.a.ready.Load() {
		if err := r.a.ingester.CheckReady(); err != nil {
			return err // e.g. "not ready: replaying WAL"
		}
		return errors.New("not ready: starting")
	}
	return nil
}

// Run serves until ctx is cancelled, then stops accepting requests, flushes
// every in-memory chunk to the store and returns.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.http.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	a.listener = ln
	errc := make(chan error, 1)
	go func() { errc <- a.http.Serve(ln) }()
	// Serve while the WAL replays, so /ready can say so.
	if err := a.ingester.Recover(ctx); err != nil {
		serr := a.shutdown()
		if ctx.Err() != nil {
			return serr // stopped during replay; the WAL is kept
		}
		return errors.Join(err, serr)
	}
	a.ingester.Start()
	a.ready.Store(true)
	a.logger.Info("skald started", "version", Version, "http", ln.Addr().String(), "target", a.cfg.Target,
		"data", a.cfg.Common.PathPrefix)

	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			a.logger.Error("http server failed", "err", err)
		}
	}
	return a.shutdown()
}

// Addr is the address the HTTP server listens on, once Run has started.
func (a *App) Addr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

func (a *App) shutdown() error {
	a.ready.Store(false)
	a.logger.Info("stopping: no new requests; flushing chunks")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	if err := a.http.Shutdown(ctx); err != nil {
		a.logger.Warn("http shutdown", "err", err)
	}
	cancel()
	flushCtx, cancel := context.WithTimeout(context.Background(), a.cfg.Ingester.FlushOpTimeout)
	defer cancel()
	err := a.ingester.Stop(flushCtx)
	if err != nil {
		a.logger.Error("final flush failed", "err", err)
	} else {
		a.logger.Info("all chunks flushed")
	}
	if cerr := a.bucket.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// NewLogger returns the process logger at the given level.
func NewLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid -log.level %q", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
