package storage

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
)

// SelectSamples returns the samples p.Extractor extracts from the stored
// entries that match p, oldest first. Chunks are opened lazily, as for
// SelectLogs, and lines are read in place from the decompressed blocks.
func (s *Store) SelectSamples(ctx context.Context, tenant string, p logql.SelectSampleParams) (iter.SampleIterator, error) {
	ss, err := s.lookup(ctx, tenant, p.Matchers, p.Start, p.End)
	if err != nil {
		return nil, err
	}
	lits := p.LineLiterals()
	its := make([]iter.SampleIterator, 0, len(ss))
	for _, sr := range ss {
		if len(sr.refs) == 0 {
			continue
		}
		its = append(its, &sampleStreamIterator{
			ctx: ctx, store: s, tenant: tenant, sr: sr, p: p, lits: lits,
			futures: make([]*future, len(sr.refs)),
		})
	}
	return iter.NewSampleMergeIterator(its), nil
}

// sampleStreamIterator reads the samples of one stream's chunks in time
// order. Its refs are sorted by start time (lookup sorts them); a chunk is
// opened only once its first sample could be next, and the next
// PrefetchChunks chunks are fetched in the background meanwhile.
type sampleStreamIterator struct {
	ctx    context.Context
	store  *Store
	tenant string
	sr     *series
	p      logql.SelectSampleParams
	lits   []string                  // p.LineLiterals(), shared by the streams
	sx     log.StreamSampleExtractor // shared by the stream's chunks

	futures []*future
	next    int // next ref to open
	open    []iter.SampleIterator
	cur     iter.SampleIterator
	err     error
}

// prefetch starts fetching refs[i] if it is not already.
func (it *sampleStreamIterator) prefetch(i int) {
	if i >= len(it.sr.refs) || it.futures[i] != nil {
		return
	}
	it.futures[i] = it.store.startFetch(it.ctx, ChunkKey(it.tenant, it.sr.fp, it.sr.refs[i]))
}

// openNext opens refs[it.next] and adds its iterator to the open set.
func (it *sampleStreamIterator) openNext() bool {
	i := it.next
	it.next++
	for j := 0; j <= it.store.cfg.PrefetchChunks; j++ {
		it.prefetch(i + j)
	}
	f := it.futures[i]
	<-f.done
	it.futures[i] = nil
	if f.err != nil {
		it.err = f.err
		return false
	}
	if it.sx == nil {
		it.sx = it.p.Extractor.ForStream(it.sr.lbls)
	}
	o := chunk.IterOptions{From: it.p.Start, Through: it.p.End, Direction: logproto.Forward, Contains: it.lits}
	if st := it.p.Stats; st != nil {
		// Lines the push-down skipped were still processed.
		o.SkippedLines, o.SkippedBytes = &st.Lines, &st.Bytes
	}
	si := log.NewSampleIterator(f.c.Iterate(o), it.sx, it.sr.fp, it.p.Stats)
	if si.Next() {
		it.push(si)
		return true
	}
	if err := si.Err(); err != nil {
		it.err = err
		return false
	}
	_ = si.Close()
	return true
}

func (it *sampleStreamIterator) Next() bool {
	if it.err != nil {
		return false
	}
	if it.cur != nil {
		if it.cur.Next() {
			it.push(it.cur)
		} else if err := it.cur.Err(); err != nil {
			it.err = err
			return false
		} else {
			_ = it.cur.Close()
		}
		it.cur = nil
	}
	for {
		if it.next < len(it.sr.refs) && (len(it.open) == 0 || it.sr.refs[it.next].From <= it.open[0].At().Timestamp) {
			if !it.openNext() {
				return false
			}
			continue
		}
		if len(it.open) == 0 {
			return false
		}
		it.cur = it.pop()
		return true
	}
}

// push and pop keep open as a min-heap by current timestamp; chunks of one
// stream rarely overlap, so it holds one or two iterators.
func (it *sampleStreamIterator) push(si iter.SampleIterator) {
	it.open = append(it.open, si)
	for i := len(it.open) - 1; i > 0; {
		parent := (i - 1) / 2
		if it.open[parent].At().Timestamp <= it.open[i].At().Timestamp {
			break
		}
		it.open[i], it.open[parent] = it.open[parent], it.open[i]
		i = parent
	}
}

func (it *sampleStreamIterator) pop() iter.SampleIterator {
	top := it.open[0]
	last := len(it.open) - 1
	it.open[0] = it.open[last]
	it.open[last] = nil
	it.open = it.open[:last]
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(it.open) {
			break
		}
		j := l
		if r := l + 1; r < len(it.open) && it.open[r].At().Timestamp < it.open[l].At().Timestamp {
			j = r
		}
		if it.open[i].At().Timestamp <= it.open[j].At().Timestamp {
			break
		}
		it.open[i], it.open[j] = it.open[j], it.open[i]
		i = j
	}
	return top
}

func (it *sampleStreamIterator) At() iter.Sample       { return it.cur.At() }
func (it *sampleStreamIterator) Labels() labels.Labels { return it.cur.Labels() }
func (it *sampleStreamIterator) StreamHash() uint64    { return it.cur.StreamHash() }
func (it *sampleStreamIterator) Err() error            { return it.err }

func (it *sampleStreamIterator) Close() error {
	if it.cur != nil {
		_ = it.cur.Close()
		it.cur = nil
	}
	for _, si := range it.open {
		_ = si.Close()
	}
	it.open = nil
	for _, f := range it.futures {
		if f != nil {
			<-f.done
		}
	}
	return nil
}
