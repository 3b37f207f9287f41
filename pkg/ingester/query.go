package ingester

import (
	"context"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
)

// SelectLogs returns the tenant's in-memory entries that match p, in p's
// direction. It reads consistent snapshots of each stream's chunks, so pushes
// go on while the iterator is consumed.
func (i *Ingester) SelectLogs(ctx context.Context, tenant string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	inst := i.instance(tenant, false)
	if inst == nil {
		return iter.Empty, nil
	}
	var its []iter.EntryIterator
	lits := p.LineLiterals()
	for _, st := range inst.snapshot() {
		if !matches(st.lbls, p.Matchers) {
			continue
		}
		var streamIts []iter.EntryIterator
		st.mtx.Lock()
		for _, cd := range st.chunks {
			if cd.c.Len() == 0 {
				continue
			}
			from, through := cd.c.Bounds()
			if through < p.Start || from >= p.End {
				continue
			}
			raw := cd.c.Iterate(chunk.IterOptions{From: p.Start, Through: p.End, Direction: p.Direction, Contains: lits})
			streamIts = append(streamIts, log.NewEntryIterator(raw, p.Pipeline.ForStream(st.lbls), nil))
		}
		st.mtx.Unlock()
		switch len(streamIts) {
		case 0:
		case 1:
			its = append(its, streamIts[0])
		default:
			its = append(its, iter.NewMergeIterator(streamIts, p.Direction))
		}
	}
	if err := ctx.Err(); err != nil {
		for _, it := range its {
			_ = it.Close()
		}
		return nil, err
	}
	return iter.NewMergeIterator(its, p.Direction), nil
}

// LabelNames returns the label names of the tenant's in-memory streams that
// match and have data in [start, end).
func (i *Ingester) LabelNames(ctx context.Context, tenant string, start, end int64, matchers []*labels.Matcher) ([]string, error) {
	set := map[string]struct{}{}
	i.forStreams(tenant, start, end, [][]*labels.Matcher{matchers}, func(lbls labels.Labels) {
		lbls.Range(func(l labels.Label) { set[l.Name] = struct{}{} })
	})
	return sortedKeys(set), ctx.Err()
}

// LabelValues returns the values of label name in the tenant's matching
// in-memory streams with data in [start, end).
func (i *Ingester) LabelValues(ctx context.Context, tenant, name string, start, end int64, matchers []*labels.Matcher) ([]string, error) {
	set := map[string]struct{}{}
	i.forStreams(tenant, start, end, [][]*labels.Matcher{matchers}, func(lbls labels.Labels) {
		if v := lbls.Get(name); v != "" {
			set[v] = struct{}{}
		}
	})
	return sortedKeys(set), ctx.Err()
}

// Series returns the label sets of the tenant's in-memory streams with data
// in [start, end) that match any of groups (all streams when groups is empty).
func (i *Ingester) Series(ctx context.Context, tenant string, start, end int64, groups [][]*labels.Matcher) ([]labels.Labels, error) {
	var out []labels.Labels
	i.forStreams(tenant, start, end, groups, func(lbls labels.Labels) { out = append(out, lbls) })
	return out, ctx.Err()
}

// forStreams calls fn with the labels of each stream that matches any group
// (every stream when there is none) and has data in [start, end).
func (i *Ingester) forStreams(tenant string, start, end int64, groups [][]*labels.Matcher, fn func(labels.Labels)) {
	inst := i.instance(tenant, false)
	if inst == nil {
		return
	}
	for _, st := range inst.snapshot() {
		if len(groups) > 0 && !slices.ContainsFunc(groups, func(ms []*labels.Matcher) bool { return matches(st.lbls, ms) }) {
			continue
		}
		if st.hasData(start, end) {
			fn(st.lbls)
		}
	}
}

func (s *stream) hasData(start, end int64) bool {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	for _, cd := range s.chunks {
		if cd.c.Len() == 0 {
			continue
		}
		if from, through := cd.c.Bounds(); through >= start && from < end {
			return true
		}
	}
	return false
}

func matches(lbls labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lbls.Get(m.Name)) {
			return false
		}
	}
	return true
}

func sortedKeys(set map[string]struct{}) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
