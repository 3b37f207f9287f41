package client

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/skald-logs/skald/pkg/logproto/pb"
)

// Pool holds one client per ingester address, created on first use. It is
// safe for concurrent use.
type Pool struct {
	cfg    Config
	logger *slog.Logger
	m      *metrics

	mtx     sync.Mutex
	clients map[string]*Client
	closed  bool
}

// ErrPoolClosed is returned by Get after Close.
var ErrPoolClosed = errors.New("ingester client pool closed")

// NewPool returns an empty pool.
func NewPool(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := newMetrics()
	p := &Pool{cfg: cfg, logger: logger, m: m, clients: map[string]*Client{}}
	if reg != nil {
		if err := reg.Register(m.duration); err != nil {
			return nil, fmt.Errorf("ingester client metrics: %w", err)
		}
		if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "skald_ingester_clients", Help: "Ingester clients in the pool.",
		}, func() float64 { return float64(p.Len()) })); err != nil {
			return nil, fmt.Errorf("ingester client metrics: %w", err)
		}
	}
	return p, nil
}

// Get returns the client of addr, connecting lazily: a dead address costs
// nothing until a call fails on it.
func (p *Pool) Get(addr string) (*Client, error) {
	p.mtx.Lock()
	defer p.mtx.Unlock()
	if p.closed {
		return nil, ErrPoolClosed
	}
	if c, ok := p.clients[addr]; ok {
		return c, nil
	}
	conn, err := grpc.NewClient(addr, p.dialOptions()...)
	if err != nil {
		return nil, fmt.Errorf("ingester client %s: %w", addr, err)
	}
	c := &Client{addr: addr, cfg: p.cfg, conn: conn, querier: pb.NewQuerierClient(conn), m: p.m}
	p.clients[addr] = c
	return c, nil
}

func (p *Pool) dialOptions() []grpc.DialOption {
	bc := backoff.DefaultConfig
	bc.BaseDelay, bc.MaxDelay = p.cfg.GRPC.BackoffBaseDelay, p.cfg.GRPC.BackoffMaxDelay
	return []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(p.cfg.GRPC.MaxRecvMsgSize),
			grpc.MaxCallSendMsgSize(p.cfg.GRPC.MaxSendMsgSize),
		),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: p.cfg.GRPC.ConnectTimeout}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                p.cfg.GRPC.KeepaliveTime,
			Timeout:             p.cfg.GRPC.KeepaliveTimeout,
			PermitWithoutStream: true,
		}),
	}
}

// Retain closes and forgets the clients whose address keep rejects, e.g.
// ingesters that left the ring.
func (p *Pool) Retain(keep func(addr string) bool) {
	p.mtx.Lock()
	var drop []*Client
	for addr, c := range p.clients {
		if !keep(addr) {
			drop = append(drop, c)
			delete(p.clients, addr)
		}
	}
	p.mtx.Unlock()
	for _, c := range drop {
		if err := c.Close(); err != nil {
			p.logger.Debug("close ingester client", "addr", c.addr, "err", err)
		}
	}
}

// Len is the number of clients in the pool.
func (p *Pool) Len() int {
	p.mtx.Lock()
	defer p.mtx.Unlock()
	return len(p.clients)
}

// Close closes every client; Get fails afterwards.
func (p *Pool) Close() error {
	p.mtx.Lock()
	clients := p.clients
	p.clients, p.closed = map[string]*Client{}, true
	p.mtx.Unlock()
	var errs []error
	for _, c := range clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

type metrics struct {
	duration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	return &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        "skald_ingester_client_request_duration_seconds",
			Help:                        "Time spent on calls to ingesters, by operation and outcome (success, refused, error).",
			Buckets:                     prometheus.DefBuckets,
			NativeHistogramBucketFactor: 1.1,
		}, []string{"operation", "status"}),
	}
}
