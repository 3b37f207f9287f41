package logql

import (
	"context"
	"math"
	"slices"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// SelectSampleParams ask a source for the samples of the streams that match
// Matchers in [Start, End), extracted by Extractor, oldest first. Query is
// the text of the expression Extractor was compiled from (a range
// aggregation, or a sum over one: log.NewSampleExtractor), for remote
// sources that must rebuild Matchers and Extractor.
type SelectSampleParams struct {
	Start     int64
	End       int64
	Query     string
	Matchers  []*labels.Matcher
	Extractor log.SampleExtractor
	// Stats, when not nil, counts the lines read. Sources update it from
	// the goroutine that consumes the iterator they return.
	Stats *log.Counters
}

// SampleQuerier is a source that extracts samples where the data is, so
// that lines are never copied out of chunks. A Querier that does not
// implement it gets metric queries answered from SelectLogs.
type SampleQuerier interface {
	SelectSamples(ctx context.Context, tenant string, p SelectSampleParams) (iter.SampleIterator, error)
}

// selectSamples asks the engine's querier for samples, through SelectLogs
// when it cannot extract them itself.
func (e *Engine) selectSamples(ctx context.Context, tenant string, p SelectSampleParams) (iter.SampleIterator, error) {
	if sq, ok := e.q.(SampleQuerier); ok {
		return sq.SelectSamples(ctx, tenant, p)
	}
	return SamplesFromLogs(ctx, e.q, tenant, p)
}

// SamplesFromLogs answers a sample query from q's SelectLogs: it asks for
// the raw entries of the matching streams (the selector without stages)
// and extracts the samples itself. It is the path for sources that cannot
// extract samples where the data is; lines are copied into entries first.
func SamplesFromLogs(ctx context.Context, q Querier, tenant string, p SelectSampleParams) (iter.SampleIterator, error) {
	sel := &syntax.MatchersExpr{Mts: p.Matchers}
	it, err := q.SelectLogs(ctx, tenant, SelectLogParams{
		Start: p.Start, End: p.End, Direction: logproto.Forward, Limit: math.MaxUint32,
		Query: sel.String(), Matchers: p.Matchers, Pipeline: log.NewFilterPipeline(nil, index.Fingerprint),
	})
	if err != nil {
		return nil, err
	}
	stats := p.Stats
	if stats == nil {
		stats = &log.Counters{}
	}
	return &logSamples{it: it, x: p.Extractor, stats: stats, streams: map[uint64][]*logStream{}}, nil
}

// logStream is the extractor of one stream met by logSamples.
type logStream struct {
	lbls labels.Labels
	fp   uint64 // index.Fingerprint(lbls), for entry hashes
	sx   log.StreamSampleExtractor
}

// logSamples extracts samples from the raw entries of an entry iterator.
type logSamples struct {
	it      iter.EntryIterator
	x       log.SampleExtractor
	stats   *log.Counters
	streams map[uint64][]*logStream
	d       xxhash.Digest
	cur     iter.Sample
	series  *log.Series
}

func (s *logSamples) Next() bool {
	for s.it.Next() {
		e := s.it.At()
		s.stats.Lines++
		s.stats.Bytes += int64(len(e.Line))
		st := s.stream(s.it.Labels(), s.it.StreamHash())
		sm := e.StructuredMetadata
		if len(e.Parsed) > 0 {
			// The pipeline had no stage: what it reports as parsed
			// (__error__ given as metadata) was metadata.
			sm = append(slices.Clip(sm), e.Parsed...)
		}
		line := []byte(e.Line)
		v, series, ok := st.sx.Process(e.Timestamp, line, sm)
		if !ok {
			continue
		}
		s.stats.PostFilter++
		s.cur = iter.Sample{Timestamp: e.Timestamp, Value: v, Hash: log.EntryHash(&s.d, st.fp, line, e.StructuredMetadata)}
		s.series = series
		return true
	}
	return false
}

func (s *logSamples) stream(lbls labels.Labels, h uint64) *logStream {
	for _, st := range s.streams[h] {
		if labels.Equal(st.lbls, lbls) {
			return st
		}
	}
	st := &logStream{lbls: lbls, fp: index.Fingerprint(lbls), sx: s.x.ForStream(lbls)}
	s.streams[h] = append(s.streams[h], st)
	return st
}

func (s *logSamples) At() iter.Sample { return s.cur }
func (s *logSamples) Sample() (int64, float64, *iter.Series) {
	return s.cur.Timestamp, s.cur.Value, s.series
}
func (s *logSamples) EntryHash() uint64     { return s.cur.Hash }
func (s *logSamples) Labels() labels.Labels { return s.series.Labels }
func (s *logSamples) StreamHash() uint64    { return s.series.Hash }
func (s *logSamples) Err() error            { return s.it.Err() }
func (s *logSamples) Close() error          { return s.it.Close() }
