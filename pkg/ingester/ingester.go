// Package ingester keeps the recent entries of every stream in memory, cuts
// them into compressed chunks, flushes full, idle and old chunks to the store,
// and answers queries over what it holds.
package ingester

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/storage"
	"github.com/skald-logs/skald/pkg/validation"
)

// ChunkWriter stores flushed chunks durably: the chunk objects and the index
// entries that make them findable.
type ChunkWriter interface {
	PutChunks(ctx context.Context, tenant string, chunks []storage.Chunk) error
}

// Ingester holds the in-memory streams of every tenant.
type Ingester struct {
	cfg      Config
	limits   *validation.Overrides
	store    ChunkWriter
	logger   *slog.Logger
	now      func() time.Time
	chunkCfg chunk.Config

	mtx       sync.RWMutex
	instances map[string]*instance

	flushMtx sync.Mutex // one flush sweep at a time
	quit     chan struct{}
	done     sync.WaitGroup

	m *metrics
}

// New returns an ingester that flushes to store. Call Start to begin the
// periodic flush loop and Stop to flush everything and end it.
func New(cfg Config, limits *validation.Overrides, store ChunkWriter, logger *slog.Logger, reg prometheus.Registerer) (*Ingester, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	enc, err := chunk.ParseEncoding(cfg.ChunkEncoding)
	if err != nil {
		return nil, err
	}
	i := &Ingester{
		cfg:       cfg,
		limits:    limits,
		store:     store,
		logger:    logger,
		now:       time.Now,
		chunkCfg:  chunk.Config{BlockSize: cfg.ChunkBlockSize, TargetSize: cfg.ChunkTargetSize, Encoding: enc},
		instances: map[string]*instance{},
		quit:      make(chan struct{}),
		m:         newMetrics(reg),
	}
	return i, nil
}

// Start begins the periodic flush loop.
func (i *Ingester) Start() {
	i.done.Add(1)
	go i.loop()
}

// Stop ends the flush loop and flushes every chunk, open or not.
func (i *Ingester) Stop(ctx context.Context) error {
	close(i.quit)
	i.done.Wait()
	return i.Flush(ctx)
}

func (i *Ingester) loop() {
	defer i.done.Done()
	t := time.NewTicker(i.cfg.FlushCheckPeriod)
	defer t.Stop()
	for {
		select {
		case <-i.quit:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), i.cfg.FlushOpTimeout)
			if err := i.sweep(ctx, false); err != nil {
				i.logger.Warn("flush failed; will retry", "err", err)
			}
			cancel()
		}
	}
}

// Flush cuts every open chunk and writes every unflushed chunk to the store.
func (i *Ingester) Flush(ctx context.Context) error {
	return i.sweep(ctx, true)
}

// Push appends the entries of req to the tenant's streams. Entries too far
// behind their stream's newest entry are refused with an error wrapping
// validation.ErrInvalid; the others are kept.
func (i *Ingester) Push(ctx context.Context, tenant string, req *logproto.PushRequest) error {
	inst := i.instance(tenant, true)
	return inst.push(req, i.now())
}

func (i *Ingester) instance(tenant string, create bool) *instance {
	i.mtx.RLock()
	inst := i.instances[tenant]
	i.mtx.RUnlock()
	if inst != nil || !create {
		return inst
	}
	i.mtx.Lock()
	defer i.mtx.Unlock()
	if inst = i.instances[tenant]; inst == nil {
		inst = newInstance(tenant, i)
		i.instances[tenant] = inst
	}
	return inst
}

func (i *Ingester) allInstances() []*instance {
	i.mtx.RLock()
	defer i.mtx.RUnlock()
	out := make([]*instance, 0, len(i.instances))
	for _, inst := range i.instances {
		out = append(out, inst)
	}
	return out
}

type metrics struct {
	streams        prometheus.Gauge
	streamsCreated prometheus.Counter
	chunksFlushed  *prometheus.CounterVec
	flushFailures  prometheus.Counter
	memoryChunks   prometheus.Gauge
	chunkBytes     prometheus.Counter
	linesAppended  prometheus.Counter
	duplicates     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skald_ingester_memory_streams", Help: "Streams held in memory."}),
		streamsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_streams_created_total", Help: "Streams created."}),
		chunksFlushed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skald_ingester_chunks_flushed_total", Help: "Chunks flushed, by reason."}, []string{"reason"}),
		flushFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_flush_failures_total", Help: "Flushes that failed and will be retried."}),
		memoryChunks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skald_ingester_memory_chunks", Help: "Chunks held in memory."}),
		chunkBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_chunk_stored_bytes_total", Help: "Bytes of chunks written to the store."}),
		linesAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_lines_appended_total", Help: "Entries appended to chunks."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_duplicate_entries_total", Help: "Exact duplicate entries dropped."}),
	}
	if reg != nil {
		reg.MustRegister(m.streams, m.streamsCreated, m.chunksFlushed, m.flushFailures, m.memoryChunks, m.chunkBytes, m.linesAppended, m.duplicates)
	}
	return m
}

// streamLimitError refuses a new stream over the tenant's limit; it matches
// validation.ErrRateLimited (429), as Loki answers.
type streamLimitError string

func (e streamLimitError) Error() string        { return string(e) }
func (e streamLimitError) Is(target error) bool { return target == validation.ErrRateLimited }

// invalidError is an entry refused by the ingester (400).
type invalidError string

func (e invalidError) Error() string        { return string(e) }
func (e invalidError) Is(target error) bool { return target == validation.ErrInvalid }

func streamLimitMsg(key, tenant string) string {
	return fmt.Sprintf("Maximum active stream limit exceeded when trying to create stream %s, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '%s'", key, tenant)
}
