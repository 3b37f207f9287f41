package logql

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// seriesLimitError is Loki's error for a metric result with more series
// than max_query_series allows.
func seriesLimitError(limit int) error {
	return badRequest(fmt.Sprintf("maximum of series (%d) reached for a single query", limit))
}

// execSamples evaluates a metric query: a scalar for a constant instant
// query, a vector for other instant queries, a matrix for range queries.
func (e *Engine) execSamples(ctx context.Context, tenant string, ex syntax.SampleExpr, p Params) (Result, error) {
	st := newSteps(p)
	instant := isInstant(p)
	if v, ok := syntax.ConstantValue(ex); ok {
		if instant {
			// Loki's engine counts 0 entries for a scalar; its answers
			// (through the query frontend) say 1.
			return Result{Type: ValueScalar, Scalar: Point{T: p.Start / 1e6, V: v}, Stats: Stats{TotalEntriesReturned: 1}}, nil
		}
		var pts []Point
		c := st.clock()
		for t, ok := c.next(); ok; t, ok = c.next() {
			pts = append(pts, Point{T: t / 1e6, V: v})
		}
		return Result{Type: ValueMatrix, Matrix: []Series{{Metric: labels.EmptyLabels(), Points: pts}}, Stats: Stats{TotalEntriesReturned: int64(len(pts))}}, nil
	}
	if err := checkRangeLengths(ex, time.Duration(e.limits.For(tenant).MaxQueryLength)); err != nil {
		return Result{}, err
	}
	counters := &log.Counters{}
	b := evalBuilder{e: e, ctx: ctx, tenant: tenant, steps: st, stats: counters}
	ev, err := b.build(ex)
	if err != nil {
		return Result{}, err
	}
	defer ev.close()
	limit := e.limits.For(tenant).MaxQuerySeries
	var res Result
	if instant {
		res, err = collectVector(ev, limit, sortable(ex))
	} else {
		res, err = collectMatrix(ctx, ev, limit)
	}
	if err != nil {
		return Result{}, err
	}
	res.Stats.TotalLinesProcessed = counters.Lines
	res.Stats.TotalBytesProcessed = counters.Bytes
	res.Stats.PostFilterLines = counters.PostFilter
	return res, nil
}

// checkRangeLengths refuses range vectors longer than maxLen (0: no limit)
// with Loki's message: its querier checks the range of the samples a step
// reads, from t-range-offset to t-offset.
func checkRangeLengths(ex syntax.Expr, maxLen time.Duration) error {
	if maxLen <= 0 {
		return nil
	}
	var err error
	syntax.Walk(ex, func(n syntax.Expr) bool {
		if r, ok := n.(*syntax.RangeAggregationExpr); ok && r.Left.Interval > maxLen {
			err = badRequest(fmt.Sprintf("the query time range exceeds the limit (query length: %s, limit: %s)",
				r.Left.Interval, model.Duration(maxLen)))
		}
		return err == nil
	})
	return err
}

// collectVector takes the one step of an instant query. Samples are sorted
// by labels unless the query orders them (sort, sort_desc).
func collectVector(ev stepEvaluator, limit int, keepOrder bool) (Result, error) {
	vec, ok := ev.next()
	if err := ev.err(); err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, errors.New("unexpected empty result")
	}
	if limit > 0 && len(vec) > limit {
		return Result{}, seriesLimitError(limit)
	}
	out := slices.Clone(vec)
	if out == nil {
		out = []Sample{}
	}
	if !keepOrder {
		slices.SortStableFunc(out, func(a, b Sample) int { return labels.Compare(a.Metric, b.Metric) })
	}
	return Result{Type: ValueVector, Vector: out, Stats: Stats{TotalEntriesReturned: int64(len(out))}}, nil
}

// collectMatrix gathers the steps of a range query into series sorted by
// labels, failing as soon as there are more series than limit.
func collectMatrix(ctx context.Context, ev stepEvaluator, limit int) (Result, error) {
	var (
		matrix []Series
		index  = map[uint64][]int{}
		first  = true
	)
	for {
		vec, ok := ev.next()
		if !ok {
			break
		}
		if first && limit > 0 && len(vec) > limit {
			return Result{}, seriesLimitError(limit)
		}
		first = false
		for _, s := range vec {
			h := s.Metric.Hash()
			i := -1
			for _, j := range index[h] {
				if labels.Equal(matrix[j].Metric, s.Metric) {
					i = j
					break
				}
			}
			if i < 0 {
				i = len(matrix)
				matrix = append(matrix, Series{Metric: s.Metric})
				index[h] = append(index[h], i)
				if limit > 0 && len(matrix) > limit {
					return Result{}, seriesLimitError(limit)
				}
			}
			matrix[i].Points = append(matrix[i].Points, Point{T: s.T, V: s.V})
		}
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
	}
	if err := ev.err(); err != nil {
		return Result{}, err
	}
	sortMatrix(matrix)
	if matrix == nil {
		matrix = []Series{}
	}
	// Loki counts the points of a matrix as the entries it returns.
	var points int64
	for _, s := range matrix {
		points += int64(len(s.Points))
	}
	return Result{Type: ValueMatrix, Matrix: matrix, Stats: Stats{TotalEntriesReturned: points}}, nil
}

