package ingester

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// TestSelectSamplesMatchesSelectLogs checks that the samples extracted in
// place from the chunks are those of the entries SelectLogs returns: one
// per entry the pipeline keeps, oldest first, with the value the
// aggregation reads.
func TestSelectSamplesMatchesSelectLogs(t *testing.T) {
	ing := testIngester(t, 0)
	ctx := context.Background()
	var web, db []logproto.Entry
	for i := range 300 {
		web = append(web, logproto.Entry{Timestamp: int64(1000 + 2*i), Line: fmt.Sprintf(`level=info status=%d took=%dms`, 200+i%3, i)})
		if i%3 == 0 {
			db = append(db, logproto.Entry{Timestamp: int64(1001 + 2*i), Line: fmt.Sprintf("query %d", i)})
		}
	}
	req := &logproto.PushRequest{Streams: []logproto.Stream{pushStream(`{app="web"}`, web...), pushStream(`{app="db"}`, db...)}}
	if err := ing.Push(ctx, "t", req); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		metric, selector string
		value            func(logproto.Entry) float64
	}{
		{`count_over_time({app=~"web|db"}[1m])`, `{app=~"web|db"}`, func(logproto.Entry) float64 { return 1 }},
		{`bytes_over_time({app=~"web|db"} |= "1" [1m])`, `{app=~"web|db"} |= "1"`, func(e logproto.Entry) float64 { return float64(len(e.Line)) }},
		{`sum_over_time({app="web"} | logfmt | status=201 | unwrap duration(took) [1m])`, `{app="web"} | logfmt | status=201`, func(e logproto.Entry) float64 {
			for _, l := range e.Parsed {
				if l.Name == "took" {
					v, _ := strconv.ParseFloat(l.Value[:len(l.Value)-2], 64)
					return v / 1000
				}
			}
			return -1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			const start, end = 1100, 1500
			var want []string
			for _, e := range drain(t, mustSelect(t, ing, selectParams(t, tt.selector, start, end, logproto.Forward))) {
				want = append(want, fmt.Sprintf("%d %s %g", e.Timestamp, e.Labels.Get("app"), tt.value(e.Entry)))
			}
			ex, err := syntax.ParseExpr(tt.metric)
			if err != nil {
				t.Fatal(err)
			}
			r := ex.(*syntax.RangeAggregationExpr)
			x, err := log.NewSampleExtractor(r, index.Fingerprint)
			if err != nil {
				t.Fatal(err)
			}
			var c log.Counters
			it, err := ing.SelectSamples(ctx, "t", logql.SelectSampleParams{Start: start, End: end, Matchers: r.Selector().Matchers(), Extractor: x, Stats: &c})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for it.Next() {
				got = append(got, fmt.Sprintf("%d %s %g", it.At().Timestamp, it.Labels().Get("app"), it.At().Value))
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			_ = it.Close()
			if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("samples\n%v\nentries\n%v", got, want)
			}
			if c.PostFilter != int64(len(got)) || c.Lines < c.PostFilter {
				t.Fatalf("counters %+v for %d samples", c, len(got))
			}
		})
	}
	// Unknown tenant.
	it, err := ing.SelectSamples(ctx, "nobody", logql.SelectSampleParams{Start: 0, End: 1 << 40})
	if err != nil || it.Next() {
		t.Fatalf("unknown tenant: %v", err)
	}
}

func mustSelect(t *testing.T, ing *Ingester, p logql.SelectLogParams) iter.EntryIterator {
	t.Helper()
	it, err := ing.SelectLogs(context.Background(), "t", p)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// Pushes go on while a sample iterator is consumed; the iterator sees the
// snapshot it was made from (run with -race).
func TestSelectSamplesWhilePushing(t *testing.T) {
	ing := testIngester(t, 0)
	ctx := context.Background()
	push := func(from int) {
		var es []logproto.Entry
		for i := range 100 {
			es = append(es, logproto.Entry{Timestamp: int64(from + i), Line: fmt.Sprintf("line %d", from+i)})
		}
		if err := ing.Push(ctx, "t", &logproto.PushRequest{Streams: []logproto.Stream{pushStream(`{app="web"}`, es...)}}); err != nil {
			t.Error(err)
		}
	}
	push(1000)
	e, err := syntax.ParseExpr(`count_over_time({app="web"}[1m])`)
	if err != nil {
		t.Fatal(err)
	}
	r := e.(*syntax.RangeAggregationExpr)
	x, err := log.NewSampleExtractor(r, index.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	it, err := ing.SelectSamples(ctx, "t", logql.SelectSampleParams{Start: 0, End: 1 << 40, Matchers: r.Selector().Matchers(), Extractor: x})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 20; i++ {
			push(1000 + 100*i)
		}
	}()
	n := 0
	for it.Next() {
		n++
	}
	<-done
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	_ = it.Close()
	if n != 100 {
		t.Fatalf("read %d samples, want the 100 of the snapshot", n)
	}
}
