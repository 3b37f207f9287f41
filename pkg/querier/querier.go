// Package querier answers queries by merging the recent data the ingesters
// hold with the flushed data in the store, dropping the duplicates between
// them (and between replicas).
package querier

import (
	"context"
	"flag"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// Source is what the querier reads from: the ingesters and the store.
type Source interface {
	SelectLogs(ctx context.Context, tenant string, p logql.SelectLogParams) (iter.EntryIterator, error)
	LabelNames(ctx context.Context, tenant string, from, through int64, matchers []*labels.Matcher) ([]string, error)
	LabelValues(ctx context.Context, tenant, name string, from, through int64, matchers []*labels.Matcher) ([]string, error)
	Series(ctx context.Context, tenant string, from, through int64, groups [][]*labels.Matcher) ([]labels.Labels, error)
}

// StatsSource counts flushed data for /index/stats.
type StatsSource interface {
	IndexStats(ctx context.Context, tenant string, from, through int64, matchers []*labels.Matcher) (logproto.IndexStats, error)
}

// Config of the querier.
type Config struct {
	// QueryIngestersWithin: only ranges that end within this much of now ask
	// the ingesters; 0 always asks them.
	QueryIngestersWithin time.Duration `yaml:"query_ingesters_within"`
}

// RegisterFlags registers the querier flags with Loki's defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.DurationVar(&c.QueryIngestersWithin, "querier.query-ingesters-within", 3*time.Hour, "Ask the ingesters only for ranges that end within this much of now; 0 always asks.")
}

// Querier merges the ingesters and the store.
type Querier struct {
	cfg       Config
	ingesters Source
	store     Source
	stats     StatsSource
	now       func() time.Time
}

// New returns a querier over the ingesters and the store.
func New(cfg Config, ingesters, store Source, stats StatsSource) *Querier {
	return &Querier{cfg: cfg, ingesters: ingesters, store: store, stats: stats, now: time.Now}
}

// askIngesters reports whether the ingesters may hold data of [from, through),
// and the part of the range they may hold.
func (q *Querier) askIngesters(from, through int64) (int64, int64, bool) {
	if q.cfg.QueryIngestersWithin == 0 {
		return from, through, true
	}
	oldest := q.now().Add(-q.cfg.QueryIngestersWithin).UnixNano()
	if through < oldest {
		return 0, 0, false
	}
	return max(from, oldest), through, true
}

// SelectLogs merges the entries of the ingesters and the store.
func (q *Querier) SelectLogs(ctx context.Context, tenant string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	var its []iter.EntryIterator
	if from, through, ok := q.askIngesters(p.Start, p.End); ok {
		ip := p
		ip.Start, ip.End = from, through
		it, err := q.ingesters.SelectLogs(ctx, tenant, ip)
		if err != nil {
			return nil, err
		}
		its = append(its, it)
	}
	it, err := q.store.SelectLogs(ctx, tenant, p)
	if err != nil {
		for _, i := range its {
			_ = i.Close()
		}
		return nil, err
	}
	its = append(its, it)
	return iter.NewMergeIterator(its, p.Direction), nil
}

// Labels returns label names, or the values of r.Name, from both sources.
func (q *Querier) Labels(ctx context.Context, tenant string, r logproto.LabelRequest) ([]string, error) {
	var matchers []*labels.Matcher
	if r.Query != "" {
		ms, err := syntax.ParseMatchers(r.Query, false)
		if err != nil {
			return nil, err
		}
		matchers = ms
	}
	get := func(s Source, from, through int64) ([]string, error) {
		if r.Name == "" {
			return s.LabelNames(ctx, tenant, from, through, matchers)
		}
		return s.LabelValues(ctx, tenant, r.Name, from, through, matchers)
	}
	var all []string
	if from, through, ok := q.askIngesters(r.Start, r.End); ok {
		vs, err := get(q.ingesters, from, through)
		if err != nil {
			return nil, err
		}
		all = append(all, vs...)
	}
	vs, err := get(q.store, r.Start, r.End)
	if err != nil {
		return nil, err
	}
	all = append(all, vs...)
	slices.Sort(all)
	return slices.Compact(all), nil
}

// Series returns the label sets of the series that match any of r.Groups.
func (q *Querier) Series(ctx context.Context, tenant string, r logproto.SeriesRequest) ([]labels.Labels, error) {
	var groups [][]*labels.Matcher
	for _, g := range r.Groups {
		ms, err := syntax.ParseMatchers(g, false)
		if err != nil {
			return nil, err
		}
		if len(ms) > 0 {
			groups = append(groups, ms)
		}
	}
	var all []labels.Labels
	if from, through, ok := q.askIngesters(r.Start, r.End); ok {
		ss, err := q.ingesters.Series(ctx, tenant, from, through, groups)
		if err != nil {
			return nil, err
		}
		all = append(all, ss...)
	}
	ss, err := q.store.Series(ctx, tenant, r.Start, r.End, groups)
	if err != nil {
		return nil, err
	}
	all = append(all, ss...)
	slices.SortFunc(all, labels.Compare)
	return slices.CompactFunc(all, labels.Equal), nil
}

// IndexStats counts the flushed data that matches r (Loki counts only what is
// in the store).
func (q *Querier) IndexStats(ctx context.Context, tenant string, r logproto.IndexStatsRequest) (logproto.IndexStats, error) {
	ms, err := syntax.ParseMatchers(r.Query, true)
	if err != nil {
		return logproto.IndexStats{}, err
	}
	return q.stats.IndexStats(ctx, tenant, r.Start, r.End, ms)
}
