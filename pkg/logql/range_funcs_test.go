package logql

import (
	"math"
	"testing"
	"time"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

func pts(tv ...float64) []point {
	var out []point
	for i := 0; i+1 < len(tv); i += 2 {
		out = append(out, point{T: sec(tv[i]), V: tv[i+1]})
	}
	return out
}

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b || math.Abs(a-b) < 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

func TestCounterRate(t *testing.T) {
	tests := []struct {
		name   string
		pts    []point
		lo, hi float64
		want   float64
	}{
		// result 2-1 plus the reset's 4 = 5; 10 s to each edge is under
		// 1.1 × the 20 s gap, but the counter would reach 0 after 8 s:
		// 5 × (40+8+10)/40 / 60.
		{"reset and zero cap", pts(10, 1, 30, 4, 50, 2), 0, 60, 5 * 1.45 / 60},
		// 40 s to each edge is past the threshold: half a gap at the end,
		// and the counter starts at 0: 10 × (20+0+10)/20 / 100.
		{"edges far away", pts(40, 0, 60, 10), 0, 100, 10 * 1.5 / 100},
		// A counter that starts high is extrapolated to the window start.
		{"no zero cap", pts(10, 100, 30, 104, 50, 108), 0, 60, 8 * (40 + 10 + 10) / 40.0 / 60},
		{"one point", pts(10, 5), 0, 60, 0},
		{"one instant", pts(10, 5, 10, 6), 0, 60, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := counterRate(tt.pts, sec(tt.lo), sec(tt.hi), time.Duration(sec(tt.hi-tt.lo)))
			if !sameFloat(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRangeFuncs(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	tests := []struct {
		op    string
		param float64
		pts   []point
		want  float64
	}{
		{syntax.OpRangeTypeCount, 0, pts(1, 5, 2, 7), 2},
		{syntax.OpRangeTypeSum, 0, pts(1, 5, 2, 7), 12},
		{syntax.OpRangeTypeRate, 0, pts(1, 5, 2, 7), 12.0 / 60},
		{syntax.OpRangeTypeAvg, 0, pts(1, 5, 2, 7), 6},
		{syntax.OpRangeTypeAvg, 0, pts(1, inf, 2, 7), inf},
		{syntax.OpRangeTypeAvg, 0, pts(1, inf, 2, -inf), nan},
		{syntax.OpRangeTypeMax, 0, pts(1, nan, 2, 1, 3, 3), 3},
		{syntax.OpRangeTypeMin, 0, pts(1, nan, 2, 5, 3, 2), 2},
		{syntax.OpRangeTypeStdvar, 0, pts(1, 2, 2, 4, 3, 4, 4, 4, 5, 5, 6, 5, 7, 7, 8, 9), 4},
		{syntax.OpRangeTypeStddev, 0, pts(1, 2, 2, 4, 3, 4, 4, 4, 5, 5, 6, 5, 7, 7, 8, 9), 2},
		{syntax.OpRangeTypeQuantile, 0.5, pts(1, 4, 2, 1, 3, 3, 4, 2), 2.5},
		{syntax.OpRangeTypeQuantile, 0, pts(1, 4, 2, 1), 1},
		{syntax.OpRangeTypeQuantile, 1, pts(1, 4, 2, 1), 4},
		{syntax.OpRangeTypeQuantile, 0.9, pts(1, 10, 2, 20, 3, 30), 28},
		{syntax.OpRangeTypeQuantile, -1, pts(1, 4), math.Inf(-1)},
		{syntax.OpRangeTypeQuantile, 2, pts(1, 4), inf},
		{syntax.OpRangeTypeFirst, 0, pts(1, 4, 2, 1), 4},
		{syntax.OpRangeTypeLast, 0, pts(1, 4, 2, 1), 1},
	}
	for _, tt := range tests {
		e := &syntax.RangeAggregationExpr{Op: tt.op, Left: &syntax.LogRangeExpr{Interval: time.Minute, Unwrap: &syntax.UnwrapExpr{Label: "x"}}}
		if tt.op == syntax.OpRangeTypeQuantile {
			e.Param = &tt.param
		}
		fn, err := newRangeFunc(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := fn(tt.pts, 0, sec(60)); !sameFloat(got, tt.want) {
			t.Errorf("%s(%g) of %v = %v, want %v", tt.op, tt.param, tt.pts, got, tt.want)
		}
	}
}
