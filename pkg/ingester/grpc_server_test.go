package ingester

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/grpc"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/ingester/client"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/logql/syntax"
	"github.com/skald-logs/skald/pkg/storage"
	"github.com/skald-logs/skald/pkg/validation"
)

type discardWriter struct{}

func (discardWriter) PutChunks(context.Context, string, []storage.Chunk) error { return nil }

func testIngester(t testing.TB, maxStreams int) *Ingester {
	t.Helper()
	var cfg Config
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if fs.Lookup("ingester.wal-enabled") != nil {
		_ = fs.Set("ingester.wal-enabled", "false") // these tests are about gRPC
	}
	cfg.ID = "test"
	var lim validation.Limits
	lim.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	lim.MaxGlobalStreamsPerUser = maxStreams
	ing, err := New(cfg, validation.NewOverrides(lim, nil), discardWriter{}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	return ing
}

// serve runs ing behind a real gRPC server on a loopback port and returns a
// client of it.
func serve(t testing.TB, ing *Ingester) (*GRPCServer, *client.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(client.ServerCodec())
	g := NewGRPCServer(ing, slog.New(slog.DiscardHandler))
	g.Register(s)
	go func() { _ = s.Serve(ln) }()
	pool, err := client.NewPool(client.DefaultConfig(), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pool.Close()
		s.Stop()
	})
	c, err := pool.Get(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return g, c
}

func pushStream(lbls string, entries ...logproto.Entry) logproto.Stream {
	l, err := logproto.ParseLabels(lbls)
	if err != nil {
		panic(err)
	}
	return logproto.Stream{Labels: logproto.LabelsString(l), Hash: index.Fingerprint(l), Entries: entries}
}

func selectParams(t *testing.T, q string, start, end int64, dir logproto.Direction) logql.SelectLogParams {
	t.Helper()
	ex, err := syntax.ParseLogSelector(q, true)
	if err != nil {
		t.Fatal(err)
	}
	p, err := log.NewPipeline(ex, index.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return logql.SelectLogParams{Start: start, End: end, Direction: dir, Limit: 1000, Query: ex.String(), Matchers: ex.Matchers(), Pipeline: p}
}

func drain(t *testing.T, it iter.EntryIterator) []iter.StreamEntry {
	t.Helper()
	var out []iter.StreamEntry
	for it.Next() {
		out = append(out, iter.StreamEntry{Entry: it.At(), Labels: it.Labels(), Hash: it.StreamHash()})
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGRPCRoundTrip(t *testing.T) {
	ing := testIngester(t, 0)
	_, c := serve(t, ing)
	ctx := context.Background()

	// Enough entries for several batches, with metadata on some, in two
	// streams and two tenants.
	var web, db []logproto.Entry
	for i := range 700 {
		e := logproto.Entry{Timestamp: int64(1000 + i), Line: fmt.Sprintf(`level=info msg="req %d" status=%d`, i, 200+i%3)}
		if i%7 == 0 {
			e.StructuredMetadata = []logproto.LabelAdapter{{Name: "trace_id", Value: fmt.Sprint(i)}}
		}
		web = append(web, e)
		if i%2 == 0 {
			db = append(db, logproto.Entry{Timestamp: int64(1000 + i), Line: "query " + strings.Repeat("x", i%50)})
		}
	}
	req := &logproto.PushRequest{Streams: []logproto.Stream{pushStream(`{app="web", env="prod"}`, web...), pushStream(`{app="db"}`, db...)}}
	if err := c.Push(ctx, "t1", req); err != nil {
		t.Fatal(err)
	}
	if err := c.Push(ctx, "t2", &logproto.PushRequest{Streams: []logproto.Stream{pushStream(`{app="other"}`, logproto.Entry{Timestamp: 5, Line: "x"})}}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		query      string
		start, end int64
		dir        logproto.Direction
		want       int
	}{
		{`{app=~".+"}`, 0, 1 << 40, logproto.Forward, 1050},
		{`{app=~".+"}`, 0, 1 << 40, logproto.Backward, 1050},
		{`{app="web"} |= "status=201"`, 1100, 1400, logproto.Forward, 100},
		{`{app="web"} | logfmt | status="202"`, 0, 1 << 40, logproto.Backward, 233},
		{`{app="web"} | logfmt | line_format "{{.msg}}"`, 1000, 1010, logproto.Forward, 10},
		{`{app="nope"}`, 0, 1 << 40, logproto.Forward, 0},
	} {
		t.Run(tc.query+tc.dir.String(), func(t *testing.T) {
			p := selectParams(t, tc.query, tc.start, tc.end, tc.dir)
			local, err := ing.SelectLogs(ctx, "t1", p)
			if err != nil {
				t.Fatal(err)
			}
			want := drain(t, local)
			p = selectParams(t, tc.query, tc.start, tc.end, tc.dir) // fresh pipeline
			p.Pipeline, p.Matchers = nil, nil                       // the remote side must not need them
			remote, err := c.SelectLogs(ctx, "t1", p)
			if err != nil {
				t.Fatal(err)
			}
			got := drain(t, remote)
			if len(want) != tc.want {
				t.Fatalf("local query returned %d entries, want %d", len(want), tc.want)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d entries over gRPC, want %d", len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.Timestamp != w.Timestamp || g.Line != w.Line || g.Hash != w.Hash || !labels.Equal(g.Labels, w.Labels) ||
					!slices.Equal(g.StructuredMetadata, w.StructuredMetadata) || !slices.Equal(g.Parsed, w.Parsed) {
					t.Fatalf("entry %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}

	names, err := c.LabelNames(ctx, "t1", 0, 1<<40, nil)
	if err != nil || !slices.Equal(names, []string{"app", "env"}) {
		t.Errorf("label names %v %v", names, err)
	}
	vals, err := c.LabelValues(ctx, "t1", "app", 0, 1<<40, []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "app", "w.*")})
	if err != nil || !slices.Equal(vals, []string{"web"}) {
		t.Errorf("label values %v %v", vals, err)
	}
	series, err := c.Series(ctx, "t1", 0, 1<<40, [][]*labels.Matcher{
		{labels.MustNewMatcher(labels.MatchEqual, "app", "db")},
		{labels.MustNewMatcher(labels.MatchNotEqual, "env", "")},
	})
	if err != nil || len(series) != 2 || series[0].String() != `{app="db"}` || series[1].String() != `{app="web", env="prod"}` {
		t.Errorf("series %v %v", series, err)
	}
	other, err := c.Series(ctx, "t2", 0, 1<<40, nil)
	if err != nil || len(other) != 1 {
		t.Errorf("tenant t2 series %v %v", other, err)
	}
}

func TestGRPCEarlyClose(t *testing.T) {
	ing := testIngester(t, 0)
	_, c := serve(t, ing)
	ctx := context.Background()
	var es []logproto.Entry
	for i := range 5000 {
		es = append(es, logproto.Entry{Timestamp: int64(i + 1), Line: strings.Repeat("y", 200)})
	}
	if err := c.Push(ctx, "t", &logproto.PushRequest{Streams: []logproto.Stream{pushStream(`{a="b"}`, es...)}}); err != nil {
		t.Fatal(err)
	}
	it, err := c.SelectLogs(ctx, "t", logql.SelectLogParams{Start: 0, End: 1 << 40, Direction: logproto.Forward, Query: `{a="b"}`})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if !it.Next() {
			t.Fatal(it.Err())
		}
	}
	if it.At().Timestamp != 10 {
		t.Fatalf("tenth entry at %d", it.At().Timestamp)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if it.Next() {
		t.Fatal("Next after Close")
	}
}

func TestGRPCErrors(t *testing.T) {
	ing := testIngester(t, 1)
	g, c := serve(t, ing)
	ctx := context.Background()
	push := func(tenant, lbls string, ts int64) error {
		return c.Push(ctx, tenant, &logproto.PushRequest{Streams: []logproto.Stream{pushStream(lbls, logproto.Entry{Timestamp: ts, Line: "l"})}})
	}
	hour := int64(time.Hour)
	if err := push("t", `{a="1"}`, 10*hour); err != nil {
		t.Fatal(err)
	}
	err := push("t", `{a="2"}`, 10*hour)
	if !errors.Is(err, validation.ErrRateLimited) || !strings.Contains(err.Error(), "Maximum active stream limit exceeded") {
		t.Errorf("stream limit: %v", err)
	}
	err = push("t", `{a="1"}`, 1)
	if !errors.Is(err, validation.ErrInvalid) || !strings.Contains(err.Error(), "entry too far behind") {
		t.Errorf("too far behind: %v", err)
	}
	_, err = c.SelectLogs(ctx, "t", logql.SelectLogParams{Query: `{a="1"`, End: 1})
	if err == nil {
		it, _ := c.SelectLogs(ctx, "t", logql.SelectLogParams{Query: `{a="1"`, End: 1})
		it.Next()
		err = it.Err()
	}
	if !errors.Is(err, validation.ErrInvalid) || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("bad selector: %v", err)
	}
	g.RefusePushes()
	err = push("t", `{a="1"}`, 10*hour)
	if err == nil || client.IsClientError(err) || !strings.Contains(err.Error(), "Unavailable") {
		t.Errorf("push while leaving: %v", err)
	}
}

func TestGRPCSamples(t *testing.T) {
	ing := testIngester(t, 0)
	_, c := serve(t, ing)
	ctx := context.Background()
	var es []logproto.Entry
	for i := range 3000 {
		es = append(es, logproto.Entry{Timestamp: int64(i) * int64(time.Millisecond), Line: fmt.Sprintf("status=%d bytes=%d", 200+i%2, i)})
	}
	if err := c.Push(ctx, "t", &logproto.PushRequest{Streams: []logproto.Stream{pushStream(`{app="web"}`, es...), pushStream(`{app="db"}`, es[:10]...)}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`count_over_time({app=~".+"}[1m])`,
		`sum by (status) (count_over_time({app="web"} | logfmt [1m]))`,
		`sum_over_time({app="web"} | logfmt | unwrap bytes [1m])`,
	} {
		t.Run(q, func(t *testing.T) {
			params := func() logql.SelectSampleParams {
				expr, err := syntax.ParseSampleExpr(q)
				if err != nil {
					t.Fatal(err)
				}
				x, err := log.NewSampleExtractor(expr, index.Fingerprint)
				if err != nil {
					t.Fatal(err)
				}
				var ms []*labels.Matcher
				switch e := expr.(type) {
				case *syntax.RangeAggregationExpr:
					ms = e.Selector().Matchers()
				case *syntax.VectorAggregationExpr:
					r, _ := log.PushesGrouping(e)
					ms = r.Selector().Matchers()
				}
				return logql.SelectSampleParams{Start: 0, End: 1 << 40, Query: expr.String(), Matchers: ms, Extractor: x, Stats: &log.Counters{}}
			}
			type sample struct {
				s    iter.Sample
				lbls string
				h    uint64
			}
			collect := func(it iter.SampleIterator, err error) []sample {
				if err != nil {
					t.Fatal(err)
				}
				defer it.Close()
				var out []sample
				for it.Next() {
					out = append(out, sample{it.At(), it.Labels().String(), it.StreamHash()})
				}
				if err := it.Err(); err != nil {
					t.Fatal(err)
				}
				return out
			}
			lp, rp := params(), params()
			want := collect(ing.SelectSamples(ctx, "t", lp))
			got := collect(c.SelectSamples(ctx, "t", rp))
			if len(want) < 3000 || !slices.Equal(got, want) {
				t.Fatalf("got %d samples over gRPC, want the ingester's %d, identical", len(got), len(want))
			}
			if *rp.Stats != *lp.Stats {
				t.Errorf("stats over gRPC %+v, local %+v", *rp.Stats, *lp.Stats)
			}
		})
	}
}
