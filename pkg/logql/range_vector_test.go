package logql

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// refSpan is the seconds refStreams cover.
const refSpan = 1500

// refStreams are four streams of logfmt lines "n=<int> level=<level>" at
// distinct times over 1,500 s, mostly 25 ms apart with now and then a gap
// longer than any range below, so that series come and go.
func refStreams() []memStream {

	r := rand.New(rand.NewPCG(7, 11))
	streams := []memStream{
		{lbls: labels.FromStrings("app", "a", "pod", "0")},
		{lbls: labels.FromStrings("app", "a", "pod", "1")},
		{lbls: labels.FromStrings("app", "b", "pod", "0")},
		{lbls: labels.FromStrings("app", "b", "pod", "1")},
	}
	levels := []string{"info", "warn", "error"}
	ts := sec(1)
	for ts < sec(refSpan) {
		gap := int64(1+r.IntN(50)) * int64(time.Millisecond)
		if r.IntN(2000) == 0 {
			gap = sec(90)
		}
		ts += gap
		s := &streams[r.IntN(len(streams))]
		line := fmt.Sprintf("n=%d level=%s", r.IntN(1000), levels[r.IntN(len(levels))])
		s.entries = append(s.entries, logproto.Entry{Timestamp: ts, Line: line})
	}
	return streams
}

// refSample is one sample for the reference evaluation.
type refSample struct {
	ts     int64
	v      float64
	series string
}

