package querier

import (
	"context"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logql"
)

// SampleSource is a Source that extracts the samples of metric queries
// where the data is (the local ingester and the store). Sources without it
// are asked for raw entries and the querier extracts the samples.
type SampleSource interface {
	SelectSamples(ctx context.Context, tenant string, p logql.SelectSampleParams) (iter.SampleIterator, error)
}

// SelectSamples merges the samples of the ingesters (for the part of the
// range they may hold) and of the store, dropping the samples of entries
// both hold.
func (q *Querier) SelectSamples(ctx context.Context, tenant string, p logql.SelectSampleParams) (iter.SampleIterator, error) {
	var its []iter.SampleIterator
	if from, through, ok := q.askIngesters(p.Start, p.End); ok {
		ip := p
		ip.Start, ip.End = from, through
		it, err := selectSamples(ctx, q.ingesters, tenant, ip)
		if err != nil {
			return nil, err
		}
		its = append(its, it)
	}
	it, err := selectSamples(ctx, q.store, tenant, p)
	if err != nil {
		for _, i := range its {
			_ = i.Close()
		}
		return nil, err
	}
	its = append(its, it)
	return join(its), nil
}

// join merges the sources' samples: kept per stream when every source
// keeps them so (the engine then evaluates each stream on its own), else
// merged in time order.
func join(its []iter.SampleIterator) iter.SampleIterator {
	sets := make([]*iter.SampleSet, 0, len(its))
	for _, it := range its {
		s, ok := it.(*iter.SampleSet)
		if !ok {
			return iter.NewSampleMergeIterator(its)
		}
		sets = append(sets, s)
	}
	return iter.JoinSampleSets(sets...)
}

func selectSamples(ctx context.Context, s Source, tenant string, p logql.SelectSampleParams) (iter.SampleIterator, error) {
	if ss, ok := s.(SampleSource); ok {
		return ss.SelectSamples(ctx, tenant, p)
	}
	return logql.SamplesFromLogs(ctx, s, tenant, p)
}
