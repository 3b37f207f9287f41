package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/objstore"
)

// dayNanos is the length of an index period: one UTC day.
const dayNanos = int64(24 * time.Hour)

// dayIndexIdle is how long the index of a day stays cached after it was last
// queried.
const dayIndexIdle = time.Hour

// Store writes chunks and their index to a bucket and reads them back.
type Store struct {
	cfg    Config
	bucket objstore.Bucket
	writer string // names the index objects this process writes
	logger *slog.Logger
	now    func() time.Time

	seq     atomic.Uint64
	days    sync.Map     // dayKey → *dayIndex
	sweptAt atomic.Int64 // when idle days were last dropped, Unix ns
	chunks  *chunkCache
	fetch   chan struct{} // bounds parallel chunk fetches

	m *storeMetrics
}

// New returns a store over bucket. writerID names the index objects this
// process writes, so that several writers never collide.
func New(cfg Config, bucket objstore.Bucket, writerID string, logger *slog.Logger, reg prometheus.Registerer) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if writerID == "" || strings.ContainsAny(writerID, "/-") {
		writerID = sanitizeID(writerID)
	}
	return &Store{
		cfg:    cfg,
		bucket: bucket,
		writer: writerID,
		logger: logger,
		now:    time.Now,
		chunks: newChunkCache(int64(cfg.ChunkCacheSizeMB) << 20),
		fetch:  make(chan struct{}, cfg.MaxParallelGetChunk),
		m:      newStoreMetrics(reg),
	}, nil
}

func sanitizeID(id string) string {
	if id == "" {
		return "skald"
	}
	return strings.NewReplacer("/", "_", "-", "_").Replace(id)
}

// PutChunks writes the chunk objects, then one index object per day the
// chunks touch. When it returns nil, the chunks are durable and findable.
func (s *Store) PutChunks(ctx context.Context, tenant string, chunks []Chunk) error {
	if len(chunks) == 0 {
		return nil
	}
	if err := s.putChunkObjects(ctx, tenant, chunks); err != nil {
		return err
	}
	writers := map[int64]*index.Writer{}
	for _, c := range chunks {
		for day := floorDay(c.Ref.From); day <= floorDay(c.Ref.Through); day++ {
			w := writers[day]
			if w == nil {
				w = index.NewWriter()
				writers[day] = w
			}
			w.Add(c.Labels, c.Ref)
		}
	}
	for day, w := range writers {
		data, err := w.Encode()
		if err != nil {
			return fmt.Errorf("encode index: %w", err)
		}
		key := fmt.Sprintf("%s%s-%016x-%d.idx", dayPrefix(tenant, day), s.writer, s.now().UnixNano(), s.seq.Add(1))
		if err := s.bucket.Put(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
			return fmt.Errorf("write index %s: %w", key, err)
		}
		s.m.indexWritten.Inc()
		// A day being read here sees the object at once. A day nobody
		// reads is not cached: its next reader lists the object, and a
		// process that only writes keeps no index in memory.
		v, ok := s.days.Load(dayKey{tenant, day})
		if !ok {
			continue
		}
		r, err := index.Decode(data)
		if err != nil {
			return fmt.Errorf("decode index just written: %w", err)
		}
		v.(*dayIndex).add(key, r, s.now())
	}
	return nil
}

func (s *Store) putChunkObjects(ctx context.Context, tenant string, chunks []Chunk) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	parallel := s.cfg.MaxParallelPutChunk
	if parallel <= 0 {
		parallel = s.cfg.MaxParallelGetChunk
	}
	sem := make(chan struct{}, parallel)
	for i := range chunks {
		c := &chunks[i]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			key := ChunkKey(tenant, c.Fingerprint, c.Ref)
			if err := s.bucket.Put(ctx, key, bytes.NewReader(c.Data), int64(len(c.Data))); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("write chunk %s: %w", key, err))
				mu.Unlock()
				cancel()
				return
			}
			s.m.chunksWritten.Inc()
			s.m.bytesWritten.Add(float64(len(c.Data)))
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func dayPrefix(tenant string, day int64) string {
	return "index/" + tenant + "/" + strconv.FormatInt(day, 10) + "/"
}

type dayKey struct {
	tenant string
	day    int64
}

// dayIndex caches the index objects of one tenant and day: their keys, as last
// listed, and the decoded objects (immutable, so cached for good).
type dayIndex struct {
	tenant string
	day    int64
	used   atomic.Int64 // last queried, Unix ns

	mtx      sync.Mutex
	listedAt time.Time
	objects  map[string]*dayObject
}

// dayObject is one index object of a day: decoded once (objects never
// change), known since the listing or the write that revealed it.
type dayObject struct {
	r     *index.Reader // nil: listed, not loaded yet
	since time.Time
}

// day returns the cache of a tenant's day, marked as used now.
func (s *Store) day(tenant string, day int64) *dayIndex {
	now := s.now().UnixNano()
	s.dropIdleDays(now)
	k := dayKey{tenant, day}
	v, ok := s.days.Load(k)
	if !ok {
		v, _ = s.days.LoadOrStore(k, &dayIndex{tenant: tenant, day: day, objects: map[string]*dayObject{}})
	}
	d := v.(*dayIndex)
	d.used.Store(now)
	return d
}

