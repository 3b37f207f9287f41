package logql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/validation"
)

// Two streams: app a has entries every 10 s from 10 s to 50 s, app b at
// 15, 30 and 45 s. Lines have known lengths for bytes_over_time.
func twoStreams() []memStream {
	return []memStream{
		stream(`{app="a", env="prod"}`, "10 a1", "20 a22", "30 a333", "40 a4444", "50 a55555"),
		stream(`{app="b", env="prod"}`, "15 bb", "30 bbbb", "45 bbbbbb"),
	}
}

func TestRangeAggregations(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		want string
	}{
		{
			name: "window is (t-range, t]: the sample at t-range is out, the one at t in",
			p:    rangeParams(`count_over_time({app="a"}[20s])`, 10, 50, 10),
			want: `{app="a", env="prod"} 10=1 20=2 30=2 40=2 50=2` + "\n",
		},
		{
			name: "empty windows give no point",
			p:    rangeParams(`count_over_time({app="a"}[5s])`, 10, 30, 5),
			want: `{app="a", env="prod"} 10=1 20=1 30=1` + "\n",
		},
		{
			// Loki's query frontend rounds start down and end up to the step
			// (logcli-metric.txt in the Loki samples: end …582.5, step 60,
			// last point …640).
			name: "steps are aligned: start rounded down, end rounded up to the step",
			p:    rangeParams(`count_over_time({app="a"}[10s])`, 11, 51, 10),
			want: `{app="a", env="prod"} 10=1 20=1 30=1 40=1 50=1` + "\n",
		},
		{
			name: "an end between steps is rounded up to the next step",
			p:    rangeParams(`count_over_time({app="a"}[10s])`, 10, 45, 10),
			want: `{app="a", env="prod"} 10=1 20=1 30=1 40=1 50=1` + "\n",
		},
		{
			name: "offset shifts the window, not the step time",
			p:    rangeParams(`count_over_time({app="a"}[15s] offset 10s)`, 20, 60, 20),
			want: `{app="a", env="prod"} 20=1 40=2 60=2` + "\n",
		},
		{
			name: "rate is count per second of range",
			p:    rangeParams(`rate({app="a"}[20s])`, 30, 30, 1),
			want: `{app="a", env="prod"} 30=0.1` + "\n",
		},
		{
			name: "bytes_over_time sums line lengths",
			p:    rangeParams(`bytes_over_time({app=~"a|b"}[20s])`, 30, 30, 1),
			want: `{app="a", env="prod"} 30=7` + "\n" + `{app="b", env="prod"} 30=6` + "\n",
		},
		{
			name: "bytes_rate",
			p:    rangeParams(`bytes_rate({app="b"}[30s])`, 30, 30, 1),
			want: `{app="b", env="prod"} 30=0.2` + "\n",
		},
		{
			name: "line filters apply before counting",
			p:    rangeParams(`count_over_time({env="prod"} |= "4" [1m])`, 60, 60, 1),
			want: `{app="a", env="prod"} 60=1` + "\n",
		},
		{
			name: "absent_over_time answers 1 where the window is empty, labels from equality matchers",
			p:    rangeParams(`absent_over_time({app="a"}[5s])`, 10, 30, 5),
			want: `{app="a"} 15=1 25=1` + "\n",
		},
		{
			name: "absent_over_time drops names matched twice or by regexp",
			p:    rangeParams(`absent_over_time({app="zz", app!="y", env="x", job=~".+"}[5s])`, 10, 10, 1),
			want: `{env="x"} 10=1` + "\n",
		},
		{
			name: "instant query",
			p:    instantParams(`count_over_time({env="prod"}[30s])`, 45),
			want: `{app="a", env="prod"} 45=3` + "\n" + `{app="b", env="prod"} 45=2` + "\n",
		},
		{
			name: "instant query with nothing is an empty vector",
			p:    instantParams(`count_over_time({app="zz"}[30s])`, 45),
			want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := runBoth(t, twoStreams(), tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if got := formatResult(res); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestResultTypes(t *testing.T) {
	tests := []struct {
		name     string
		p        Params
		wantType ValueType
		want     string
	}{
		{"grafana health check", Params{Query: `vector(1)+vector(1)`, Start: 4000000000 * 1e9, End: 4000000000 * 1e9, Instant: true}, ValueVector, "{} 4000000000=2\n"},
		{"constant instant is a scalar", instantParams(`1+1`, 100), ValueScalar, "scalar 100=2\n"},
		{"constant range is one series", rangeParams(`2*3`, 10, 30, 10), ValueMatrix, "{} 10=6 20=6 30=6\n"},
		{"vector range", rangeParams(`vector(5)`, 10, 20, 10), ValueMatrix, "{} 10=5 20=5\n"},
		{"metric range", rangeParams(`count_over_time({app="b"}[1m])`, 60, 60, 1), ValueMatrix, `{app="b", env="prod"} 60=3` + "\n"},
		{"metric instant", instantParams(`count_over_time({app="b"}[1m])`, 60), ValueVector, `{app="b", env="prod"} 60=3` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := runBoth(t, twoStreams(), tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if res.Type != tt.wantType {
				t.Fatalf("type %s, want %s", res.Type, tt.wantType)
			}
			if got := formatResult(res); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestVectorAggregations(t *testing.T) {
	streams := []memStream{
		stream(`{app="a", pod="1"}`, "1 x", "2 x", "3 x"),
		stream(`{app="a", pod="2"}`, "1 x"),
		stream(`{app="b", pod="1"}`, "1 x", "2 x"),
		stream(`{app="b", pod="2"}`, "1 x", "2 x"),
		stream(`{app="c", pod="1"}`, "1 x", "2 x", "3 x", "4 x"),
	}
	in := `count_over_time({pod=~".+"}[10s])`
	tests := []struct {
		q, want string
	}{
		{`sum(` + in + `)`, "{} 10=12\n"},
		{`sum by (app) (` + in + `)`, "{app=\"a\"} 10=4\n{app=\"b\"} 10=4\n{app=\"c\"} 10=4\n"},
		{`sum without (pod) (` + in + `)`, "{app=\"a\"} 10=4\n{app=\"b\"} 10=4\n{app=\"c\"} 10=4\n"},
		{`sum by (nope) (` + in + `)`, "{} 10=12\n"},
		{`count by (app) (` + in + `)`, "{app=\"a\"} 10=2\n{app=\"b\"} 10=2\n{app=\"c\"} 10=1\n"},
		{`avg by (app) (` + in + `)`, "{app=\"a\"} 10=2\n{app=\"b\"} 10=2\n{app=\"c\"} 10=4\n"},
		{`max by (pod) (` + in + `)`, "{pod=\"1\"} 10=4\n{pod=\"2\"} 10=2\n"},
		{`min by (pod) (` + in + `)`, "{pod=\"1\"} 10=2\n{pod=\"2\"} 10=1\n"},
		{`stdvar by (app) (` + in + `)`, "{app=\"a\"} 10=1\n{app=\"b\"} 10=0\n{app=\"c\"} 10=0\n"},
		{`stddev(` + in + `)`, "{} 10=1.019803903\n"},
		// Ties resolve by labels: pod 1 of app b before pod 2.
		{`topk(2, ` + in + `)`, "{app=\"a\", pod=\"1\"} 10=3\n{app=\"c\", pod=\"1\"} 10=4\n"},
		{`approx_topk(2, ` + in + `)`, "{app=\"a\", pod=\"1\"} 10=3\n{app=\"c\", pod=\"1\"} 10=4\n"},
		{`topk by (app) (1, ` + in + `)`, "{app=\"a\", pod=\"1\"} 10=3\n{app=\"b\", pod=\"1\"} 10=2\n{app=\"c\", pod=\"1\"} 10=4\n"},
		{`bottomk(2, ` + in + `)`, "{app=\"a\", pod=\"2\"} 10=1\n{app=\"b\", pod=\"1\"} 10=2\n"},
		{`sort_desc(sum by (app) (count_over_time({pod="2"}[10s])))`, "{app=\"b\"} 10=2\n{app=\"a\"} 10=1\n"},
		{`sort(sum by (app) (count_over_time({pod="2"}[10s])))`, "{app=\"a\"} 10=1\n{app=\"b\"} 10=2\n"},
		{`sum(count_over_time({pod="9"}[10s]))`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			res, err := runBoth(t, streams, instantParams(tt.q, 10))
			if err != nil {
				t.Fatal(err)
			}
			if got := formatResult(res); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestTopkTiesAreStable(t *testing.T) {
	var streams []memStream
	for _, p := range []string{"9", "3", "7", "1", "5"} {
		streams = append(streams, stream(`{app="a", pod="`+p+`"}`, "1 x"))
	}
	for range 5 {
		res, err := runBoth(t, streams, instantParams(`topk(2, count_over_time({app="a"}[10s]))`, 10))
		if err != nil {
			t.Fatal(err)
		}
		want := "{app=\"a\", pod=\"1\"} 10=1\n{app=\"a\", pod=\"3\"} 10=1\n"
		if got := formatResult(res); got != want {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	}
}

func TestBinaryOperators(t *testing.T) {
	streams := []memStream{
		stream(`{app="a", level="error"}`, "1 x"),
		stream(`{app="a", level="info"}`, "1 x", "2 x", "3 x"),
		stream(`{app="b", level="info"}`, "1 x", "2 x"),
	}
	errs := `sum by (app, level) (count_over_time({level="error"}[10s]))`
	all := `sum by (app, level) (count_over_time({app=~".+"}[10s]))`
	byApp := `sum by (app) (count_over_time({app=~".+"}[10s]))`
	tests := []struct {
		q, want string
	}{
		{all + ` * 2`, "{app=\"a\", level=\"error\"} 10=2\n{app=\"a\", level=\"info\"} 10=6\n{app=\"b\", level=\"info\"} 10=4\n"},
		{`10 - ` + byApp, "{app=\"a\"} 10=6\n{app=\"b\"} 10=8\n"},
		{byApp + ` / 0`, "{app=\"a\"} 10=NaN\n{app=\"b\"} 10=NaN\n"},
		{byApp + ` % 3`, "{app=\"a\"} 10=1\n{app=\"b\"} 10=2\n"},
		{byApp + ` ^ 2`, "{app=\"a\"} 10=16\n{app=\"b\"} 10=4\n"},
		{all + ` > 1`, "{app=\"a\", level=\"info\"} 10=3\n{app=\"b\", level=\"info\"} 10=2\n"},
		{`1 < ` + all, "{app=\"a\", level=\"info\"} 10=3\n{app=\"b\", level=\"info\"} 10=2\n"},
		{all + ` > bool 1`, "{app=\"a\", level=\"error\"} 10=0\n{app=\"a\", level=\"info\"} 10=1\n{app=\"b\", level=\"info\"} 10=1\n"},
		{all + ` == 3`, "{app=\"a\", level=\"info\"} 10=3\n"},
		{all + ` != bool 3`, "{app=\"a\", level=\"error\"} 10=1\n{app=\"a\", level=\"info\"} 10=0\n{app=\"b\", level=\"info\"} 10=1\n"},
		{(`(1 + 1) * ` + byApp), "{app=\"a\"} 10=8\n{app=\"b\"} 10=4\n"},
		// one-to-one on all labels
		{all + ` - ` + all, "{app=\"a\", level=\"error\"} 10=0\n{app=\"a\", level=\"info\"} 10=0\n{app=\"b\", level=\"info\"} 10=0\n"},
		{errs + ` / ` + byApp, ""},
		{errs + ` / ignoring (level) ` + byApp, "{app=\"a\"} 10=0.25\n"},
		{errs + ` / on (app) ` + byApp, "{app=\"a\"} 10=0.25\n"},
		{all + ` / on (app) group_left ` + byApp, "{app=\"a\", level=\"error\"} 10=0.25\n{app=\"a\", level=\"info\"} 10=0.75\n{app=\"b\", level=\"info\"} 10=1\n"},
		{byApp + ` / on (app) group_right ` + all, "{app=\"a\", level=\"error\"} 10=4\n{app=\"a\", level=\"info\"} 10=1.333333333\n{app=\"b\", level=\"info\"} 10=1\n"},
		{all + ` > on (app) group_left ` + byApp, ""},
		{all + ` <= on (app) group_left ` + byApp, "{app=\"a\", level=\"error\"} 10=1\n{app=\"a\", level=\"info\"} 10=3\n{app=\"b\", level=\"info\"} 10=2\n"},
		{all + ` and ` + errs, "{app=\"a\", level=\"error\"} 10=1\n"},
		{all + ` unless ` + errs, "{app=\"a\", level=\"info\"} 10=3\n{app=\"b\", level=\"info\"} 10=2\n"},
		{errs + ` or ` + byApp, "{app=\"a\"} 10=4\n{app=\"a\", level=\"error\"} 10=1\n{app=\"b\"} 10=2\n"},
		{all + ` and on (app) ` + `sum by (app) (count_over_time({app="b"}[10s]))`, "{app=\"b\", level=\"info\"} 10=2\n"},
		{all + ` unless ignoring (level) ` + `sum by (app) (count_over_time({app="b"}[10s]))`, "{app=\"a\", level=\"error\"} 10=1\n{app=\"a\", level=\"info\"} 10=3\n"},
		{`vector(2) * ` + `sum(count_over_time({app=~".+"}[10s]))`, "{} 10=12\n"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			res, err := runBoth(t, streams, instantParams(tt.q, 10))
			if err != nil {
				t.Fatal(err)
			}
			if got := formatResult(res); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestBinaryOperatorMatchingErrors(t *testing.T) {
	streams := []memStream{
		stream(`{app="a", level="error"}`, "1 x"),
		stream(`{app="a", level="info"}`, "1 x"),
	}
	all := `sum by (app, level) (count_over_time({app=~".+"}[10s]))`
	byApp := `sum by (app) (count_over_time({app=~".+"}[10s]))`
	tests := []struct{ q, want string }{
		{all + ` / ignoring (level) ` + byApp, "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"},
		{byApp + ` / ignoring (level) ` + all, "found duplicate series on the right hand-side;many-to-many matching not allowed: matching labels must be unique on one side"},
		{all + ` / on (app) group_right ` + byApp, "found duplicate series on the left hand-side;many-to-many matching not allowed: matching labels must be unique on one side"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			_, err := runBoth(t, streams, instantParams(tt.q, 10))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLabelReplace(t *testing.T) {
	streams := []memStream{stream(`{app="api-server", env="prod"}`, "1 x")}
	tests := []struct{ q, want string }{
		{`label_replace(count_over_time({env="prod"}[10s]), "svc", "$1", "app", "(.*)-server")`, `{app="api-server", env="prod", svc="api"} 10=1` + "\n"},
		{`label_replace(count_over_time({env="prod"}[10s]), "svc", "$1", "app", "(.*)-client")`, `{app="api-server", env="prod"} 10=1` + "\n"},
		{`label_replace(count_over_time({env="prod"}[10s]), "env", "", "app", ".*")`, `{app="api-server"} 10=1` + "\n"},
		{`label_replace(count_over_time({env="prod"}[10s]), "app", "x", "app", "api")`, `{app="api-server", env="prod"} 10=1` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			res, err := runBoth(t, streams, instantParams(tt.q, 10))
			if err != nil {
				t.Fatal(err)
			}
			if got := formatResult(res); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestSeriesLabelsIncludeStructuredMetadata(t *testing.T) {
	streams := []memStream{
		withMetadata(stream(`{app="a"}`, "1 x", "2 y"), "detected_level", "info", "trace_id", "t1"),
		withMetadata(stream(`{app="a", env="dev"}`, "1 x"), "detected_level", "error"),
	}
	res, err := runBoth(t, streams, instantParams(`count_over_time({app="a"}[10s])`, 10))
	if err != nil {
		t.Fatal(err)
	}
	want := `{app="a", detected_level="error", env="dev"} 10=1` + "\n" +
		`{app="a", detected_level="info", trace_id="t1"} 10=2` + "\n"
	if got := formatResult(res); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Grouping by a metadata label.
	res, err = runBoth(t, streams, instantParams(`sum by (detected_level) (count_over_time({app="a"}[10s]))`, 10))
	if err != nil {
		t.Fatal(err)
	}
	want = `{detected_level="error"} 10=1` + "\n" + `{detected_level="info"} 10=2` + "\n"
	if got := formatResult(res); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestMaxQuerySeries(t *testing.T) {
	q := &memQuerier{streams: twoStreams()}
	e := newTestEngine(q, 1)
	for _, p := range []Params{
		instantParams(`count_over_time({env="prod"}[1m])`, 60),
		rangeParams(`count_over_time({env="prod"}[1m])`, 60, 60, 1),
		// One series per step, two in all.
		rangeParams(`count_over_time({env="prod"}[5s])`, 10, 15, 5),
	} {
		_, err := e.Query(context.Background(), "t", p)
		if !errors.Is(err, ErrBadRequest) || err.Error() != "maximum of series (1) reached for a single query" {
			t.Fatalf("%s: err = %v", p.Query, err)
		}
	}
	if _, err := e.Query(context.Background(), "t", instantParams(`sum(count_over_time({env="prod"}[1m]))`, 60)); err != nil {
		t.Fatal(err)
	}
}

// A range vector longer than the tenant's max_query_length is refused with
// Loki's message (its querier checks the samples' range, which is the range
// vector's for each step), before any source is read.
func TestMaxQueryLengthOfRangeVectors(t *testing.T) {
	lim := validation.Limits{MaxQueryLength: model.Duration(721 * time.Hour)}
	src := &countingQuerier{memQuerier: memQuerier{streams: twoStreams()}}
	e := NewEngine(src, validation.NewOverrides(lim, nil), slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		p    Params
		want string // the error; "" for none
	}{
		{instantParams(`count_over_time({env="prod"}[30d])`, 60), ""},
		{instantParams(`count_over_time({env="prod"}[721h] offset 1000d)`, 60), ""},
		{instantParams(`count_over_time({env="prod"}[722h])`, 60), "the query time range exceeds the limit (query length: 722h0m0s, limit: 30d1h)"},
		{instantParams(`sum(rate({env="prod"}[100000d]))`, 60), "the query time range exceeds the limit (query length: 2400000h0m0s, limit: 30d1h)"},
		{rangeParams(`count_over_time({env="prod"}[1m]) / count_over_time({env="prod"}[40d])`, 60, 120, 60), "the query time range exceeds the limit (query length: 960h0m0s, limit: 30d1h)"},
	} {
		src.selects = 0
		_, err := e.Query(context.Background(), "t", tc.p)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.p.Query, err)
			}
			continue
		}
		if !errors.Is(err, ErrBadRequest) || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %q", tc.p.Query, err, tc.want)
		}
		if src.selects != 0 {
			t.Errorf("%s: %d selects before the error", tc.p.Query, src.selects)
		}
	}
}

// countingQuerier counts the sample selects.
type countingQuerier struct {
	memQuerier
	selects int
}

func (c *countingQuerier) SelectSamples(ctx context.Context, tenant string, p SelectSampleParams) (iter.SampleIterator, error) {
	c.selects++
	return c.memQuerier.SelectSamples(ctx, tenant, p)
}

func TestStats(t *testing.T) {
	q := &memQuerier{streams: twoStreams()}
	res, err := newTestEngine(q, 500).Query(context.Background(), "t", rangeParams(`count_over_time({env="prod"} |= "a" [1m])`, 60, 60, 1))
	if err != nil {
		t.Fatal(err)
	}
	st := res.Stats
	if st.TotalLinesProcessed != 8 || st.TotalBytesProcessed != 2+3+4+5+6+2+4+6 || st.PostFilterLines != 5 || st.TotalEntriesReturned != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Entries returned are the points of a matrix, as Loki counts them.
	res, err = newTestEngine(q, 500).Query(context.Background(), "t", rangeParams(`count_over_time({env="prod"}[10s])`, 10, 50, 10))
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.TotalEntriesReturned != 5+3 {
		t.Fatalf("%d entries returned for\n%s", res.Stats.TotalEntriesReturned, formatResult(res))
	}
}

func TestUnwrap(t *testing.T) {
	mk := func(lbls string, kv ...string) memStream {
		return withMetadata(stream(lbls, "10 x"), kv...)
	}
	streams := []memStream{
		mk(`{app="a", pod="1"}`, "latency", "0.5", "size", "1KiB", "took", "1.5s"),
		mk(`{app="a", pod="2"}`, "latency", "2", "size", "2kB", "took", "250ms"),
		mk(`{app="b", pod="1"}`, "latency", "bad", "size", "nope", "took", "x"),
		mk(`{app="c", pod="1"}`), // no such label: no sample
	}
	tests := []struct{ q, want string }{
		{`sum_over_time({app="a"} | unwrap latency [1m])`, "{app=\"a\", pod=\"1\", size=\"1KiB\", took=\"1.5s\"} 60=0.5\n{app=\"a\", pod=\"2\", size=\"2kB\", took=\"250ms\"} 60=2\n"},
		{`max_over_time({app="a"} | unwrap latency [1m]) by (app)`, "{app=\"a\"} 60=2\n"},
		{`min_over_time({app="a"} | unwrap latency [1m]) without (pod, size, took)`, "{app=\"a\"} 60=0.5\n"},
		{`sum by (app) (sum_over_time({app="a"} | unwrap bytes(size) [1m]))`, "{app=\"a\"} 60=3024\n"},
		{`sum(sum_over_time({app="a"} | unwrap duration(took) [1m]))`, "{} 60=1.75\n"},
		{`sum(sum_over_time({app="a"} | unwrap duration_seconds(took) [1m]))`, "{} 60=1.75\n"},
		{`sum(rate({app="a"} | unwrap latency [1m]))`, "{} 60=0.04166666667\n"},
		{`avg_over_time({app=~"a|b"} | unwrap latency | __error__="" [1m]) by (app)`, "{app=\"a\"} 60=1.25\n"},
		{`sum by (app) (sum_over_time({app=~"a|c"} | unwrap latency | latency > 1 [1m]))`, "{app=\"a\"} 60=2\n"},
		{`quantile_over_time(0.5, {app="a"} | unwrap latency [1m]) by (app)`, "{app=\"a\"} 60=1.25\n"},
		{`first_over_time({app="a"} | unwrap latency [1m]) by (app)`, "{app=\"a\"} 60=0.5\n"},
		{`last_over_time({app="a"} | unwrap latency [1m]) by (app)`, "{app=\"a\"} 60=2\n"},
		{`stddev_over_time({app="a"} | unwrap latency [1m]) by (app)`, "{app=\"a\"} 60=0.75\n"},
		{`stdvar_over_time({app="a"} | unwrap latency [1m]) by (app)`, "{app=\"a\"} 60=0.5625\n"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			res, err := runBoth(t, streams, instantParams(tt.q, 60))
			if err != nil {
				t.Fatal(err)
			}
			if got := formatResult(res); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestPipelineErrors(t *testing.T) {
	streams := []memStream{
		withMetadata(stream(`{app="b"}`, "10 x"), "latency", "bad"),
	}
	_, err := runBoth(t, streams, instantParams(`sum by (app) (sum_over_time({app="b"} | unwrap latency [1m]))`, 60))
	want := "pipeline error: 'SampleExtractionErr' for series: '{__error__=\"SampleExtractionErr\", __error_details__=\"strconv.ParseFloat: parsing \\\"bad\\\": invalid syntax\", app=\"b\", latency=\"bad\"}'.\n" +
		"Use a label filter to intentionally skip this error. (e.g | __error__!=\"SampleExtractionErr\").\n" +
		"To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n" +
		"The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n"
	if !errors.Is(err, ErrBadRequest) || err.Error() != want {
		t.Fatalf("err = %q\nwant  %q", err, want)
	}
}

// An entry that carries __error__ (as a failed parser leaves it) fails a
// metric query unless the query keeps no label and reads none: Loki then
// skips the parsers altogether (its parser hints), so their errors never
// appear. That is why sum(count_over_time({…} | json [r])) succeeds where
// count_over_time({…} | json [r]) and sum by (x) (…) fail.
func TestErrorSamples(t *testing.T) {
	streams := []memStream{
		withMetadata(stream(`{app="a"}`, "10 x"), "__error__", "JSONParserErr"),
		stream(`{app="a", ok="1"}`, "10 y"),
	}
	tests := []struct {
		q      string
		want   string // "" expects an error
		errSub string
	}{
		{q: `sum(count_over_time({app="a"}[1m]))`, want: "{} 60=2\n"},
		{q: `sum(rate({app="a"}[1m]))`, want: "{} 60=0.03333333333\n"},
		{q: `absent_over_time({app="a"}[1m])`, want: ""},
		{q: `count_over_time({app="a"}[1m])`, errSub: "pipeline error: 'JSONParserErr' for series: '{__error__=\"JSONParserErr\", app=\"a\"}'"},
		{q: `sum by (app) (count_over_time({app="a"}[1m]))`, errSub: "pipeline error: 'JSONParserErr'"},
		{q: `max(count_over_time({app="a"}[1m]))`, errSub: "pipeline error: 'JSONParserErr'"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			res, err := runBoth(t, streams, instantParams(tt.q, 60))
			if tt.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSub) || !errors.Is(err, ErrBadRequest) {
					t.Fatalf("err = %v, want one containing %q", err, tt.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := formatResult(res); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// The same rule with a real parser: the second line is not JSON.
func TestJSONErrorSamples(t *testing.T) {
	streams := []memStream{stream(`{app="j"}`, `10 {"level":"info","ms":"12"}`, `20 not json`)}
	tests := []struct {
		q, want, errSub string
	}{
		{q: `sum(count_over_time({app="j"} | json [1m]))`, want: "{} 60=2\n"},
		{q: `sum by (level) (count_over_time({app="j"} | json | __error__="" [1m]))`, want: `{level="info"} 60=1` + "\n"},
		{q: `count_over_time({app="j"} | json | __error__="" [1m])`, want: `{app="j", level="info", ms="12"} 60=1` + "\n"},
		{q: `count_over_time({app="j"} | json | drop __error__, __error_details__ [1m])`, want: `{app="j"} 60=1` + "\n" + `{app="j", level="info", ms="12"} 60=1` + "\n"},
		// The filter reads level, so the parser runs, but drops the bad line.
		{q: `sum(count_over_time({app="j"} | json | level="info" [1m]))`, want: "{} 60=1\n"},
		{q: `sum(count_over_time({app="j"} | json | level!="debug" [1m]))`, errSub: "pipeline error: 'JSONParserErr'"},
		{q: `count_over_time({app="j"} | json [1m])`, errSub: "pipeline error: 'JSONParserErr' for series: '{__error__=\"JSONParserErr\", __error_details__="},
		{q: `sum by (level) (count_over_time({app="j"} | json [1m]))`, errSub: "pipeline error: 'JSONParserErr'"},
		// The bad line has no ms: it yields no sample, so no error either.
		{q: `sum(sum_over_time({app="j"} | json | unwrap ms [1m]))`, want: "{} 60=12\n"},
		{q: `sum(sum_over_time({app="j"} | json | __error__="" | unwrap ms [1m]))`, want: "{} 60=12\n"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			res, err := runBoth(t, streams, instantParams(tt.q, 60))
			if tt.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSub) || !errors.Is(err, ErrBadRequest) {
					t.Fatalf("err = %v, want one containing %q", err, tt.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := formatResult(res); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestCancelledQuery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newTestEngine(&memQuerier{streams: twoStreams()}, 500).Query(ctx, "t", rangeParams(`count_over_time({env="prod"}[10s])`, 10, 50, 10))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// Matrices come sorted by the text of their labels, as in Loki's answer
// query_range-matrix.json: the series without level is last.
func TestMatrixOrder(t *testing.T) {
	streams := []memStream{
		stream(`{job="smoke", level="info"}`, "1 a", "2 b", "3 c"),
		stream(`{job="smoke", level="error"}`, "1 a", "2 b"),
		stream(`{job="smoke"}`, "1 a", "2 b"),
	}
	res, err := runBoth(t, streams, rangeParams(`sum by (level) (count_over_time({job="smoke"}[5m]))`, 60, 60, 60))
	if err != nil {
		t.Fatal(err)
	}
	want := "{level=\"error\"} 60=2\n{level=\"info\"} 60=3\n{} 60=2\n"
	if got := formatResult(res); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// A long window slides over many points: the window buffer is compacted
// as it goes, and every step still counts exactly the points of its window.
func TestSlidingWindow(t *testing.T) {
	var es []string
	for i := 1; i <= 1000; i++ {
		es = append(es, fmt.Sprintf("%d x", i))
	}
	res, err := runBoth(t, []memStream{stream(`{app="a"}`, es...)}, rangeParams(`count_over_time({app="a"}[100s])`, 100, 1000, 10))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matrix) != 1 || len(res.Matrix[0].Points) != 91 {
		t.Fatalf("got\n%s", formatResult(res))
	}
	for _, p := range res.Matrix[0].Points {
		if p.V != 100 {
			t.Fatalf("%d: %g entries in the window, want 100", p.T, p.V)
		}
	}
}

// A range that ends at the last instant int64 nanoseconds can hold (the API
// clamps a later end there) has its steps rounded without overflow: the
// clock stops at the end instead of wrapping around and walking billions
// of steps.
func TestStepsAtTheEdgesOfTime(t *testing.T) {
	const step = int64(7 * time.Second)
	hour := int64(time.Hour)
	tests := []struct {
		name       string
		start, end int64
	}{
		{"end at the max", math.MaxInt64 - hour, math.MaxInt64},
		{"end a step before the max", math.MaxInt64 - hour, math.MaxInt64 - step},
		{"start at the min", math.MinInt64, math.MinInt64 + hour},
		{"start a step after the min", math.MinInt64 + 1, math.MinInt64 + hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newSteps(Params{Start: tt.start, End: tt.end, Step: step})
			if st.start > tt.start && st.start-tt.start >= step || st.start < tt.start && tt.start-st.start >= step {
				t.Errorf("start %d rounded to %d: more than a step away", tt.start, st.start)
			}
			if st.end > tt.end && st.end-tt.end >= step || st.end < tt.end && tt.end-st.end >= step {
				t.Errorf("end %d rounded to %d: more than a step away", tt.end, st.end)
			}
			// Walk at most the steps the range can hold, plus a few.
			want := uint64(tt.end-tt.start)/uint64(step) + 2
			c := st.clock()
			var n uint64
			last := int64(math.MinInt64)
			for t0, ok := c.next(); ok; t0, ok = c.next() {
				if n > 0 && t0 <= last {
					t.Fatalf("step %d at %d after %d: the clock wrapped", n, t0, last)
				}
				if t0 < st.start || t0 > st.end {
					t.Fatalf("step %d at %d outside [%d, %d]", n, t0, st.start, st.end)
				}
				last = t0
				if n++; n > want || n > 1e6 {
					t.Fatalf("more than %d steps", min(want, 1e6))
				}
			}
			if tt.end-tt.start == hour && n < uint64(hour/step)-1 {
				t.Fatalf("%d steps, want about %d", n, hour/step)
			}
		})
	}
}
