// Package ingester keeps the recent entries of every stream in memory, cuts
// them into compressed chunks, flushes full, idle and old chunks to the store,
// and answers queries over what it holds.
//
// With the write-ahead log enabled, every accepted push is in the WAL before
// Push returns; Recover replays the WAL after a crash (see wal.go and
// recovery.go, and docs/durability.md).
package ingester

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/storage"
	"github.com/skald-logs/skald/pkg/validation"
	"github.com/skald-logs/skald/pkg/wal"
)

// ChunkWriter stores flushed chunks durably: the chunk objects and the index
// entries that make them findable.
type ChunkWriter interface {
	PutChunks(ctx context.Context, tenant string, chunks []storage.Chunk) error
}

// Lifecycle states.
const (
	stateStarting int32 = iota
	stateReplaying
	stateRunning
	stateFailed // the WAL replay failed: recoverErr says why
	stateStopped
)

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

	wal       *wal.WAL // nil when disabled
	walActive bool     // records are logged: set once replay is done
	nextRef   atomic.Uint64
	nextChunk atomic.Uint64

	memLimit   int64
	unflushed  atomic.Int64 // estimated bytes of unflushed chunk data
	budget     int64        // -ingester.memory-budget
	chunkMem   atomic.Int64 // estimated heap bytes of the chunks held (memory.go)
	chunkCount atomic.Int64 // chunks held
	pressureAt atomic.Int64 // no pressure sweep below this (memory.go)
	queued     atomic.Int64 // cut chunks waiting to be flushed
	flushErr   atomic.Pointer[string]
	state      atomic.Int32

	// admitMtx orders admissions against Stop: a push is admitted (and
	// counted in pushes) under its read lock, Stop changes the state under
	// its write lock and then waits for the pushes admitted before.
	admitMtx sync.RWMutex
	pushes   sync.WaitGroup

	flushMtx     sync.Mutex // one flush sweep at a time
	recoverOnce  sync.Once
	recoverErr   error
	checkpointMu sync.Mutex
	checkpointCh chan struct{}
	pressureCh   chan struct{} // the chunks reached the memory budget
	quit         chan struct{}
	stopFlushes  context.CancelFunc // cancels the flush loop's writes; set by Start
	done         sync.WaitGroup

	m    *metrics
	tail *tailShared // live tails (tail.go)
}

// New returns an ingester that flushes to store. With the WAL enabled it
// opens the WAL directory. Call Recover (or Start, which recovers if that
// was not done) to replay the WAL, Start to begin the flush and checkpoint
// loops, and Stop to flush, checkpoint and end them.
func New(cfg Config, limits *validation.Overrides, store ChunkWriter, logger *slog.Logger, reg prometheus.Registerer) (*Ingester, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	enc, err := chunk.ParseEncoding(cfg.ChunkEncoding)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	i := &Ingester{
		cfg:          cfg,
		limits:       limits,
		store:        store,
		logger:       logger,
		now:          time.Now,
		chunkCfg:     chunk.Config{BlockSize: cfg.ChunkBlockSize, TargetSize: cfg.ChunkTargetSize, Encoding: enc, EncodeBlockSize: cfg.ChunkBlockSize},
		instances:    map[string]*instance{},
		memLimit:     int64(cfg.MaxUnflushedBytes),
		checkpointCh: make(chan struct{}, 1),
		pressureCh:   make(chan struct{}, 1),
		quit:         make(chan struct{}),
	}
	if i.memLimit == 0 {
		i.memLimit = autoMemoryLimit()
	}
	i.budget = int64(cfg.MemoryBudget)
	if i.budget == 0 {
		i.budget = i.memLimit / 2
	}
	i.m = newMetrics(reg, i)
	i.tail = newTailShared(reg)
	if cfg.WAL.Enabled && cfg.WAL.Dir == "" {
		logger.Warn("no -ingester.wal-dir: running without a write-ahead log; a crash loses what is not flushed")
	}
	if cfg.WAL.Enabled && cfg.WAL.Dir != "" {
		policy, _ := wal.ParseSyncPolicy(cfg.WAL.Sync)
		w, err := wal.Open(wal.Options{Dir: cfg.WAL.Dir, Sync: policy, SyncPeriod: cfg.WAL.SyncPeriod}, logger, reg)
		if err != nil {
			return nil, fmt.Errorf("open wal: %w", err)
		}
		i.wal = w
	}
	return i, nil
}