// dropIdleDays forgets, at most every quarter of dayIndexIdle, the days not
// used for dayIndexIdle: without it a long-running process would keep the
// decoded index of every day it ever wrote or read. A query that still holds
// a dropped day finishes with it; the next one lists and loads it again.
func (s *Store) dropIdleDays(now int64) {
	last := s.sweptAt.Load()
	if now-last < int64(dayIndexIdle/4) || !s.sweptAt.CompareAndSwap(last, now) {
		return
	}
	s.days.Range(func(k, v any) bool {
		if now-v.(*dayIndex).used.Load() > int64(dayIndexIdle) {
			s.days.CompareAndDelete(k, v)
		}
		return true
	})
}

func (d *dayIndex) add(key string, r *index.Reader, now time.Time) {
	d.mtx.Lock()
	defer d.mtx.Unlock()
	d.objects[key] = &dayObject{r: r, since: now}
}

// indexes returns the decoded index objects of the tenant's days that overlap
// [from, through), listing and loading what is missing or stale.
func (s *Store) indexes(ctx context.Context, tenant string, from, through int64) ([]*index.Reader, error) {
	if through <= from {
		return nil, nil
	}
	var out []*index.Reader
	for day := floorDay(from); day <= floorDay(through-1); day++ {
		rs, err := s.day(tenant, day).load(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

func floorDay(ts int64) int64 {
	if ts < 0 {
		return (ts - dayNanos + 1) / dayNanos
	}
	return ts / dayNanos
}

// load lists the day's objects when the last listing is stale, forgets the
// objects a listing no longer shows (merged by the compactor and deleted),
// and decodes what is not decoded yet.
func (d *dayIndex) load(ctx context.Context, s *Store) ([]*index.Reader, error) {
	d.mtx.Lock()
	defer d.mtx.Unlock()
	if now := s.now(); now.Sub(d.listedAt) >= s.cfg.IndexRefreshPeriod {
		seen := map[string]bool{}
		err := s.bucket.List(ctx, dayPrefix(d.tenant, d.day), func(key string) error {
			if !strings.HasSuffix(key, ".idx") {
				return nil
			}
			seen[key] = true
			if _, ok := d.objects[key]; !ok {
				d.objects[key] = &dayObject{since: now}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list index of day %d: %w", d.day, err)
		}
		for key, o := range d.objects {
			// An object known from before this listing began and absent
			// from it is gone; one written meanwhile may not show yet.
			if !seen[key] && o.since.Before(now) {
				delete(d.objects, key)
			}
		}
		d.listedAt = now
	}
	keys := make([]string, 0, len(d.objects))
	for k := range d.objects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]*index.Reader, 0, len(keys))
	for _, k := range keys {
		o := d.objects[k]
		if o.r == nil {
			data, err := objstore.GetAll(ctx, s.bucket, k)
			if errors.Is(err, objstore.ErrNotFound) {
				delete(d.objects, k) // compacted away meanwhile
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("read index %s: %w", k, err)
			}
			if o.r, err = index.Decode(data); err != nil {
				return nil, fmt.Errorf("decode index %s: %w", k, err)
			}
			s.m.indexLoaded.Inc()
		}
		out = append(out, o.r)
	}
	return out, nil
}

type storeMetrics struct {
	chunksWritten prometheus.Counter
	bytesWritten  prometheus.Counter
	indexWritten  prometheus.Counter
	indexLoaded   prometheus.Counter
	chunksFetched prometheus.Counter
	cacheHits     prometheus.Counter
}

func newStoreMetrics(reg prometheus.Registerer) *storeMetrics {
	m := &storeMetrics{
		chunksWritten: prometheus.NewCounter(prometheus.CounterOpts{Name: "skald_store_chunks_written_total", Help: "Chunk objects written."}),
		bytesWritten:  prometheus.NewCounter(prometheus.CounterOpts{Name: "skald_store_chunk_bytes_written_total", Help: "Bytes of chunk objects written."}),
		indexWritten:  prometheus.NewCounter(prometheus.CounterOpts{Name: "skald_store_index_objects_written_total", Help: "Index objects written."}),
		indexLoaded:   prometheus.NewCounter(prometheus.CounterOpts{Name: "skald_store_index_objects_loaded_total", Help: "Index objects read and decoded."}),
		chunksFetched: prometheus.NewCounter(prometheus.CounterOpts{Name: "skald_store_chunks_fetched_total", Help: "Chunk objects read from the bucket."}),
		cacheHits:     prometheus.NewCounter(prometheus.CounterOpts{Name: "skald_store_chunk_cache_hits_total", Help: "Chunk reads served by the cache."}),
	}
	if reg != nil {
		reg.MustRegister(m.chunksWritten, m.bytesWritten, m.indexWritten, m.indexLoaded, m.chunksFetched, m.cacheHits)
	}
	return m
}
