package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/skald-logs/skald/pkg/api"
	"github.com/skald-logs/skald/pkg/distributor"
	"github.com/skald-logs/skald/pkg/ingester"
	"github.com/skald-logs/skald/pkg/ingester/client"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/querier"
	"github.com/skald-logs/skald/pkg/ring"
	"github.com/skald-logs/skald/pkg/ring/memberlist"
)

// initCluster builds the components of a cluster member: the ring every
// member reads, the ingester client pool of distributors and queriers, and
// the components its targets name.
func (a *App) initCluster() error {
	overrides, err := a.cfg.overrides()
	if err != nil {
		return err
	}
	if err := a.initRing(); err != nil {
		return err
	}
	var deps api.Deps
	deps.Readiness = readiness{a}
	deps.Limits = overrides

	if a.has(TargetDistributor) || a.has(TargetQuerier) {
		pool, err := client.NewPool(a.cfg.IngesterClient, a.logger.With("component", "ingester-client"), a.reg)
		if err != nil {
			return err
		}
		a.pool = pool
	}
	if a.has(TargetIngester) || a.has(TargetQuerier) {
		if err := a.initStore(); err != nil {
			return err
		}
	}
	if a.has(TargetIngester) {
		ing, err := ingester.New(a.cfg.Ingester.Config, overrides, a.store, a.logger.With("component", "ingester"), a.reg)
		if err != nil {
			return err
		}
		a.ingester = ing
		a.ingGRPC = ingester.NewGRPCServer(ing, a.logger.With("component", "ingester-grpc"))
		deps.Flusher = ing
	}
	if a.has(TargetDistributor) {
		a.replicator = distributor.NewReplicator(a.ring, func(addr string) (distributor.Pusher, error) {
			return a.pool.Get(addr)
		}, a.logger.With("component", "replicator"), a.reg)
		deps.Pusher = distributor.New(overrides, a.replicator, a.logger.With("component", "distributor"), a.reg)
	}
	if a.has(TargetQuerier) {
		ingesters := querier.NewIngesters(a.ring, func(addr string) (querier.Source, error) {
			return a.pool.Get(addr)
		}, a.logger.With("component", "querier"))
		q := querier.New(a.cfg.Querier, ingesters, a.store, a.store)
		deps.Engine = logql.NewEngine(q, overrides, a.logger.With("component", "engine"))
		deps.Tailer = tailer{q}
		deps.Metadata = q
		deps.Volumes, deps.Detector, deps.Limits = q, q, overrides
	}
	if a.has(TargetCompactor) {
		if err := a.initCompactor(); err != nil {
			return err
		}
	}
	a.initHTTP(deps)
	if a.ingester != nil {
		a.grpc = grpc.NewServer(a.grpcOptions()...)
		a.ingGRPC.Register(a.grpc)
	}
	return nil
}

// initRing builds the ring's store (memberlist when -memberlist.join is set
// or -ring.store=memberlist, this process's memory otherwise) and the ring
// every member reads.
func (a *App) initRing() error {
	rc := a.cfg.Ingester.Lifecycler.Ring
	store := rc.KVStore.Store
	if store == "" {
		store = "inmemory"
		if len(a.cfg.Memberlist.JoinMembers) > 0 {
			store = "memberlist"
		}
	}
	if store == "memberlist" {
		kv, err := memberlist.New(a.cfg.Memberlist, a.logger.With("component", "memberlist"), a.reg)
		if err != nil {
			return err
		}
		a.gossip, a.kv = kv, kv
	} else {
		a.kv = ring.NewMemoryKV()
	}
	r, err := ring.NewRing(rc, ring.IngesterRingKey, a.kv, a.logger.With("component", "ring"), a.reg)
	if err != nil {
		return err
	}
	a.ring = r
	return nil
}

