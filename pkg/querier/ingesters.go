package querier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/ring"
)

// ReadRing gives the ingesters a read must ask; *ring.Ring implements it.
type ReadRing interface {
	GetReplicationSetForOperation(op ring.Operation) (ring.ReplicationSet, error)
}

// SourceFor returns the Source of one ingester address (an ingester client).
type SourceFor func(addr string) (Source, error)

// Ingesters is the Source of a cluster's recent data: it asks every
// healthy ingester of the ring's read set and merges their answers.
//
// Every acknowledged write is on a quorum of its stream's replicas, so as
// many ingesters as the read set's MaxErrors may fail (a killed ingester
// the ring does not yet know is gone) without losing an entry: their
// failures are logged and skipped. Replicas return the same entries; the
// merge drops the copies (same stream, timestamp, line and metadata).
type Ingesters struct {
	ring    ReadRing
	clients SourceFor
	logger  *slog.Logger
}

// NewIngesters returns the Source over the ingesters of r.
func NewIngesters(r ReadRing, clients SourceFor, logger *slog.Logger) *Ingesters {
	return &Ingesters{ring: r, clients: clients, logger: logger}
}

// errorBudget counts the ingester failures a read may still absorb.
type errorBudget struct {
	left   atomic.Int32
	logger *slog.Logger
}

// absorb reports whether the failure err of addr is absorbed; it logs it
// then.
func (b *errorBudget) absorb(addr string, err error) bool {
	if errors.Is(err, context.Canceled) || b.left.Add(-1) < 0 {
		return false
	}
	b.logger.Warn("ingester failed; answering from its replicas", "ingester", addr, "err", err)
	return true
}

// forEach calls f for every ingester of the read set concurrently and
// returns the budget of the failures still absorbable. A failure beyond the
// budget is returned.
func forEach[T any](ctx context.Context, in *Ingesters, f func(ctx context.Context, addr string, s Source) (T, error)) ([]T, *errorBudget, error) {
	rs, err := in.ring.GetReplicationSetForOperation(ring.Read)
	if errors.Is(err, ring.ErrEmptyRing) {
		return nil, &errorBudget{logger: in.logger}, nil // nothing ingested yet
	}
	if err != nil {
		return nil, nil, fmt.Errorf("ingesters for read: %w", err)
	}
	budget := &errorBudget{logger: in.logger}
	budget.left.Store(int32(rs.MaxErrors))
	if rs.MaxUnavailableZones > 0 {
		// Zone mode: every instance of all but that many zones must answer;
		// an instance failure may only be absorbed while one zone is lost.
		budget.left.Store(1)
	}
	type result struct {
		v   T
		err error
	}
	results := make([]result, len(rs.Instances))
	var wg sync.WaitGroup
	for i := range rs.Instances {
		addr := rs.Instances[i].Addr
		wg.Go(func() {
			s, err := in.clients(addr)
			if err != nil {
				results[i].err = err
				return
			}
			results[i].v, results[i].err = f(ctx, addr, s)
		})
	}
	wg.Wait()
	out := make([]T, 0, len(results))
	var errs []error
	for i, r := range results {
		if r.err == nil {
			out = append(out, r.v)
			continue
		}
		if !budget.absorb(rs.Instances[i].Addr, r.err) {
			errs = append(errs, r.err)
		}
	}
	if len(errs) > 0 {
		return out, nil, errors.Join(errs...)
	}
	return out, budget, nil
}

// SelectLogs merges the entries of every ingester. An ingester whose
// stream fails midway is skipped while the budget allows.
func (in *Ingesters) SelectLogs(ctx context.Context, tenant string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	var budget *errorBudget
	its, budget, err := forEach(ctx, in, func(ctx context.Context, addr string, s Source) (iter.EntryIterator, error) {
		it, err := s.SelectLogs(ctx, tenant, p)
		if err != nil {
			return nil, err
		}
		return &tolerantIterator{EntryIterator: it, addr: addr, budget: &budget}, nil
	})
	if err != nil {
		for _, it := range its {
			_ = it.Close()
		}
		return nil, err
	}
	return iter.NewMergeIterator(its, p.Direction), nil
}