// Start recovers from the WAL if Recover was not called, then begins the
// periodic flush and checkpoint loops.
func (i *Ingester) Start() {
	if err := i.Recover(context.Background()); err != nil {
		i.logger.Error("wal replay failed; the ingester refuses pushes", "err", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	i.stopFlushes = cancel
	i.done.Add(1)
	go i.flushLoop(ctx)
	if i.wal != nil {
		i.done.Add(1)
		go i.checkpointLoop()
	}
}

// MemoryBudget returns the chunk memory above which the largest chunks are
// flushed at once (-ingester.memory-budget, or its default).
func (i *Ingester) MemoryBudget() int64 { return i.budget }

// CheckReady reports nil once the ingester takes pushes; otherwise the
// reason it does not.
func (i *Ingester) CheckReady() error {
	switch i.state.Load() {
	case stateRunning:
		return nil
	case stateReplaying:
		return errors.New("not ready: replaying WAL")
	case stateStopped:
		return errors.New("not ready: stopping")
	case stateFailed:
		return fmt.Errorf("not ready: WAL replay failed: %w", i.recoverErr)
	}
	return errors.New("not ready: starting")
}

// Stop refuses further pushes, waits for those in flight, ends the loops,
// flushes every chunk (unless -ingester.flush-on-shutdown is off), writes a
// last checkpoint of what could not be flushed and closes the WAL. With the WAL, a flush that fails leaves the data in the
// checkpoint, and Stop reports success.
func (i *Ingester) Stop(ctx context.Context) error {
	i.admitMtx.Lock()
	recovered := i.state.Load() == stateRunning
	i.state.Store(stateStopped)
	i.admitMtx.Unlock()
	// What the pushes in flight append must be in the final flush or
	// checkpoint: they are acknowledged.
	i.pushes.Wait()
	close(i.quit)
	if i.stopFlushes != nil {
		// A write in progress is abandoned: the final flush below does
		// it again, within ctx.
		i.stopFlushes()
	}
	i.done.Wait()
	if i.wal == nil {
		return i.sweep(ctx, sweepOptions{all: true, reason: reasonForced, retry: true})
	}
	if !recovered {
		// Replay did not finish: the WAL is as it was; keep it.
		return i.wal.Close()
	}
	var flushErr error
	if i.cfg.WAL.FlushOnShutdown {
		// One attempt per batch: what fails stays in the checkpoint.
		flushErr = i.sweep(ctx, sweepOptions{all: true, reason: reasonForced})
	}
	cpErr := i.checkpoint(true)
	if err := i.wal.Close(); err != nil && cpErr == nil {
		cpErr = err
	}
	if cpErr != nil {
		return errors.Join(flushErr, fmt.Errorf("final wal checkpoint: %w", cpErr))
	}
	if flushErr != nil {
		i.logger.Warn("chunks not flushed at shutdown are kept in the WAL checkpoint and flushed after restart", "err", flushErr)
	}
	return nil
}

// Flush cuts every open chunk and writes every unflushed chunk to the store,
// retrying failures with backoff while ctx allows.
func (i *Ingester) Flush(ctx context.Context) error {
	if err := i.ensureRecovered(ctx); err != nil {
		return err
	}
	if err := i.sweep(ctx, sweepOptions{all: true, reason: reasonForced, retry: true}); err != nil {
		return err
	}
	if i.wal != nil {
		// Everything is in the store: a checkpoint now lets the segments go.
		select {
		case i.checkpointCh <- struct{}{}:
		default:
		}
	}
	return nil
}

// flushLoop runs the periodic and the memory-pressure sweeps until Stop;
// ctx ends with Stop.
func (i *Ingester) flushLoop(ctx context.Context) {
	defer i.done.Done()
	t := time.NewTicker(i.cfg.FlushCheckPeriod)
	defer t.Stop()
	for {
		select {
		case <-i.quit:
			return
		case <-i.pressureCh:
			// One attempt: if the store is failing, the periodic sweep
			// retries, and the pushes wait for it at the memory limit.
			if i.flushErr.Load() != nil || !i.overBudget() {
				continue
			}
			if err := i.relieve(ctx); err != nil && ctx.Err() == nil {
				i.logger.Warn("flush under memory pressure failed; will retry", "err", err)
			}
		case <-t.C:
			opts := sweepOptions{retry: true, abort: i.quit}
			// Under memory pressure, cut the open chunks too, unless the
			// store is failing anyway.
			if i.unflushed.Load() >= i.memLimit*3/4 && i.flushErr.Load() == nil {
				opts.all, opts.reason = true, reasonMemoryPressure
			}
			if err := i.sweep(ctx, opts); err != nil && ctx.Err() == nil {
				i.logger.Warn("flush failed; will retry", "err", err)
			}
		}
	}
}

// Push appends the entries of req to the tenant's streams and, with the WAL,
// waits until they are in it. Entries too far behind their stream's newest
// entry are refused with an error wrapping validation.ErrInvalid; the others
// are kept. While replaying, or when the unflushed data reaches the memory
// limit, the whole push is refused with an error wrapping
// validation.ErrRateLimited (429): clients retry it later.
func (i *Ingester) Push(ctx context.Context, tenant string, req *logproto.PushRequest) error {
	if err := i.admit(ctx); err != nil {
		return err
	}
	defer i.pushes.Done()
	inst := i.instance(tenant, true)
	wl := getWALWriter(i)
	defer putWALWriter(wl)
	err := inst.push(req, i.now(), wl)
	if i.overBudget() {
		i.signalPressure()
	}
	if wl.err != nil {
		return fmt.Errorf("write-ahead log: %w", wl.err)
	}
	if wl.w != nil {
		if werr := wl.w.Wait(wl.ticket); werr != nil {
			return fmt.Errorf("write-ahead log: %w", werr)
		}
	}
	return err
}

// ensureRecovered recovers an ingester that was used before Recover or
// Start: the first push or flush replays the WAL.
func (i *Ingester) ensureRecovered(ctx context.Context) error {
	if i.state.Load() != stateStarting {
		return i.CheckReady()
	}
	if err := i.Recover(ctx); err != nil {
		return unavailableError(fmt.Sprintf("ingester could not replay its write-ahead log: %v", err))
	}
	return nil
}

// admit refuses pushes the ingester cannot take now. A push it admits is
// counted in i.pushes: the caller calls i.pushes.Done when it is finished.
func (i *Ingester) admit(ctx context.Context) error {
	if i.state.Load() == stateStarting {
		if err := i.ensureRecovered(ctx); err != nil {
			return err
		}
	}
	i.admitMtx.RLock()
	defer i.admitMtx.RUnlock()
	switch i.state.Load() {
	case stateRunning:
	case stateReplaying:
		i.m.refused.WithLabelValues("replaying").Inc()
		return unavailableError("ingester is replaying its write-ahead log; retry later")
	default:
		i.m.refused.WithLabelValues("not_running").Inc()
		return unavailableError("ingester is not running; retry later")
	}
	held := i.unflushed.Load()
	if held < i.memLimit {
		i.pushes.Add(1)
		return nil
	}
	i.m.refused.WithLabelValues("memory_limit").Inc()
	why := "flushes are behind"
	if e := i.flushErr.Load(); e != nil {
		why = "the store is failing: " + *e
	}
	return unavailableError(fmt.Sprintf("ingester memory limit reached: %s of log data is waiting to be flushed to the store (limit %s, -ingester.max-unflushed-bytes); %s; retry later",
		humanBytes(held), humanBytes(i.memLimit), why))
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
	flushRetries   prometheus.Counter
	memoryChunks   prometheus.Gauge
	chunkBytes     prometheus.Counter
	linesAppended  prometheus.Counter
	duplicates     prometheus.Counter
	refused        *prometheus.CounterVec
	replayedLines  prometheus.Counter
	pressureSweeps prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, i *Ingester) *metrics {
	m := &metrics{
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skald_ingester_memory_streams", Help: "Streams held in memory."}),
		streamsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_streams_created_total", Help: "Streams created."}),
		chunksFlushed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skald_ingester_chunks_flushed_total", Help: "Chunks flushed, by reason."}, []string{"reason"}),
		flushFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_flush_failures_total", Help: "Attempts to write a batch of chunks to the store that failed."}),
		flushRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_flush_retries_total", Help: "Retries of failed chunk batch writes, after a backoff."}),
		memoryChunks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skald_ingester_memory_chunks", Help: "Chunks held in memory."}),
		chunkBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_chunk_stored_bytes_total", Help: "Bytes of chunks written to the store."}),
		linesAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_lines_appended_total", Help: "Entries appended to chunks."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_duplicate_entries_total", Help: "Exact duplicate entries dropped."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skald_ingester_pushes_refused_total", Help: "Pushes refused whole, by reason (memory_limit, replaying, not_running)."}, []string{"reason"}),
		replayedLines: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_wal_replayed_entries_total", Help: "Entries appended to chunks by WAL replay."}),
		pressureSweeps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_memory_pressure_sweeps_total", Help: "Sweeps that flushed the largest chunks because the chunks reached -ingester.memory-budget."}),
	}
	for _, r := range []string{"memory_limit", "replaying", "not_running"} {
		m.refused.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.streams, m.streamsCreated, m.chunksFlushed, m.flushFailures, m.flushRetries, m.memoryChunks,
			m.chunkBytes, m.linesAppended, m.duplicates, m.refused, m.replayedLines, m.pressureSweeps,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "skald_ingester_unflushed_bytes", Help: "Estimated bytes of chunk data held in memory and not yet in the store (what -ingester.max-unflushed-bytes bounds)."},
				func() float64 { return float64(i.unflushed.Load()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "skald_ingester_unflushed_bytes_limit", Help: "The limit on unflushed chunk data above which pushes are refused."},
				func() float64 { return float64(i.memLimit) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "skald_ingester_memory_chunk_bytes", Help: "Estimated heap bytes of the chunks held in memory, flushed or not (what -ingester.memory-budget bounds)."},
				func() float64 { return float64(i.chunkMem.Load()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "skald_ingester_memory_budget_bytes", Help: "The chunk memory above which the largest chunks are flushed at once."},
				func() float64 { return float64(i.budget) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "skald_ingester_flush_queue_length", Help: "Cut chunks waiting to be written to the store."},
				func() float64 { return float64(i.queued.Load()) }),
		)
	}
	return m
}

// streamLimitError refuses a new stream over the tenant's limit; it matches
// validation.ErrRateLimited (429), as Loki answers.
type streamLimitError string

func (e streamLimitError) Error() string        { return string(e) }
func (e streamLimitError) Is(target error) bool { return target == validation.ErrRateLimited }

// unavailableError refuses a whole push the ingester cannot take now
// (replaying, memory limit). It matches validation.ErrRateLimited, so the
// API answers 429 as Loki does for limits the ingester enforces; every
// Loki client retries a 429 with backoff.
type unavailableError string

func (e unavailableError) Error() string        { return string(e) }
func (e unavailableError) Is(target error) bool { return target == validation.ErrRateLimited }

// invalidError is an entry refused by the ingester (400).
type invalidError string

func (e invalidError) Error() string        { return string(e) }
func (e invalidError) Is(target error) bool { return target == validation.ErrInvalid }

func streamLimitMsg(key, tenant string) string {
	return fmt.Sprintf("Maximum active stream limit exceeded when trying to create stream %s, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '%s'", key, tenant)
}
