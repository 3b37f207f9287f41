package log

import (
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

func sxCompile(t testing.TB, query string) SampleExtractor {
	t.Helper()
	e, err := syntax.ParseExpr(query)
	if err != nil {
		t.Fatal(err)
	}
	x, err := NewSampleExtractor(e.(syntax.SampleExpr), index.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// sxRun extracts one sample and prints it as "labels value", or "-" when
// the entry yields none.
func sxRun(t testing.TB, query, stream, line string, meta ...string) string {
	t.Helper()
	var sm []logproto.LabelAdapter
	for i := 0; i+1 < len(meta); i += 2 {
		sm = append(sm, logproto.LabelAdapter{Name: meta[i], Value: meta[i+1]})
	}
	lbls, err := logproto.ParseLabels(stream)
	if err != nil {
		t.Fatal(err)
	}
	v, s, ok := sxCompile(t, query).ForStream(lbls).Process(1, []byte(line), sm)
	if !ok {
		return "-"
	}
	if s.Hash != HashLabels(s.Labels) {
		t.Fatalf("series hash %x is not the hash of %s", s.Hash, s.Labels)
	}
	return fmt.Sprintf("%s %g", s.Labels, v)
}

func TestSampleExtraction(t *testing.T) {
	tests := []struct {
		name, query, stream, line string
		meta                      []string
		want                      string
	}{
		{"count keeps all labels", `count_over_time({app="a"} | logfmt [1m])`, `{app="a"}`, `level=info msg=hi`, []string{"trace", "t1"},
			`{app="a", level="info", msg="hi", trace="t1"} 1`},
		{"a label with an empty value is no label", `count_over_time({app="a"} | logfmt [1m])`, `{app="a"}`, `level= msg=hi`, nil,
			`{app="a", msg="hi"} 1`},
		{"bytes of the line after line_format", `bytes_over_time({app="a"} | line_format "xy" [1m])`, `{app="a"}`, `long line`, nil,
			`{app="a"} 2`},
		{"filtered out", `count_over_time({app="a"} |= "x" [1m])`, `{app="a"}`, `abc`, nil, "-"},
		{"sum pushes by ()", `sum(count_over_time({app="a"} | logfmt [1m]))`, `{app="a"}`, `level=info`, nil, `{} 1`},
		{"sum pushes by", `sum by (level, nope) (rate({app="a"} | logfmt [1m]))`, `{app="a", env="x"}`, `level=info`, nil, `{level="info"} 1`},
		{"sum pushes without", `sum without (app) (bytes_rate({app="a"} | logfmt [1m]))`, `{app="a", env="x"}`, `level=info`, nil, `{env="x", level="info"} 10`},
		{"absent keeps no label", `absent_over_time({app="a"} | logfmt [1m])`, `{app="a"}`, `level=info`, nil, `{} 1`},
		{"unwrap leaves out the unwrapped label", `sum_over_time({app="a"} | logfmt | unwrap took [1m])`, `{app="a"}`, `took=1.5 level=info`, nil,
			`{app="a", level="info"} 1.5`},
		{"unwrap without leaves it out too", `max_over_time({app="a"} | logfmt | unwrap took [1m]) without (level)`, `{app="a"}`, `took=2 level=info`, nil,
			`{app="a"} 2`},
		{"unwrap by keeps only the groups", `max_over_time({app="a"} | logfmt | unwrap took [1m]) by (took, level)`, `{app="a"}`, `took=2 level=info`, nil,
			`{level="info", took="2"} 2`},
		{"unwrap a stream label", `sum_over_time({app="a"} | unwrap n [1m])`, `{app="a", n="7"}`, `x`, nil, `{app="a"} 7`},
		{"unwrap metadata", `sum_over_time({app="a"} | unwrap n [1m])`, `{app="a"}`, `x`, []string{"n", "-3e2"}, `{app="a"} -300`},
		{"no such label: no sample", `sum_over_time({app="a"} | logfmt | unwrap took [1m])`, `{app="a"}`, `level=info`, nil, "-"},
		{"empty label: no sample", `sum_over_time({app="a"} | logfmt | unwrap took [1m])`, `{app="a"}`, `took=`, nil, "-"},
		{"bytes", `sum_over_time({app="a"} | logfmt | unwrap bytes(size) [1m])`, `{app="a"}`, `size=1.5KiB`, nil, `{app="a"} 1536`},
		{"bytes SI", `sum_over_time({app="a"} | logfmt | unwrap bytes(size) [1m])`, `{app="a"}`, `size="2 MB"`, nil, `{app="a"} 2e+06`},
		{"duration", `sum_over_time({app="a"} | logfmt | unwrap duration(d) [1m])`, `{app="a"}`, `d=1m30s`, nil, `{app="a"} 90`},
		{"duration_seconds", `sum_over_time({app="a"} | logfmt | unwrap duration_seconds(d) [1m])`, `{app="a"}`, `d=250ms`, nil, `{app="a"} 0.25`},
		{"conversion error keeps all labels", `sum by (app) (sum_over_time({app="a"} | logfmt | unwrap d [1m]))`, `{app="a"}`, `d=fast`, nil,
			`{__error__="SampleExtractionErr", __error_details__="strconv.ParseFloat: parsing \"fast\": invalid syntax", app="a", d="fast"} 0`},
		{"duration error", `sum_over_time({app="a"} | logfmt | unwrap duration(d) [1m])`, `{app="a"}`, `d=12`, nil,
			`{__error__="SampleExtractionErr", __error_details__="time: missing unit in duration \"12\"", app="a", d="12"} 0`},
		{"bytes error", `sum_over_time({app="a"} | logfmt | unwrap bytes(d) [1m])`, `{app="a"}`, `d=12XB`, nil,
			`{__error__="SampleExtractionErr", __error_details__="unhandled size name: xb", app="a", d="12XB"} 0`},
		{"error filtered after unwrap", `sum_over_time({app="a"} | logfmt | unwrap d | __error__="" [1m])`, `{app="a"}`, `d=fast`, nil, "-"},
		{"details filtered after unwrap", `sum_over_time({app="a"} | logfmt | unwrap d | __error_details__=~".*fast.*" [1m])`, `{app="a"}`, `d=fast`, nil,
			`{__error__="SampleExtractionErr", __error_details__="strconv.ParseFloat: parsing \"fast\": invalid syntax", app="a", d="fast"} 0`},
		{"numeric filter after unwrap", `sum_over_time({app="a"} | logfmt | unwrap d | d > 1 [1m])`, `{app="a"}`, `d=0.5`, nil, "-"},
		{"numeric filter on a missing label", `sum_over_time({app="a"} | logfmt | unwrap d | x > 1 [1m])`, `{app="a"}`, `d=2`, nil, "-"},
		{"numeric filter that cannot convert", `sum_over_time({app="a"} | logfmt | unwrap d | x > 1 [1m])`, `{app="a"}`, `d=2 x=y`, nil,
			`{__error__="LabelFilterErr", __error_details__="strconv.ParseFloat: parsing \"y\": invalid syntax", app="a", d="2", x="y"} 2`},
		{"typed filter keeps the first error", `sum_over_time({app="a"} | logfmt | unwrap d | x > 1 [1m])`, `{app="a"}`, `d=q x=y`, nil,
			`{__error__="SampleExtractionErr", __error_details__="strconv.ParseFloat: parsing \"q\": invalid syntax", app="a", d="q", x="y"} 0`},
		{"duration and bytes filters", `sum_over_time({app="a"} | logfmt | unwrap d | t >= 1s and s < 1KB [1m])`, `{app="a"}`, `d=1 t=2s s=999`, nil,
			`{app="a", s="999", t="2s"} 1`},
		{"or filter", `sum_over_time({app="a"} | logfmt | unwrap d | d < 0 or d > 5 [1m])`, `{app="a"}`, `d=6`, nil, `{app="a"} 6`},
		{"ip filter", `sum_over_time({app="a"} | logfmt | unwrap d | ip = ip("10.0.0.0/8") [1m])`, `{app="a"}`, `d=1 ip=10.1.2.3`, nil,
			`{app="a", ip="10.1.2.3"} 1`},
		{"ip filter misses", `sum_over_time({app="a"} | logfmt | unwrap d | ip != ip("10.0.0.0/8") [1m])`, `{app="a"}`, `d=1 ip=10.1.2.3`, nil, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sxRun(t, tt.query, tt.stream, tt.line, tt.meta...); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// Parser errors reach the series (so that the engine fails the query)
// unless the series keep no label and no stage reads one: Loki then never
// runs the parsers.
func TestSampleParserErrors(t *testing.T) {
	tests := []struct{ query, want string }{
		{`sum(count_over_time({app="a"} | json [1m]))`, `{} 1`},
		{`absent_over_time({app="a"} | json [1m])`, `{} 1`},
		{`sum(bytes_rate({app="a"} | json | line_format "x" [1m]))`, `{__error__="JSONParserErr", __error_details__="…", app="a"} 1`},
		{`sum(count_over_time({app="a"} | json | x!="y" [1m]))`, `{__error__="JSONParserErr", __error_details__="…", app="a"} 1`},
		{`count_over_time({app="a"} | json [1m])`, `{__error__="JSONParserErr", __error_details__="…", app="a"} 1`},
		{`sum by (app) (count_over_time({app="a"} | json [1m]))`, `{__error__="JSONParserErr", __error_details__="…", app="a"} 1`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := sxRun(t, tt.query, `{app="a"}`, `{"unclosed`)
			// The parser's own wording of the details does not matter here.
			got = regexp.MustCompile(`__error_details__="[^"]*"`).ReplaceAllString(got, `__error_details__="…"`)
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestPushesGrouping(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{`sum(count_over_time({a="b"}[1m]))`, true},
		{`sum by (x) (rate({a="b"}[1m]))`, true},
		{`sum without (x) (bytes_over_time({a="b"}[1m]))`, true},
		{`sum(bytes_rate({a="b"}[1m]))`, true},
		{`sum(sum_over_time({a="b"} | unwrap x [1m]))`, true},
		{`sum(max_over_time({a="b"} | unwrap x [1m]))`, false},
		{`sum(max_over_time({a="b"} | unwrap x [1m]) by (y))`, false},
		{`avg(count_over_time({a="b"}[1m]))`, false},
		{`sum(sum(count_over_time({a="b"}[1m])))`, false},
	}
	for _, tt := range tests {
		e, err := syntax.ParseExpr(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		_, got := PushesGrouping(e.(*syntax.VectorAggregationExpr))
		if got != tt.want {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
		_, err = NewSampleExtractor(e.(syntax.SampleExpr), index.Fingerprint)
		if (err == nil) != tt.want || err != nil && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: extractor error %v", tt.query, err)
		}
	}
}

func TestSeriesAreSharedAndOwnTheirStrings(t *testing.T) {
	sx := sxCompile(t, `count_over_time({app="a"} | logfmt [1m])`).ForStream(labels.FromStrings("app", "a"))
	line := []byte("k=v1")
	_, s1, _ := sx.Process(1, line, nil)
	copy(line, "k=v2") // the extractor must have copied what it kept
	_, s2, _ := sx.Process(2, line, nil)
	copy(line, "k=v1")
	_, s3, _ := sx.Process(3, line, nil)
	if s1.Labels.String() != `{app="a", k="v1"}` || s2.Labels.String() != `{app="a", k="v2"}` {
		t.Fatalf("series %s, %s", s1.Labels, s2.Labels)
	}
	if s1 != s3 {
		t.Fatal("the same label set gave two series")
	}
}

// More series than the cache holds: it starts over and stays correct.
func TestSeriesCacheBound(t *testing.T) {
	sx := sxCompile(t, `count_over_time({app="a"} | logfmt [1m])`).ForStream(labels.FromStrings("app", "a"))
	for round := range 2 {
		for i := range maxCachedSeries + 100 {
			want := fmt.Sprintf(`{app="a", id="%d"}`, i)
			_, s, ok := sx.Process(int64(i), []byte(fmt.Sprintf("id=%d", i)), nil)
			if !ok || s.Labels.String() != want || s.Hash != HashLabels(s.Labels) {
				t.Fatalf("round %d entry %d: %v %v", round, i, ok, s)
			}
		}
	}
}

func TestHashes(t *testing.T) {
	l := labels.FromStrings("a", "1", "b", "2")
	if HashLabels(l) != index.Fingerprint(l) {
		t.Fatal("HashLabels is not the fingerprint scheme")
	}
	var d xxhash.Digest
	sm := []logproto.LabelAdapter{{Name: "x", Value: "1"}, {Name: "y", Value: "2"}}
	rev := []logproto.LabelAdapter{sm[1], sm[0]}
	base := EntryHash(&d, 7, []byte("line"), sm)
	if EntryHash(&d, 7, []byte("line"), rev) != base {
		t.Fatal("metadata order changes the entry hash")
	}
	for _, other := range []uint64{
		EntryHash(&d, 8, []byte("line"), sm),
		EntryHash(&d, 7, []byte("lina"), sm),
		EntryHash(&d, 7, []byte("line"), sm[:1]),
		EntryHash(&d, 7, []byte("line"), []logproto.LabelAdapter{{Name: "x", Value: "2"}, {Name: "y", Value: "1"}}),
	} {
		if other == base {
			t.Fatal("different entries share a hash")
		}
	}
}

type sxRaw struct {
	lines []string
	i     int
}

func (r *sxRaw) Next() bool { r.i++; return r.i < len(r.lines) }
func (r *sxRaw) At() (int64, []byte, []logproto.LabelAdapter) {
	return int64(r.i), []byte(r.lines[r.i]), nil
}
func (r *sxRaw) Err() error   { return nil }
func (r *sxRaw) Close() error { return nil }

func TestSampleIterator(t *testing.T) {
	x := sxCompile(t, `sum by (k) (count_over_time({app="a"} |= "k" | logfmt [1m]))`)
	var c Counters
	it := NewSampleIterator(&sxRaw{lines: []string{"k=1", "x", "k=2", "k=1"}, i: -1}, x.ForStream(labels.FromStrings("app", "a")), 9, &c)
	var got []string
	for it.Next() {
		got = append(got, fmt.Sprintf("%d %s %g", it.At().Timestamp, it.Labels(), it.At().Value))
		if it.StreamHash() != HashLabels(it.Labels()) {
			t.Fatal("stream hash is not the hash of the labels")
		}
	}
	if fmt.Sprint(got) != `[0 {k="1"} 1 2 {k="2"} 1 3 {k="1"} 1]` {
		t.Fatalf("samples %v", got)
	}
	if c != (Counters{Lines: 4, Bytes: 10, PostFilter: 3}) {
		t.Fatalf("counters %+v", c)
	}
}

func benchExtract(b *testing.B, query string, lines []string, meta []logproto.LabelAdapter) {
	sx := sxCompile(b, query).ForStream(labels.FromStrings("app", "web", "env", "prod"))
	bufs := make([][]byte, len(lines))
	var n int64
	for i, l := range lines {
		bufs[i] = []byte(l)
		n += int64(len(l))
	}
	b.ReportAllocs()
	b.SetBytes(n)
	for b.Loop() {
		for i, l := range bufs {
			if _, _, ok := sx.Process(int64(i), l, meta); !ok && meta == nil {
				_ = ok
			}
		}
	}
}

func BenchmarkSampleExtractor(b *testing.B) {
	methods := []string{"GET", "POST", "PUT"}
	var raw, lf []string
	for i := range 500 {
		m, st, size := methods[i%3], 200+i%5, 100+i*37%5000
		raw = append(raw, fmt.Sprintf(`10.0.%d.%d - - [17/May/2015:10:05:%02d +0000] "%s /path/%d HTTP/1.1" %d %d "-" "Mozilla/5.0 (X11; Linux x86_64)"`, i%256, i%7, i%60, m, i, st, size))
		lf = append(lf, fmt.Sprintf(`ts=2015-05-17T10:05:%02d level=info method=%s path="/path/%d" status=%d bytes=%d duration=%dms`, i%60, m, i, st, size, i%900))
	}
	meta := []logproto.LabelAdapter{{Name: "detected_level", Value: "info"}, {Name: "trace_id", Value: "abc"}}
	b.Run("count", func(b *testing.B) { benchExtract(b, `count_over_time({app="web"}[1m])`, raw, nil) })
	b.Run("count-metadata", func(b *testing.B) { benchExtract(b, `count_over_time({app="web"}[1m])`, raw, meta) })
	b.Run("sum-by-bytes", func(b *testing.B) { benchExtract(b, `sum by (env) (bytes_over_time({app="web"}[1m]))`, raw, meta) })
	b.Run("logfmt-unwrap-by", func(b *testing.B) {
		benchExtract(b, `quantile_over_time(0.9, {app="web"} | logfmt | unwrap bytes | __error__="" [1m]) by (method)`, lf, nil)
	})
}

// TestSampleExtractorShortcuts checks the paths that skip the pipeline or
// the gathering of labels (bareSeries, byStreamGroups, unwrapFast)
// against the general path, which a post-unwrap filter that keeps
// everything forces, over entries whose metadata the shortcuts must see
// through: grouped names, names repeating a stream label, names the
// pipeline rewrites, __error__.
func TestSampleExtractorShortcuts(t *testing.T) {
	queries := []string{
		`count_over_time({app="a"}[1m])`,
		`sum by (env) (count_over_time({app="a"}[1m]))`,
		`sum by (level) (bytes_over_time({app="a"} |= "n=" [1m]))`,
		`sum by (env, app_extracted) (rate({app="a"}[1m]))`,
		`sum by (key_x) (count_over_time({app="a"}[1m]))`,
		`sum(count_over_time({app="a"}[1m]))`,
		`sum by (env) (count_over_time({app="a"} | logfmt [1m]))`,
		`sum by (env) (count_over_time({app="a"} | json [1m]))`,
		`absent_over_time({app="a"} | logfmt [1m])`,
		`max_over_time({app="a"} | logfmt | unwrap n [1m]) by (env)`,
		`min_over_time({app="a"} | logfmt | unwrap n | __error__="" [1m]) by (env)`,
		`max_over_time({app="a"} | logfmt | unwrap n [1m]) by (level)`,
		`sum by () (sum_over_time({app="a"} | logfmt | unwrap n [1m]))`,
		`avg_over_time({app="a"} | logfmt | unwrap n [1m])`,
	}
	lines := []string{"n=1 level=info", "n=x level=warn", "no number", `{"n":2}`, "n= level="}
	metas := [][]logproto.LabelAdapter{
		nil,
		{{Name: "level", Value: "error"}},
		{{Name: "trace", Value: "t1"}, {Name: "level", Value: ""}},
		{{Name: "app", Value: "shadow"}},
		{{Name: "_x", Value: "1"}, {Name: "a-b", Value: "2"}},
		{{Name: "__error__", Value: "Oops"}},
		{{Name: "__error_details__", Value: "d"}, {Name: "env", Value: "meta"}},
	}
	streams := []labels.Labels{labels.FromStrings("app", "a", "env", "prod"), labels.FromStrings("app", "a")}
	for _, q := range queries {
		fast := sxCompile(t, q).(*sampleExtractor)
		general := *fast
		if general.post == nil {
			general.post = func(*sampleLabels) bool { return true }
		}
		general.postNoError = false
		for _, st := range streams {
			fs, gs := fast.ForStream(st), general.ForStream(st)
			for _, line := range lines {
				for _, sm := range metas {
					fv, fser, fok := fs.Process(1, []byte(line), sm)
					gv, gser, gok := gs.Process(1, []byte(line), sm)
					got, want := fmt.Sprint(fok), fmt.Sprint(gok)
					if fok {
						got += fmt.Sprintf(" %s %g", fser.Labels, fv)
					}
					if gok {
						want += fmt.Sprintf(" %s %g", gser.Labels, gv)
					}
					if got != want {
						t.Errorf("%s, stream %s, line %q, metadata %v: got %s, want %s", q, st, line, sm, got, want)
					}
				}
			}
		}
	}
}