func (a *App) grpcOptions() []grpc.ServerOption {
	s := a.cfg.Server
	return []grpc.ServerOption{
		client.ServerCodec(),
		grpc.MaxRecvMsgSize(s.GRPCMaxRecvMsgSize),
		grpc.MaxSendMsgSize(s.GRPCMaxSendMsgSize),
		grpc.MaxConcurrentStreams(uint32(s.GRPCMaxConcurrentStreams)),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: s.GRPCKeepaliveTime, Timeout: s.GRPCKeepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime: s.GRPCMinTimeBetweenPings, PermitWithoutStream: s.GRPCPingWithoutStream,
		}),
	}
}

// startCluster joins the gossip, follows the ring and, for an ingester,
// serves gRPC and takes its place in the ring (returning once ACTIVE).
func (a *App) startCluster(ctx context.Context, errc chan<- error) error {
	if a.gossip != nil {
		if err := a.gossip.Start(ctx); err != nil {
			return err
		}
	}
	if err := a.ring.Start(ctx); err != nil {
		return err
	}
	if a.pool != nil {
		a.pruneCtx, a.pruneCancel = context.WithCancel(context.Background())
		a.pruneDone = make(chan struct{})
		go a.prunePool()
	}
	if a.grpc == nil {
		return nil
	}
	addr := net.JoinHostPort(a.cfg.Server.GRPCListenAddress, strconv.Itoa(a.cfg.Server.GRPCListenPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen grpc: %w", err)
	}
	a.grpcListener = ln
	go func() { errc <- a.grpc.Serve(ln) }()

	lc := a.cfg.Ingester.Lifecycler
	if lc.Port == 0 {
		lc.Port = ln.Addr().(*net.TCPAddr).Port
	}
	if lc.HTTPAddr == "" && lc.Addr != "" {
		lc.HTTPAddr = net.JoinHostPort(lc.Addr, strconv.Itoa(a.listener.Addr().(*net.TCPAddr).Port))
	}
	l, err := ring.NewLifecycler(lc, a.cfg.Ingester.ID, ring.IngesterRingKey, a.kv, a.flushAndStop,
		a.logger.With("component", "lifecycler"), a.reg)
	if err != nil {
		return err
	}
	a.lifecycler = l
	return l.Start(ctx)
}

// stopGRPC lets in-flight calls finish, within the graceful timeout.
func (a *App) stopGRPC() {
	if a.grpc == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		a.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(a.cfg.Server.GracefulShutdownTimeout):
		a.grpc.Stop()
		<-done
	}
}

// prunePool closes the clients of ingesters that left the ring, until
// stopCluster.
func (a *App) prunePool() {
	defer close(a.pruneDone)
	a.kv.Watch(a.pruneCtx, ring.IngesterRingKey, func(d *ring.Desc) bool {
		a.pool.Retain(func(addr string) bool {
			for _, inst := range d.Instances {
				if inst.Addr == addr && inst.State != ring.Left {
					return true
				}
			}
			return false
		})
		return true
	})
}

// stopCluster waits for the pushes still running, closes the clients,
// stops following the ring and leaves the gossip.
func (a *App) stopCluster() {
	if a.pruneCancel != nil {
		a.pruneCancel()
		<-a.pruneDone
	}
	if a.replicator != nil {
		a.replicator.Stop()
	}
	if a.pool != nil {
		_ = a.pool.Close()
	}
	if a.ring != nil {
		a.ring.Stop()
	}
	if a.gossip != nil {
		if err := a.gossip.Stop(); err != nil {
			a.logger.Warn("leaving the gossip", "err", err)
		}
	}
}

// clusterReady reports whether a cluster member can serve: an ingester when
// it is ACTIVE in the ring, a distributor or querier when the ring has an
// ACTIVE, healthy ingester.
func (a *App) clusterReady() error {
	if a.ingester != nil {
		if a.lifecycler == nil {
			return errors.New("not ready: joining the ring")
		}
		if err := a.lifecycler.CheckReady(); err != nil {
			return fmt.Errorf("not ready: %w", err)
		}
	}
	if a.has(TargetDistributor) || a.has(TargetQuerier) {
		rs, err := a.ring.GetAllHealthy(ring.Write)
		if err != nil || len(rs.Instances) == 0 {
			return errors.New("not ready: no ACTIVE ingester in the ring")
		}
	}
	return nil
}
