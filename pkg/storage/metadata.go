package storage

import (
	"context"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/logproto"
)

// LabelNames returns the label names of the tenant's stored series that match
// and have chunks in [from, through).
func (s *Store) LabelNames(ctx context.Context, tenant string, from, through int64, matchers []*labels.Matcher) ([]string, error) {
	return s.collect(ctx, tenant, from, through, func(r *index.Reader) ([]string, error) {
		return r.LabelNames(matchers, from, through)
	})
}

// LabelValues returns the values of label name of the tenant's stored series
// that match and have chunks in [from, through).
func (s *Store) LabelValues(ctx context.Context, tenant, name string, from, through int64, matchers []*labels.Matcher) ([]string, error) {
	return s.collect(ctx, tenant, from, through, func(r *index.Reader) ([]string, error) {
		return r.LabelValues(name, matchers, from, through)
	})
}

func (s *Store) collect(ctx context.Context, tenant string, from, through int64, fn func(*index.Reader) ([]string, error)) ([]string, error) {
	readers, err := s.indexes(ctx, tenant, from, through)
	if err != nil {
		return nil, err
	}
	var all []string
	for _, r := range readers {
		vs, err := fn(r)
		if err != nil {
			return nil, err
		}
		all = append(all, vs...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

// Series returns the label sets of the tenant's stored series with chunks in
// [from, through) that match any of groups (every series when groups is
// empty).
func (s *Store) Series(ctx context.Context, tenant string, from, through int64, groups [][]*labels.Matcher) ([]labels.Labels, error) {
	if len(groups) == 0 {
		groups = [][]*labels.Matcher{nil}
	}
	seen := map[uint64][]labels.Labels{}
	var out []labels.Labels
	for _, ms := range groups {
		ss, err := s.lookup(ctx, tenant, ms, from, through)
		if err != nil {
			return nil, err
		}
		for _, sr := range ss {
			if slices.ContainsFunc(seen[sr.fp], func(l labels.Labels) bool { return labels.Equal(l, sr.lbls) }) {
				continue
			}
			seen[sr.fp] = append(seen[sr.fp], sr.lbls)
			out = append(out, sr.lbls)
		}
	}
	return out, nil
}

// IndexStats counts the tenant's stored streams, chunks, entries and bytes
// that match and overlap [from, through); each chunk is counted once.
func (s *Store) IndexStats(ctx context.Context, tenant string, from, through int64, matchers []*labels.Matcher) (logproto.IndexStats, error) {
	ss, err := s.lookup(ctx, tenant, matchers, from, through)
	if err != nil {
		return logproto.IndexStats{}, err
	}
	var st logproto.IndexStats
	for _, sr := range ss {
		st.Streams++
		for _, r := range sr.refs {
			st.Chunks++
			st.Entries += uint64(r.Entries)
			st.Bytes += uint64(r.UncompressedBytes)
		}
	}
	return st, nil
}
