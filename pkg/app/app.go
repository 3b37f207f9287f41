// Package app wires Skald's components into one process according to the
// configuration and the -target flag, and runs it until it is told to stop.
//
// -target=all runs every component in one process with in-process calls
// and no ring: the single binary. Any other target is a cluster member:
// distributors, ingesters and queriers find each other through the ring
// (gossiped with memberlist) and talk over gRPC; see docs/cluster.md.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"

	"github.com/skald-logs/skald/pkg/compactor"
	"github.com/skald-logs/skald/pkg/distributor"
	"github.com/skald-logs/skald/pkg/ingester"
	"github.com/skald-logs/skald/pkg/ingester/client"
	"github.com/skald-logs/skald/pkg/objstore"
	"github.com/skald-logs/skald/pkg/ring"
	"github.com/skald-logs/skald/pkg/ring/memberlist"
	"github.com/skald-logs/skald/pkg/storage"
)

// App is one running skald process.
type App struct {
	cfg     *Config
	logger  *slog.Logger
	reg     *prometheus.Registry
	targets map[string]bool

	bucket    objstore.Bucket // nil when no component stores
	store     *storage.Store
	ingester  *ingester.Ingester   // nil when not an ingester
	compactor *compactor.Compactor // nil when not a compactor

	// Cluster members only.
	kv         ring.KV
	gossip     *memberlist.KV // the kv when it is memberlist
	ring       *ring.Ring
	pool       *client.Pool
	replicator *distributor.Replicator
	ingGRPC    *ingester.GRPCServer
	lifecycler *ring.Lifecycler

	pruneCtx    context.Context // of prunePool
	pruneCancel context.CancelFunc
	pruneDone   chan struct{}

	http         *http.Server
	listener     net.Listener
	grpc         *grpc.Server
	grpcListener net.Listener

	ready    atomic.Bool
	exit     chan struct{} // closed by /ingester/shutdown
	exitOnce sync.Once

	stopIngesterOnce sync.Once
	stopIngesterErr  error
}

// New builds the components of cfg; nothing listens until Run.
func New(cfg *Config, logger *slog.Logger) (*App, error) {
	targets, err := cfg.targets()
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, logger: logger, reg: prometheus.NewRegistry(), targets: targets, exit: make(chan struct{})}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if a.single() {
		err = a.initSingle()
	} else {
		err = a.initCluster()
	}
	if err != nil {
		a.closeAll()
		return nil, err
	}
	return a, nil
}

// single reports whether this is the single binary (-target=all).
func (a *App) single() bool { return a.targets[TargetAll] }

func (a *App) has(target string) bool { return a.targets[target] }

// Run serves until ctx is cancelled (or POST /ingester/shutdown), then
// stops: an ingester leaves the ring after flushing its chunks.
func (a *App) Run(ctx context.Context) error {
	defer a.applyMemoryLimit()()
	ln, err := net.Listen("tcp", a.http.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	a.listener = ln
	errc := make(chan error, 2)
	go func() { errc <- a.http.Serve(ln) }()

	if err := a.start(ctx, errc); err != nil {
		serr := a.shutdown()
		if ctx.Err() != nil {
			return serr // stopped while starting
		}
		return errors.Join(err, serr)
	}
	a.ready.Store(true)
	a.logger.Info("skald started", "version", Version, "http", ln.Addr().String(), "grpc", a.GRPCAddr(),
		"target", a.cfg.Target, "data", a.cfg.Common.PathPrefix)

	select {
	case <-ctx.Done():
	case <-a.exit:
		a.logger.Info("shutting down as /ingester/shutdown asked")
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
			a.logger.Error("server failed", "err", err)
		}
	}
	return a.shutdown()
}

// start brings the components up in order: the ring's gossip, then the
// ingester (WAL replay, flush loop, gRPC, joining the ring).
func (a *App) start(ctx context.Context, errc chan<- error) error {
	if a.ingester != nil {
		// Serve HTTP while the WAL replays, so /ready can say so.
		if err := a.ingester.Recover(ctx); err != nil {
			return err
		}
		a.ingester.Start()
	}
	if a.compactor != nil {
		a.compactor.Start()
	}
	if a.single() {
		return nil
	}
	return a.startCluster(ctx, errc)
}

// Addr is the address the HTTP server listens on, once Run has started.
func (a *App) Addr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// GRPCAddr is the address the gRPC server listens on; empty for
// -target=all or before Run.
func (a *App) GRPCAddr() string {
	if a.grpcListener == nil {
		return ""
	}
	return a.grpcListener.Addr().String()
}

// stopIngester takes the ingester out of service once: it stops taking
// pushes, and with a ring goes LEAVING, flushes every chunk, then leaves.
func (a *App) stopIngester(ctx context.Context) error {
	a.stopIngesterOnce.Do(func() {
		if a.ingester == nil {
			return
		}
		if a.lifecycler != nil && a.lifecycler.State() != ring.Joining {
			a.stopIngesterErr = a.lifecycler.Stop(ctx) // runs flushAndStop
			return
		}
		a.stopIngesterErr = a.flushAndStop(ctx)
	})
	return a.stopIngesterErr
}

// flushAndStop is the lifecycler's flush hook: no more pushes, then the
// ingester's final flush.
func (a *App) flushAndStop(ctx context.Context) error {
	if a.ingGRPC != nil {
		a.ingGRPC.RefusePushes()
	}
	a.logger.Info("flushing chunks")
	err := a.ingester.Stop(ctx)
	if err != nil {
		a.logger.Error("final flush failed", "err", err)
	} else {
		a.logger.Info("ingester stopped: chunks flushed or kept in the WAL checkpoint")
	}
	return err
}

func (a *App) shutdown() error {
	a.ready.Store(false)
	a.logger.Info("stopping")
	var errs []error
	if a.single() {
		// No new requests, then the final flush.
		a.stopHTTP()
		ctx, cancel := a.flushContext()
		errs = append(errs, a.stopIngester(ctx))
		cancel()
	} else {
		// An ingester leaves while it still answers queries, then stops
		// serving; a distributor stops taking pushes, then waits for the
		// replicas' pushes still running.
		ctx, cancel := a.flushContext()
		errs = append(errs, a.stopIngester(ctx))
		cancel()
		a.stopHTTP()
		a.stopGRPC()
		a.stopCluster()
	}
	if a.compactor != nil {
		a.compactor.Stop()
	}
	if a.bucket != nil {
		errs = append(errs, a.bucket.Close())
	}
	return errors.Join(errs...)
}

// initCompactor builds the compactor over the object store.
func (a *App) initCompactor() error {
	if a.bucket == nil {
		if err := a.initStore(); err != nil {
			return err
		}
	}
	c, err := compactor.New(a.cfg.Compactor, a.bucket, a.logger.With("component", "compactor"), a.reg)
	if err != nil {
		return err
	}
	a.compactor = c
	return nil
}

func (a *App) flushContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.cfg.Ingester.FlushOpTimeout)
}

func (a *App) stopHTTP() {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Server.GracefulShutdownTimeout)
	defer cancel()
	if err := a.http.Shutdown(ctx); err != nil {
		a.logger.Warn("http shutdown", "err", err)
	}
}

// closeAll releases what New built when New fails.
func (a *App) closeAll() {
	if a.pool != nil {
		_ = a.pool.Close()
	}
	if a.bucket != nil {
		_ = a.bucket.Close()
	}
}

// NewLogger returns the process logger at the given level.
func NewLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid -log.level %q", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
