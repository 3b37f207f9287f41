package storage

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/logql/syntax"
	"github.com/skald-logs/skald/pkg/objstore/memory"
)

// selectSamples runs the range aggregation query's extractor over [from,
// through) and returns "labels ts value" lines.
func selectSamples(t *testing.T, s *Store, query string, from, through int64, stats *log.Counters) []string {
	t.Helper()
	e, err := syntax.ParseExpr(query)
	if err != nil {
		t.Fatal(err)
	}
	ex := e.(syntax.SampleExpr)
	x, err := log.NewSampleExtractor(ex, index.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	var ms []*labels.Matcher
	syntax.Walk(e, func(n syntax.Expr) bool {
		if r, ok := n.(*syntax.RangeAggregationExpr); ok {
			ms = r.Selector().Matchers()
		}
		return ms == nil
	})
	it, err := s.SelectSamples(context.Background(), "t1", logql.SelectSampleParams{
		Start: from, End: through, Query: query, Matchers: ms, Extractor: x, Stats: stats,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, fmt.Sprintf("%s %d %g", it.Labels(), it.At().Timestamp, it.At().Value))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSelectSamples(t *testing.T) {
	b := memory.New()
	s := newStore(t, b, "ing-1")
	api := labels.FromStrings("app", "api")
	db := labels.FromStrings("app", "db")
	if err := s.PutChunks(context.Background(), "t1", []Chunk{
		makeChunk(t, api, seq(10, 5, 10), "a"), // 10..50
		makeChunk(t, api, seq(15, 5, 10), "b"), // 15..55, overlapping
		makeChunk(t, db, seq(12, 3, 20), "d"),  // 12, 32, 52
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query    string
		from, to int64
		want     []string
	}{
		{
			query: `count_over_time({app="api"}[1m])`, from: 20, to: 45,
			want: []string{`{app="api"} 20 1`, `{app="api"} 25 1`, `{app="api"} 30 1`, `{app="api"} 35 1`, `{app="api"} 40 1`},
		},
		{
			query: `bytes_over_time({app=~"api|db"} |= "5" [1m])`, from: 0, to: 100,
			want: []string{`{app="api"} 15 4`, `{app="api"} 25 4`, `{app="api"} 35 4`, `{app="api"} 45 4`, `{app="api"} 50 4`, `{app="db"} 52 4`, `{app="api"} 55 4`},
		},
		{
			query: `sum(count_over_time({app=~".+"}[1m]))`, from: 30, to: 36,
			want: []string{`{} 30 1`, `{} 32 1`, `{} 35 1`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := selectSamples(t, s, tt.query, tt.from, tt.to, nil)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
	var c log.Counters
	selectSamples(t, s, `count_over_time({app="api"} |= "a" [1m])`, 0, 100, &c)
	if c.Lines != 10 || c.PostFilter != 5 || c.Bytes != 10*4 {
		t.Fatalf("counters %+v", c)
	}
}

func TestSelectSamplesReadsDuplicateChunkOnce(t *testing.T) {
	b := memory.New()
	s := newStore(t, b, "ing-1")
	api := labels.FromStrings("app", "api")
	c := makeChunk(t, api, seq(100, 3, 1), "y")
	for range 2 {
		if err := s.PutChunks(context.Background(), "t1", []Chunk{c}); err != nil {
			t.Fatal(err)
		}
	}
	if got := selectSamples(t, newStore(t, b, "q"), `count_over_time({app="api"}[1m])`, 0, 1000, nil); len(got) != 3 {
		t.Fatalf("got %v, want 3 samples", got)
	}
}

// TestSelectSamplesLazyOpening checks that chunks are opened in time order
// as samples are consumed, not all at once.
func TestSelectSamplesLazyOpening(t *testing.T) {
	b := memory.New()
	s := newStore(t, b, "ing")
	lbls := labels.FromStrings("app", "api")
	var cs []Chunk
	for i := int64(0); i < 20; i++ {
		cs = append(cs, makeChunk(t, lbls, seq(i*1000, 10, 10), "l"))
	}
	if err := s.PutChunks(context.Background(), "t", cs); err != nil {
		t.Fatal(err)
	}
	reader := newStore(t, b, "reader")
	reader.cfg.PrefetchChunks = 0
	x, err := log.NewSampleExtractor(mustRange(t, `count_over_time({app="api"}[1m])`), index.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	it, err := reader.SelectSamples(context.Background(), "t", logql.SelectSampleParams{
		Start: 0, End: 1 << 40, Extractor: x,
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "app", "api")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 15 && it.Next(); i++ {
	}
	_ = it.Close()
	if n := testutil.ToFloat64(reader.m.chunksFetched); n > 2 {
		t.Errorf("fetched %v chunks for the 15 oldest samples, want at most 2", n)
	}
}

func mustRange(t *testing.T, q string) syntax.SampleExpr {
	t.Helper()
	e, err := syntax.ParseExpr(q)
	if err != nil {
		t.Fatal(err)
	}
	return e.(syntax.SampleExpr)
}
