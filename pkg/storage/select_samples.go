package storage

import (
	"context"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
)

// SelectSamples returns the samples p.Extractor extracts from the stored
// entries that match p, oldest first, kept per stream (an iter.SampleSet).
// Chunks are opened lazily, as for SelectLogs, and lines are read in place
// from the decompressed blocks.
func (s *Store) SelectSamples(ctx context.Context, tenant string, p logql.SelectSampleParams) (iter.SampleIterator, error) {
	ss, err := s.lookup(ctx, tenant, p.Matchers, p.Start, p.End)
	if err != nil {
		return nil, err
	}
	lits := p.LineLiterals()
	parts := make([]iter.StreamSamples, 0, len(ss))
	for _, sr := range ss {
		if len(sr.refs) == 0 {
			continue
		}
		st := &sampleStreamIterator{
			ctx: ctx, store: s, tenant: tenant, sr: sr, p: p, lits: lits,
			futures: make([]*future, len(sr.refs)),
		}
		st.StreamSampleIterator = iter.NewStreamMerge(nil, st.more)
		parts = append(parts, iter.StreamSamples{Labels: sr.lbls, Fingerprint: sr.fp, It: st})
	}
	return iter.NewSampleSet(parts), nil
}

// sampleStreamIterator reads the samples of one stream's chunks in time
// order, dropping replicas that overlapping chunks hold. Its refs are
// sorted by start time (lookup sorts them); a chunk is opened only once
// its first sample could be next, and the next PrefetchChunks chunks are
// fetched in the background meanwhile.
type sampleStreamIterator struct {
	iter.StreamSampleIterator // the merge of the open chunks

	ctx    context.Context
	store  *Store
	tenant string
	sr     *series
	p      logql.SelectSampleParams
	lits   []string                  // p.LineLiterals(), shared by the streams
	sx     log.StreamSampleExtractor // shared by the stream's chunks

	futures []*future
	next    int // next ref to open
}

// prefetch starts fetching refs[i] if it is not already.
func (it *sampleStreamIterator) prefetch(i int) {
	if i >= len(it.sr.refs) || it.futures[i] != nil {
		return
	}
	it.futures[i] = it.store.startFetch(it.ctx, ChunkKey(it.tenant, it.sr.fp, it.sr.refs[i]))
}

// more opens the next chunk when its first sample could come before the
// earliest sample of the chunks already open (iter.MoreParts).
func (it *sampleStreamIterator) more(minTS int64, empty bool) (iter.StreamSampleIterator, error) {
	if it.next >= len(it.sr.refs) || !empty && it.sr.refs[it.next].From > minTS {
		return nil, nil
	}
	i := it.next
	it.next++
	for j := 0; j <= it.store.cfg.PrefetchChunks; j++ {
		it.prefetch(i + j)
	}
	f := it.futures[i]
	<-f.done
	it.futures[i] = nil
	if f.err != nil {
		return nil, f.err
	}
	if it.sx == nil {
		it.sx = it.p.Extractor.ForStream(it.sr.lbls)
	}
	o := chunk.IterOptions{From: it.p.Start, Through: it.p.End, Direction: logproto.Forward, Contains: it.lits}
	if st := it.p.Stats; st != nil {
		// Lines the push-down skipped were still processed.
		o.SkippedLines, o.SkippedBytes = &st.Lines, &st.Bytes
	}
	return log.NewStreamSampleIterator(f.c.Iterate(o), it.sx, it.sr.fp, it.p.Stats), nil
}

func (it *sampleStreamIterator) Close() error {
	err := it.StreamSampleIterator.Close()
	for _, f := range it.futures {
		if f != nil {
			<-f.done
		}
	}
	return err
}
