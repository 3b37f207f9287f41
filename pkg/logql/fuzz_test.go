package logql

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// FuzzMetricQuery evaluates any query that parses over a few streams, as a
// range and as an instant query, through both source paths: it must not
// panic, both paths must agree, and a range result must have points in
// time order inside the query's range. The paths are the sources of
// runAll: per stream (with and without replicas), merged, from logs.
func FuzzMetricQuery(f *testing.F) {
	for _, q := range []string{
		`count_over_time({app="a"}[20s])`,
		`sum by (level) (rate({app=~"a|b"} | logfmt [10s] offset 5s))`,
		`topk(2, sum by (app) (bytes_over_time({app=~".+"}[1m])))`,
		`quantile_over_time(0.9, {app="a"} | logfmt | unwrap took | __error__="" [30s]) by (level)`,
		`rate_counter({app="b"} | logfmt | unwrap n [30s])`,
		`sum(count_over_time({app="a"} | json [1m])) / on () group_left sum(count_over_time({app="b"}[1m]))`,
		`label_replace(absent_over_time({app="zz"}[5s]), "x", "$1", "app", "(.*)")`,
		`vector(1) + vector(1)`,
		`1 + 1`,
		`count_over_time({app="a"}[5s]) > bool 0 or vector(0)`,
		`sort_desc(stddev_over_time({app="b"} | logfmt | unwrap n [1m]))`,
	} {
		f.Add(q)
	}
	streams := []memStream{
		withMetadata(stream(`{app="a"}`, "1 level=info took=1.5", "12 level=error took=x", "25 level=info took=3", "40 {\"k\":1}"), "trace", "t"),
		stream(`{app="b", env="prod"}`, "5 n=1", "15 n=4", "30 n=2", "45 n=9"),
	}
	f.Fuzz(func(t *testing.T, q string) {
		e, err := syntax.ParseExpr(q)
		if err != nil {
			return
		}
		if _, ok := e.(syntax.SampleExpr); !ok {
			return
		}
		for _, p := range []Params{rangeParams(q, 0, 60, 7), instantParams(q, 50)} {
			res, err := runAll(t, streams, p)
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("%q: %v", q, err)
				}
				continue
			}
			for _, s := range res.Matrix {
				last := int64(math.MinInt64)
				for _, pt := range s.Points {
					st := newSteps(p)
					if pt.T <= last || pt.T < st.start/1e6 || pt.T > st.end/1e6 {
						t.Fatalf("%q: point at %d out of order or range", q, pt.T)
					}
					last = pt.T
				}
			}
		}
	})
}