// tolerantIterator ends quietly on an error the budget absorbs.
type tolerantIterator struct {
	iter.EntryIterator
	addr   string
	budget **errorBudget // set once forEach returns, before iteration
	err    error
}

func (t *tolerantIterator) Next() bool {
	if t.EntryIterator.Next() {
		return true
	}
	if err := t.EntryIterator.Err(); err != nil && !(*t.budget).absorb(t.addr, err) {
		t.err = err
	}
	return false
}

func (t *tolerantIterator) Err() error { return t.err }

// LabelNames returns the union of the ingesters' label names.
func (in *Ingesters) LabelNames(ctx context.Context, tenant string, from, through int64, matchers []*labels.Matcher) ([]string, error) {
	sets, _, err := forEach(ctx, in, func(ctx context.Context, _ string, s Source) ([]string, error) {
		return s.LabelNames(ctx, tenant, from, through, matchers)
	})
	if err != nil {
		return nil, err
	}
	return union(sets), nil
}

// LabelValues returns the union of the ingesters' values of name.
func (in *Ingesters) LabelValues(ctx context.Context, tenant, name string, from, through int64, matchers []*labels.Matcher) ([]string, error) {
	sets, _, err := forEach(ctx, in, func(ctx context.Context, _ string, s Source) ([]string, error) {
		return s.LabelValues(ctx, tenant, name, from, through, matchers)
	})
	if err != nil {
		return nil, err
	}
	return union(sets), nil
}

// Series returns the union of the ingesters' series.
func (in *Ingesters) Series(ctx context.Context, tenant string, from, through int64, groups [][]*labels.Matcher) ([]labels.Labels, error) {
	sets, _, err := forEach(ctx, in, func(ctx context.Context, _ string, s Source) ([]labels.Labels, error) {
		return s.Series(ctx, tenant, from, through, groups)
	})
	if err != nil {
		return nil, err
	}
	var all []labels.Labels
	for _, s := range sets {
		all = append(all, s...)
	}
	slices.SortFunc(all, labels.Compare)
	return slices.CompactFunc(all, labels.Equal), nil
}

func union(sets [][]string) []string {
	var all []string
	for _, s := range sets {
		all = append(all, s...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

var _ Source = (*Ingesters)(nil)

// SelectSamples merges the samples every ingester extracts. Replicas yield
// the same samples with the same entry hash; the merge keeps one.
func (in *Ingesters) SelectSamples(ctx context.Context, tenant string, p logql.SelectSampleParams) (iter.SampleIterator, error) {
	var budget *errorBudget
	its, budget, err := forEach(ctx, in, func(ctx context.Context, addr string, s Source) (iter.SampleIterator, error) {
		var it iter.SampleIterator
		var err error
		if ss, ok := s.(SampleSource); ok {
			it, err = ss.SelectSamples(ctx, tenant, p)
		} else {
			it, err = logql.SamplesFromLogs(ctx, s, tenant, p)
		}
		if err != nil {
			return nil, err
		}
		return &tolerantSamples{SampleIterator: it, addr: addr, budget: &budget}, nil
	})
	if err != nil {
		for _, it := range its {
			_ = it.Close()
		}
		return nil, err
	}
	return iter.NewSampleMergeIterator(its), nil
}

// tolerantSamples ends quietly on an error the budget absorbs.
type tolerantSamples struct {
	iter.SampleIterator
	addr   string
	budget **errorBudget
	err    error
}

func (t *tolerantSamples) Next() bool {
	if t.SampleIterator.Next() {
		return true
	}
	if err := t.SampleIterator.Err(); err != nil && !(*t.budget).absorb(t.addr, err) {
		t.err = err
	}
	return false
}

func (t *tolerantSamples) Err() error { return t.err }