// reference evaluates a range aggregation the plain way: every sample of
// the query's series in each step's window, sorted by time. key gives a
// sample's series (a label string) and value its value, from the entry.
func reference(t *testing.T, streams []memStream, query string, p Params, key func(lbls labels.Labels, level string) string, value func(line string, n float64) float64) string {
	t.Helper()
	e, err := syntax.ParseExpr(query)
	if err != nil {
		t.Fatal(err)
	}
	var r *syntax.RangeAggregationExpr
	syntax.Walk(e, func(n syntax.Expr) bool {
		if x, ok := n.(*syntax.RangeAggregationExpr); ok {
			r = x
		}
		return r == nil
	})
	fn, err := newRangeFunc(r)
	if err != nil {
		t.Fatal(err)
	}
	bySeries := map[string][]refSample{}
	for _, s := range streams {
		for _, en := range s.entries {
			f := strings.Fields(en.Line)
			n, _ := strconv.ParseFloat(strings.TrimPrefix(f[0], "n="), 64)
			k := key(s.lbls, strings.TrimPrefix(f[1], "level="))
			bySeries[k] = append(bySeries[k], refSample{ts: en.Timestamp, v: value(en.Line, n), series: k})
		}
	}
	keys := make([]string, 0, len(bySeries))
	for k, ss := range bySeries {
		slices.SortFunc(ss, func(a, b refSample) int { return int(a.ts - b.ts) })
		keys = append(keys, k)
	}
	slices.Sort(keys)
	rng, off := int64(r.Left.Interval), int64(r.Left.Offset)
	st := newSteps(p)
	var b strings.Builder
	for _, k := range keys {
		ss := bySeries[k]
		line := k
		for step := st.start; step <= st.end; step += st.step {
			hi := step - off
			lo := hi - rng
			i, _ := slices.BinarySearchFunc(ss, lo+1, func(s refSample, ts int64) int { return int(s.ts - ts) })
			j, _ := slices.BinarySearchFunc(ss, hi+1, func(s refSample, ts int64) int { return int(s.ts - ts) })
			if i >= j {
				continue
			}
			pts := make([]point, 0, j-i)
			for _, s := range ss[i:j] {
				pts = append(pts, point{T: s.ts, V: s.v})
			}
			line += fmt.Sprintf(" %s=%s", strconv.FormatFloat(float64(hi/1e6+off/1e6)/1000, 'f', -1, 64),
				strconv.FormatFloat(fn(pts, lo, hi), 'g', 10, 64))
		}
		if line != k {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// TestRangeEvaluatorReference compares range aggregations over 60,000
// samples (many slabs, series that come and go, windows longer and
// shorter than the step, offsets) with the plain evaluation, through
// every kind of source.
func TestRangeEvaluatorReference(t *testing.T) {
	streams := refStreams()
	stream := func(l labels.Labels, _ string) string { return l.String() }
	withLevel := func(l labels.Labels, level string) string {
		return labels.NewBuilder(l).Set("level", level).Labels().String()
	}
	byApp := func(l labels.Labels, _ string) string { return labels.FromStrings("app", l.Get("app")).String() }
	byLevel := func(_ labels.Labels, level string) string { return labels.FromStrings("level", level).String() }
	one := func(string, float64) float64 { return 1 }
	size := func(line string, _ float64) float64 { return float64(len(line)) }
	n := func(_ string, n float64) float64 { return n }
	cases := []struct {
		query string
		key   func(labels.Labels, string) string
		value func(string, float64) float64
	}{
		{`count_over_time({app=~".+"}[%s]%s)`, stream, one},
		{`sum by (app) (rate({app=~".+"}[%s]%s))`, byApp, one},
		{`sum by (app) (bytes_over_time({app=~".+"}[%s]%s))`, byApp, size},
		{`sum by (level) (count_over_time({app=~".+"} | logfmt [%s]%s))`, byLevel, one},
		{`sum_over_time({app=~".+"} | logfmt | unwrap n [%s]%s)`, withLevel, n},
		{`max_over_time({app=~".+"} | logfmt | unwrap n [%s]%s) by (app)`, byApp, n},
		{`first_over_time({app=~".+"} | logfmt | unwrap n [%s]%s) by (level)`, byLevel, n},
		{`last_over_time({app=~".+"} | logfmt | unwrap n [%s]%s) by (app)`, byApp, n},
		{`stddev_over_time({app=~".+"} | logfmt | unwrap n [%s]%s) by (app)`, byApp, n},
	}
	windows := []struct{ rng, off, step string }{
		{"10s", "", "10s"},
		{"35s", "", "10s"},
		{"3s", "", "20s"},
		{"25s", " offset 7s", "5s"},
	}
	for _, c := range cases {
		for _, w := range windows {
			q := fmt.Sprintf(c.query, w.rng, w.off)
			step, _ := time.ParseDuration(w.step)
			p := Params{Query: q, Start: sec(30), End: sec(refSpan + 100), Step: int64(step), Limit: 100, Direction: logproto.Backward}
			t.Run(q+" step "+w.step, func(t *testing.T) {
				res, err := runAll(t, streams, p)
				if err != nil {
					t.Fatal(err)
				}
				want := reference(t, streams, q, p, c.key, c.value)
				if got := formatResult(res); got != want {
					t.Fatalf("got\n%.2000s\nwant\n%.2000s", got, want)
				}
			})
		}
	}
}

// TestRangeEvaluatorVectorOrder checks that a step's vector lists the
// series in the order one time-ordered merge would create them (those of
// the last step first, then new ones by first sample, then labels), which
// the sum over them and the series named by a pipeline error depend on.
func TestRangeEvaluatorVectorOrder(t *testing.T) {
	streams := []memStream{
		stream(`{app="c"}`, "1 x", "12 x"),
		stream(`{app="b"}`, "2 x", "11 x", "15 x"),
		stream(`{app="a"}`, "2 x", "13 x"),
	}
	q := &memQuerier{streams: streams}
	ex, err := syntax.ParseExpr(`count_over_time({app=~".+"}[5s])`)
	if err != nil {
		t.Fatal(err)
	}
	r := ex.(*syntax.RangeAggregationExpr)
	x := Params{Start: sec(5), End: sec(15), Step: sec(5)}
	b := evalBuilder{e: newTestEngine(q, 0), ctx: context.Background(), tenant: "t", steps: newSteps(x), stats: nil}
	ev, err := b.rangeEvaluator(r, r)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.close()
	var got []string
	for {
		vec, ok := ev.next()
		if !ok {
			break
		}
		var names []string
		for _, s := range vec {
			names = append(names, s.Metric.Get("app"))
		}
		got = append(got, strings.Join(names, ","))
	}
	if err := ev.err(); err != nil {
		t.Fatal(err)
	}
	// 5s: c (1s), then a and b (2s) by labels; 10s: none; 15s: b (11s),
	// c (12s), a (13s).
	if want := "[c,a,b  b,c,a]"; fmt.Sprint(got) != want {
		t.Fatalf("vectors %q, want %s", got, want)
	}
}

// TestRangeEvaluatorCancel stops reading when the context ends.
func TestRangeEvaluatorCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := newTestEngine(&memQuerier{streams: refStreams()}, 0)
	_, err := e.Query(ctx, "t", Params{Query: `count_over_time({app=~".+"}[1m])`, Start: sec(60), End: sec(1500), Step: sec(60)})
	if err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("error %v, want context canceled", err)
	}
}
