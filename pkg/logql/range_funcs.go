package logql

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// point is one sample of a series inside a range window; T in Unix ns.
type point struct {
	T int64
	V float64
}

// rangeFunc computes the value of a range aggregation from the points of a
// window (lo, hi] (Unix ns), oldest first; pts is never empty.
type rangeFunc func(pts []point, lo, hi int64) float64

// newRangeFunc returns the function of a range aggregation.
func newRangeFunc(e *syntax.RangeAggregationExpr) (rangeFunc, error) {
	secs := e.Left.Interval.Seconds()
	unwrapped := e.Left.Unwrap != nil
	switch e.Op {
	case syntax.OpRangeTypeCount:
		return countOverTime, nil
	case syntax.OpRangeTypeRate:
		if unwrapped {
			return func(pts []point, _, _ int64) float64 { return sumOverTime(pts, 0, 0) / secs }, nil
		}
		return func(pts []point, _, _ int64) float64 { return float64(len(pts)) / secs }, nil
	case syntax.OpRangeTypeRateCounter:
		return func(pts []point, lo, hi int64) float64 { return counterRate(pts, lo, hi, e.Left.Interval) }, nil
	case syntax.OpRangeTypeBytes, syntax.OpRangeTypeSum:
		return sumOverTime, nil
	case syntax.OpRangeTypeBytesRate:
		return func(pts []point, _, _ int64) float64 { return sumOverTime(pts, 0, 0) / secs }, nil
	case syntax.OpRangeTypeAvg:
		return avgOverTime, nil
	case syntax.OpRangeTypeMax:
		return maxOverTime, nil
	case syntax.OpRangeTypeMin:
		return minOverTime, nil
	case syntax.OpRangeTypeStdvar:
		return func(pts []point, _, _ int64) float64 { return variance(pts) }, nil
	case syntax.OpRangeTypeStddev:
		return func(pts []point, _, _ int64) float64 { return math.Sqrt(variance(pts)) }, nil
	case syntax.OpRangeTypeQuantile:
		if e.Param == nil {
			return nil, badRequest("quantile_over_time needs a quantile parameter")
		}
		q := *e.Param
		var buf []float64
		return func(pts []point, _, _ int64) float64 {
			buf = buf[:0]
			for _, p := range pts {
				buf = append(buf, p.V)
			}
			return quantile(q, buf)
		}, nil
	case syntax.OpRangeTypeFirst:
		return func(pts []point, _, _ int64) float64 { return pts[0].V }, nil
	case syntax.OpRangeTypeLast:
		return func(pts []point, _, _ int64) float64 { return pts[len(pts)-1].V }, nil
	case syntax.OpRangeTypeAbsent:
		return func([]point, int64, int64) float64 { return 1 }, nil
	}
	return nil, badRequest(fmt.Sprintf("unsupported range vector aggregation operation: %s", e.Op))
}

func countOverTime(pts []point, _, _ int64) float64 { return float64(len(pts)) }

func sumOverTime(pts []point, _, _ int64) float64 {
	var sum float64
	for _, p := range pts {
		sum += p.V
	}
	return sum
}

// avgOverTime is the running mean Loki (and Prometheus) compute, which
// stays finite where a plain sum would overflow and keeps an infinite mean
// of one sign infinite.
func avgOverTime(pts []point, _, _ int64) float64 {
	var mean, count float64
	for _, p := range pts {
		count++
		if math.IsInf(mean, 0) {
			if math.IsInf(p.V, 0) && (mean > 0) == (p.V > 0) {
				continue
			}
			if !math.IsInf(p.V, 0) && !math.IsNaN(p.V) {
				continue
			}
		}
		mean += p.V/count - mean/count
	}
	return mean
}

func maxOverTime(pts []point, _, _ int64) float64 {
	m := pts[0].V
	for _, p := range pts {
		if p.V > m || math.IsNaN(m) {
			m = p.V
		}
	}
	return m
}

func minOverTime(pts []point, _, _ int64) float64 {
	m := pts[0].V
	for _, p := range pts {
		if p.V < m || math.IsNaN(m) {
			m = p.V
		}
	}
	return m
}

// variance is the population variance by Welford's method.
func variance(pts []point) float64 {
	var aux, count, mean float64
	for _, p := range pts {
		count++
		delta := p.V - mean
		mean += delta / count
		aux += delta * (p.V - mean)
	}
	return aux / count
}

// quantile is the φ-quantile of values (sorted in place), interpolated
// between the two nearest ranks; -Inf for φ < 0 and +Inf for φ > 1.
func quantile(q float64, values []float64) float64 {
	if len(values) == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	if q < 0 {
		return math.Inf(-1)
	}
	if q > 1 {
		return math.Inf(+1)
	}
	slices.Sort(values)
	n := float64(len(values))
	rank := q * (n - 1)
	lower := math.Max(0, math.Floor(rank))
	upper := math.Min(n-1, lower+1)
	weight := rank - math.Floor(rank)
	return values[int(lower)]*(1-weight) + values[int(upper)]*weight
}

// counterRate is rate_counter: the per-second rate of a counter over the
// window (lo, hi], compensating resets and extrapolating to the window's
// edges as Prometheus' rate() does (Loki after grafana/loki#23684; before
// that fix its extrapolation mixed nanoseconds and milliseconds). Fewer
// than two points, or two at one instant, give 0.
func counterRate(pts []point, lo, hi int64, rng time.Duration) float64 {
	if len(pts) < 2 {
		return 0
	}
	first, last := pts[0], pts[len(pts)-1]
	if last.T == first.T {
		return 0
	}
	result := last.V - first.V
	prev := first.V
	for _, p := range pts[1:] {
		if p.V < prev {
			result += prev // a reset: the counter restarted from 0
		}
		prev = p.V
	}
	const ns = float64(time.Second)
	toStart := float64(first.T-lo) / ns
	toEnd := float64(hi-last.T) / ns
	sampled := float64(last.T-first.T) / ns
	avgGap := sampled / float64(len(pts)-1)
	threshold := avgGap * 1.1
	if toStart >= threshold {
		toStart = avgGap / 2
	}
	if result > 0 && first.V >= 0 {
		// A counter is never negative: do not extrapolate below zero.
		if toZero := sampled * (first.V / result); toZero < toStart {
			toStart = toZero
		}
	}
	if toEnd >= threshold {
		toEnd = avgGap / 2
	}
	return result * (sampled + toStart + toEnd) / sampled / rng.Seconds()
}