// sortMatrix orders series by the text of their labels, as Loki's answers
// come (its query frontend merges matrices so): {level="error"} sorts
// before {}, which labels.Compare would put first.
func sortMatrix(m []Series) {
	keys := make([]string, len(m))
	for i := range m {
		keys[i] = m[i].Metric.String()
	}
	idx := make([]int, len(m))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	sorted := make([]Series, len(m))
	for i, j := range idx {
		sorted[i] = m[j]
	}
	copy(m, sorted)
}

// sortable reports whether the query orders its result (sort, sort_desc),
// which an instant query then keeps.
func sortable(ex syntax.Expr) bool {
	found := false
	syntax.Walk(ex, func(n syntax.Expr) bool {
		if v, ok := n.(*syntax.VectorAggregationExpr); ok && (v.Op == syntax.OpTypeSort || v.Op == syntax.OpTypeSortDesc) {
			found = true
		}
		return !found
	})
	return found
}

// evalBuilder builds the step evaluators of one query.
type evalBuilder struct {
	e      *Engine
	ctx    context.Context
	tenant string
	steps  steps
	stats  *log.Counters
}

func (b *evalBuilder) build(ex syntax.SampleExpr) (stepEvaluator, error) {
	switch ex := ex.(type) {
	case *syntax.VectorExpr:
		return &vectorEvaluator{clock: b.steps.clock(), val: ex.Val}, nil
	case *syntax.RangeAggregationExpr:
		return b.rangeEvaluator(ex, ex)
	case *syntax.VectorAggregationExpr:
		var (
			in  stepEvaluator
			err error
		)
		if r, ok := log.PushesGrouping(ex); ok {
			in, err = b.rangeEvaluator(r, ex)
		} else {
			in, err = b.build(ex.Left)
		}
		if err != nil {
			return nil, err
		}
		return newVectorAggEvaluator(in, ex), nil
	case *syntax.BinOpExpr:
		return b.binOp(ex)
	case *syntax.LabelReplaceExpr:
		in, err := b.build(ex.Left)
		if err != nil {
			return nil, err
		}
		ev, err := newLabelReplaceEvaluator(in, ex)
		if err != nil {
			in.close()
			return nil, err
		}
		return ev, nil
	}
	return nil, badRequest(fmt.Sprintf("unexpected expression %s where a vector is expected", ex.String()))
}

func (b *evalBuilder) binOp(ex *syntax.BinOpExpr) (stepEvaluator, error) {
	lv, lconst := syntax.ConstantValue(ex.LHS)
	rv, rconst := syntax.ConstantValue(ex.RHS)
	switch {
	case lconst && rconst:
		// Only a whole query can be constant; execSamples answers it.
		return nil, badRequest(fmt.Sprintf("unexpected constant expression %s", ex.String()))
	case lconst || rconst:
		if syntax.IsLogicalBinOp(ex.Op) {
			return nil, badRequest(fmt.Sprintf("unexpected literal for %s", ex.Op))
		}
		other, val := ex.LHS, rv
		if lconst {
			other, val = ex.RHS, lv
		}
		in, err := b.build(other)
		if err != nil {
			return nil, err
		}
		return &literalEvaluator{in: in, op: ex.Op, val: val, litLeft: lconst, returnBool: ex.ReturnBool}, nil
	}
	lhs, err := b.build(ex.LHS)
	if err != nil {
		return nil, err
	}
	rhs, err := b.build(ex.RHS)
	if err != nil {
		lhs.close()
		return nil, err
	}
	return newBinOpEvaluator(lhs, rhs, ex), nil
}

// rangeEvaluator reads the samples of r, extracted as src says (r itself,
// or a sum over r whose grouping the extractor applies).
func (b *evalBuilder) rangeEvaluator(r *syntax.RangeAggregationExpr, src syntax.SampleExpr) (stepEvaluator, error) {
	x, err := log.NewSampleExtractor(src, index.Fingerprint)
	if errors.Is(err, log.ErrUnsupported) {
		return nil, badRequest(err.Error())
	}
	if err != nil {
		return nil, err
	}
	rng, off := int64(r.Left.Interval), int64(r.Left.Offset)
	it, err := b.e.selectSamples(b.ctx, b.tenant, SelectSampleParams{
		// Windows are (t-offset-range, t-offset]: End is exclusive.
		Start:     satSub(b.steps.start, rng+off),
		End:       satAdd(satSub(b.steps.end, off), 1),
		Query:     src.String(),
		Matchers:  r.Selector().Matchers(),
		Extractor: x,
		Stats:     b.stats,
	})
	if err != nil {
		return nil, err
	}
	var streams []iter.StreamSampleIterator
	switch it := it.(type) {
	case *iter.SampleSet:
		streams = it.Streams()
	case iter.StreamSampleIterator:
		streams = []iter.StreamSampleIterator{it}
	default:
		streams = []iter.StreamSampleIterator{newSamplesAsStream(it)}
	}
	ev, err := newRangeEvaluator(b.ctx, streams, r, b.steps)
	if err != nil {
		for _, s := range streams {
			_ = s.Close()
		}
		return nil, err
	}
	return ev, nil
}
