package storage

import (
	"container/heap"
	"context"
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/objstore"
)

// series is one stream found in the index with the chunks to read.
type series struct {
	lbls labels.Labels
	fp   uint64
	refs []index.ChunkRef
}

// lookup finds the tenant's series that match and the chunks that overlap
// [from, through), merged over every index object of every day.
func (s *Store) lookup(ctx context.Context, tenant string, matchers []*labels.Matcher, from, through int64) ([]*series, error) {
	readers, err := s.indexes(ctx, tenant, from, through)
	if err != nil {
		return nil, err
	}
	byFP := map[uint64][]*series{}
	var out []*series
	for _, r := range readers {
		err := r.Series(matchers, from, through, func(lbls labels.Labels, fp uint64, refs []index.ChunkRef) error {
			var sr *series
			for _, c := range byFP[fp] {
				if labels.Equal(c.lbls, lbls) {
					sr = c
					break
				}
			}
			if sr == nil {
				sr = &series{lbls: lbls, fp: fp}
				byFP[fp] = append(byFP[fp], sr)
				out = append(out, sr)
			}
			sr.refs = append(sr.refs, refs...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, sr := range out {
		slices.SortFunc(sr.refs, compareRefs)
		sr.refs = slices.Compact(sr.refs)
	}
	return out, nil
}

func compareRefs(a, b index.ChunkRef) int {
	switch {
	case a.From != b.From:
		return cmpInt(a.From, b.From)
	case a.Through != b.Through:
		return cmpInt(a.Through, b.Through)
	}
	return cmpInt(int64(a.Checksum), int64(b.Checksum))
}

func cmpInt(a, b int64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// SelectLogs returns the stored entries that match p, in p's direction.
func (s *Store) SelectLogs(ctx context.Context, tenant string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	ss, err := s.lookup(ctx, tenant, p.Matchers, p.Start, p.End)
	if err != nil {
		return nil, err
	}
	lits := p.LineLiterals()
	its := make([]iter.EntryIterator, 0, len(ss))
	for _, sr := range ss {
		its = append(its, s.newStreamIterator(ctx, tenant, sr, p, lits))
	}
	return iter.NewMergeIterator(its, p.Direction), nil
}

// startFetch starts fetching the chunk object key. A chunk in the cache is
// decoded at once (chunk.DecodeTrusted: its bytes were checked when they
// entered the cache); one from the bucket is read and checked in full
// (chunk.Decode) in the background, before it enters the cache.
func (s *Store) startFetch(ctx context.Context, key string) *future {
	if data, ok := s.chunks.get(key); ok {
		s.m.cacheHits.Inc()
		f := &future{done: closedChan}
		if f.c, f.err = chunk.DecodeTrusted(data); f.err != nil {
			f.err = fmt.Errorf("chunk %s: %w", key, f.err)
		}
		return f
	}
	f := &future{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.c, f.err = s.fetchChunk(ctx, key)
	}()
	return f
}

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// fetchChunk reads a chunk object from the bucket, checks and decodes it,
// and caches its bytes.
func (s *Store) fetchChunk(ctx context.Context, key string) (*chunk.Chunk, error) {
	select {
	case s.fetch <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	data, err := objstore.GetAll(ctx, s.bucket, key)
	<-s.fetch
	if err != nil {
		return nil, fmt.Errorf("read chunk %s: %w", key, err)
	}
	s.m.chunksFetched.Inc()
	c, err := chunk.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("chunk %s: %w", key, err)
	}
	s.chunks.put(key, data)
	return c, nil
}

// future is a chunk being fetched (and decoded), maybe in the background.
type future struct {
	done chan struct{}
	c    *chunk.Chunk
	err  error
}

// streamIterator reads the chunks of one stream lazily, in direction order:
// a chunk is opened only once the entries it may hold could be next, so a
// query with a small limit reads few chunks. Chunks that overlap are merged.
type streamIterator struct {
	ctx    context.Context
	store  *Store
	tenant string
	sr     *series
	p      logql.SelectLogParams
	lits   []string // p.LineLiterals(), shared by the streams

	refs    []index.ChunkRef // in opening order
	futures []*future
	next    int // next ref to open
	open    entryHeap
	cur     iter.EntryIterator
	spFree  []log.StreamPipeline // of chunks read to the end
	err     error
}

// chunkEntries is the iterator over one chunk of a stream with the stream
// pipeline it runs, which the next chunk reuses once this one is done
// (ForStream costs about as much as reading a small chunk).
type chunkEntries struct {
	iter.EntryIterator
	sp log.StreamPipeline
}

// done closes an exhausted chunk iterator and keeps its pipeline.
func (it *streamIterator) done(e iter.EntryIterator) {
	_ = e.Close()
	if ce, ok := e.(*chunkEntries); ok {
		it.spFree = append(it.spFree, ce.sp)
	}
}

func (s *Store) newStreamIterator(ctx context.Context, tenant string, sr *series, p logql.SelectLogParams, lits []string) iter.EntryIterator {
	refs := slices.Clone(sr.refs)
	if p.Direction == logproto.Backward {
		slices.SortFunc(refs, func(a, b index.ChunkRef) int { return cmpInt(b.Through, a.Through) })
	}
	return &streamIterator{
		ctx: ctx, store: s, tenant: tenant, sr: sr, p: p, lits: lits,
		refs:    refs,
		futures: make([]*future, len(refs)),
		open:    entryHeap{dir: p.Direction},
	}
}

// prefetch starts fetching refs[i] if it is not already.
func (it *streamIterator) prefetch(i int) {
	if i >= len(it.refs) || it.futures[i] != nil {
		return
	}
	it.futures[i] = it.store.startFetch(it.ctx, ChunkKey(it.tenant, it.sr.fp, it.refs[i]))
}

// openNext opens refs[it.next] and pushes its iterator on the heap.
func (it *streamIterator) openNext() bool {
	i := it.next
	it.next++
	it.prefetch(i)
	for j := 1; j <= it.store.cfg.PrefetchChunks; j++ {
		it.prefetch(i + j)
	}
	f := it.futures[i]
	<-f.done
	it.futures[i] = nil
	if f.err != nil {
		it.err = f.err
		return false
	}
	raw := f.c.Iterate(chunk.IterOptions{From: it.p.Start, Through: it.p.End, Direction: it.p.Direction, Contains: it.lits})
	var sp log.StreamPipeline
	if n := len(it.spFree); n > 0 {
		sp, it.spFree = it.spFree[n-1], it.spFree[:n-1]
	} else {
		sp = it.p.Pipeline.ForStream(it.sr.lbls)
	}
	e := &chunkEntries{EntryIterator: log.NewEntryIterator(raw, sp, nil), sp: sp}
	if e.Next() {
		heap.Push(&it.open, iter.EntryIterator(e))
		return true
	}
	if err := e.Err(); err != nil {
		it.err = err
		return false
	}
	it.done(e)
	return true
}

// mayPrecede reports whether the unopened ref could hold an entry that comes
// before or at ts in the iteration order.
func (it *streamIterator) mayPrecede(ref index.ChunkRef, ts int64) bool {
	if it.p.Direction == logproto.Forward {
		return ref.From <= ts
	}
	return ref.Through >= ts
}

func (it *streamIterator) Next() bool {
	if it.err != nil {
		return false
	}
	if it.cur != nil {
		if it.cur.Next() {
			heap.Push(&it.open, it.cur)
		} else if err := it.cur.Err(); err != nil {
			it.err = err
			return false
		} else {
			it.done(it.cur)
		}
		it.cur = nil
	}
	for {
		if it.next < len(it.refs) && (it.open.Len() == 0 || it.mayPrecede(it.refs[it.next], it.open.its[0].At().Timestamp)) {
			if !it.openNext() {
				return false
			}
			continue
		}
		if it.open.Len() == 0 {
			return false
		}
		it.cur = heap.Pop(&it.open).(iter.EntryIterator)
		return true
	}
}

func (it *streamIterator) At() logproto.Entry    { return it.cur.At() }
func (it *streamIterator) Labels() labels.Labels { return it.cur.Labels() }
func (it *streamIterator) StreamHash() uint64    { return it.cur.StreamHash() }
func (it *streamIterator) Err() error            { return it.err }

func (it *streamIterator) Close() error {
	if it.cur != nil {
		_ = it.cur.Close()
	}
	for _, e := range it.open.its {
		_ = e.Close()
	}
	it.open.its = nil
	for _, f := range it.futures {
		if f != nil {
			<-f.done
		}
	}
	return nil
}

// entryHeap orders open chunk iterators by their current entry.
type entryHeap struct {
	dir logproto.Direction
	its []iter.EntryIterator
}

func (h *entryHeap) Len() int      { return len(h.its) }
func (h *entryHeap) Swap(i, j int) { h.its[i], h.its[j] = h.its[j], h.its[i] }
func (h *entryHeap) Push(x any)    { h.its = append(h.its, x.(iter.EntryIterator)) }
func (h *entryHeap) Pop() any {
	n := len(h.its)
	x := h.its[n-1]
	h.its = h.its[:n-1]
	return x
}
func (h *entryHeap) Less(i, j int) bool {
	a, b := h.its[i].At().Timestamp, h.its[j].At().Timestamp
	if h.dir == logproto.Forward {
		return a < b
	}
	return a > b
}
