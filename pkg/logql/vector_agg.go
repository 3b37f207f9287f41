package logql

import (
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// group is one output group of a vector aggregation at one step.
type group struct {
	lbls   labels.Labels
	value  float64
	mean   float64
	count  int
	sample []Sample // topk, bottomk, sort, sort_desc: the members
}

// groupKey caches the group labels of one input label set.
type groupKey struct {
	in   labels.Labels
	out  labels.Labels
	hash uint64
}

// vectorAggEvaluator evaluates sum, avg, min, max, count, stddev, stdvar,
// topk, bottomk, sort and sort_desc (and approx_topk, exactly) with Loki's
// semantics: group labels are the `by` labels present (or all but the
// `without` labels); no grouping is `by ()`.
type vectorAggEvaluator struct {
	in      stepEvaluator
	op      string
	k       int
	by      []string // sorted; nil with without and no labels
	without bool

	keys   map[uint64][]groupKey // by hash of the input labels
	nkeys  int
	groups map[uint64]*group
	order  []*group
	out    []Sample
	lb     *labels.Builder
}

func newVectorAggEvaluator(in stepEvaluator, e *syntax.VectorAggregationExpr) *vectorAggEvaluator {
	v := &vectorAggEvaluator{
		in: in, op: e.Op, k: e.Param,
		keys: map[uint64][]groupKey{}, groups: map[uint64]*group{},
		lb: labels.NewBuilder(labels.EmptyLabels()),
	}
	if v.op == syntax.OpTypeApproxTopK {
		v.op = syntax.OpTypeTopK
	}
	if g := e.Grouping; g != nil {
		v.without = g.Without
		v.by = slices.Clone(g.Groups)
		slices.Sort(v.by)
	}
	return v
}

// key returns the group labels of an input label set and their hash.
func (v *vectorAggEvaluator) key(in labels.Labels) (labels.Labels, uint64) {
	h := in.Hash()
	for _, k := range v.keys[h] {
		if labels.Equal(k.in, in) {
			return k.out, k.hash
		}
	}
	var out labels.Labels
	if v.without {
		v.lb.Reset(in)
		v.lb.Del(v.by...)
		out = v.lb.Labels()
	} else {
		v.lb.Reset(labels.EmptyLabels())
		for _, n := range v.by {
			if val := in.Get(n); val != "" {
				v.lb.Set(n, val)
			}
		}
		out = v.lb.Labels()
	}
	if v.nkeys >= maxCachedKeys {
		clear(v.keys)
		v.nkeys = 0
	}
	k := groupKey{in: in, out: out, hash: out.Hash()}
	v.keys[h] = append(v.keys[h], k)
	v.nkeys++
	return k.out, k.hash
}

// maxCachedKeys bounds the label caches of evaluators.
const maxCachedKeys = 1 << 14

func (v *vectorAggEvaluator) next() ([]Sample, bool) {
	vec, ok := v.in.next()
	if !ok {
		return nil, false
	}
	out := v.out[:0]
	if (v.op == syntax.OpTypeTopK || v.op == syntax.OpTypeBottomK) && v.k < 1 {
		v.out = out
		return out, true
	}
	clear(v.groups)
	v.order = v.order[:0]
	var ts int64
	for _, s := range vec {
		ts = s.T
		lbls, h := v.key(s.Metric)
		g := v.groups[h]
		if g == nil {
			g = &group{lbls: lbls, value: s.V, mean: s.V, count: 1}
			switch v.op {
			case syntax.OpTypeStdvar, syntax.OpTypeStddev:
				g.value = 0
			case syntax.OpTypeTopK, syntax.OpTypeBottomK, syntax.OpTypeSort, syntax.OpTypeSortDesc:
				g.sample = []Sample{s}
			}
			v.groups[h] = g
			v.order = append(v.order, g)
			continue
		}
		switch v.op {
		case syntax.OpTypeSum:
			g.value += s.V
		case syntax.OpTypeAvg:
			g.count++
			g.mean += (s.V - g.mean) / float64(g.count)
		case syntax.OpTypeMax:
			if g.value < s.V || math.IsNaN(g.value) {
				g.value = s.V
			}
		case syntax.OpTypeMin:
			if g.value > s.V || math.IsNaN(g.value) {
				g.value = s.V
			}
		case syntax.OpTypeCount:
			g.count++
		case syntax.OpTypeStddev, syntax.OpTypeStdvar:
			g.count++
			delta := s.V - g.mean
			g.mean += delta / float64(g.count)
			g.value += delta * (s.V - g.mean)
		case syntax.OpTypeTopK, syntax.OpTypeBottomK, syntax.OpTypeSort, syntax.OpTypeSortDesc:
			g.sample = append(g.sample, s)
		}
	}
	for _, g := range v.order {
		switch v.op {
		case syntax.OpTypeAvg:
			g.value = g.mean
		case syntax.OpTypeCount:
			g.value = float64(g.count)
		case syntax.OpTypeStddev:
			g.value = math.Sqrt(g.value / float64(g.count))
		case syntax.OpTypeStdvar:
			g.value = g.value / float64(g.count)
		case syntax.OpTypeTopK, syntax.OpTypeSortDesc:
			out = appendRanked(out, g.sample, v.k, true, v.op == syntax.OpTypeTopK)
			continue
		case syntax.OpTypeBottomK, syntax.OpTypeSort:
			out = appendRanked(out, g.sample, v.k, false, v.op == syntax.OpTypeBottomK)
			continue
		}
		out = append(out, Sample{Metric: g.lbls, T: ts, V: g.value})
	}
	v.out = out
	return out, true
}

// appendRanked appends the members of a group ordered by value, highest
// first when desc, NaN last either way; with limit only the first k. Equal
// values are ordered by labels, so ties resolve the same way every time
// (Loki leaves them to map order).
func appendRanked(out, members []Sample, k int, desc, limit bool) []Sample {
	slices.SortFunc(members, func(a, b Sample) int {
		an, bn := math.IsNaN(a.V), math.IsNaN(b.V)
		switch {
		case an && bn:
			return labels.Compare(a.Metric, b.Metric)
		case an:
			return 1
		case bn:
			return -1
		case a.V != b.V:
			if (a.V > b.V) == desc {
				return -1
			}
			return 1
		}
		return labels.Compare(a.Metric, b.Metric)
	})
	if limit && len(members) > k {
		members = members[:k]
	}
	return append(out, members...)
}

func (v *vectorAggEvaluator) err() error { return v.in.err() }
func (v *vectorAggEvaluator) close()     { v.in.close() }
