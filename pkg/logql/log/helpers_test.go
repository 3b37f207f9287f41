package log

import (
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// testHash stands in for index.Fingerprint.
func testHash(l labels.Labels) uint64 { return l.Hash() }

// compile parses a log query and compiles its pipeline.
func compile(t testing.TB, query string) Pipeline {
	t.Helper()
	expr, err := syntax.ParseLogSelector(query, true)
	if err != nil {
		t.Fatalf("parse %s: %v", query, err)
	}
	p, err := NewPipeline(expr, testHash)
	if err != nil {
		t.Fatalf("pipeline %s: %v", query, err)
	}
	return p
}

// streamOf reads `{a="b", c="d"}`.
func streamOf(t testing.TB, s string) labels.Labels {
	t.Helper()
	ms, err := syntax.ParseMatchers(s, false)
	if err != nil {
		t.Fatalf("stream %s: %v", s, err)
	}
	b := labels.NewScratchBuilder(len(ms))
	for _, m := range ms {
		b.Add(m.Name, m.Value)
	}
	b.Sort()
	return b.Labels()
}

// sm reads name=value pairs into structured metadata.
func sm(kv ...string) []logproto.LabelAdapter {
	var out []logproto.LabelAdapter
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, logproto.LabelAdapter{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// fmtLabels prints labels as {a="b", c="d"} in their order ("{}" when none).
func fmtLabels(ls []logproto.LabelAdapter) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(l.Name)
		sb.WriteByte('=')
		sb.WriteString(strconv.Quote(l.Value))
	}
	sb.WriteByte('}')
	return sb.String()
}

// result is what a test expects of one processed entry.
type result struct {
	keep   bool
	line   string
	stream string // "" means: the input stream, unchanged
	sm     string // "" means {}
	parsed string // "" means {}
}

// processOne runs query over one entry of stream.
func processOne(t testing.TB, query, stream string, ts int64, line string, meta []logproto.LabelAdapter) result {
	t.Helper()
	p := compile(t, query)
	sp := p.ForStream(streamOf(t, stream))
	out, res, ok := sp.Process(ts, []byte(line), meta)
	if !ok {
		return result{}
	}
	if res.Hash != testHash(res.Stream) {
		t.Errorf("%s: hash %d does not identify stream %s", query, res.Hash, res.Stream)
	}
	r := result{keep: true, line: string(out), stream: res.Stream.String(), sm: fmtLabels(res.StructuredMetadata), parsed: fmtLabels(res.Parsed)}
	return r
}

// check compares a result with what was expected.
func check(t *testing.T, query, stream string, got, want result) {
	t.Helper()
	if want.keep {
		if want.stream == "" {
			want.stream = streamOf(t, stream).String()
		}
		if want.sm == "" {
			want.sm = "{}"
		}
		if want.parsed == "" {
			want.parsed = "{}"
		}
	}
	if got != want {
		t.Errorf("%s\n got: keep=%v line=%q\n      stream=%s sm=%s parsed=%s\nwant: keep=%v line=%q\n      stream=%s sm=%s parsed=%s",
			query, got.keep, got.line, got.stream, got.sm, got.parsed, want.keep, want.line, want.stream, want.sm, want.parsed)
	}
}

// stageCase is one table row: a query over one entry.
type stageCase struct {
	query  string
	stream string // default {app="web"}
	line   string
	sm     []logproto.LabelAdapter
	want   result
}

func runCases(t *testing.T, cases []stageCase) {
	t.Helper()
	for _, c := range cases {
		stream := c.stream
		if stream == "" {
			stream = `{app="web"}`
		}
		got := processOne(t, c.query, stream, 1700000000123456789, c.line, c.sm)
		check(t, c.query, stream, got, c.want)
	}
}

// kept is a result that keeps the line with the given labels.
func kept(line, parsed string) result { return result{keep: true, line: line, parsed: parsed} }

var dropped = result{}

func parseSelector(q string) (syntax.LogSelectorExpr, error) {
	return syntax.ParseLogSelector(q, true)
}
