package log

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
)

// accessLog is one request of the Apache sample, split into fields.
type accessLog struct {
	ip, ts, method, path, proto, status, size, referer, agent string
}

// loadAccessLogs reads testdata/apache_logs_200 with a pattern parser.
func loadAccessLogs(tb testing.TB) ([]string, []accessLog) {
	tb.Helper()
	f, err := os.Open("testdata/apache_logs_200")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	m, err := newPatternMatcher(`<ip> - - [<ts>] "<method> <path> <proto>" <status> <size> "<referer>" "<agent>"`)
	if err != nil {
		tb.Fatal(err)
	}
	var raw []string
	var logs []accessLog
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		c := m.matches([]byte(line))
		if len(c) != 9 {
			continue
		}
		raw = append(raw, line)
		logs = append(logs, accessLog{string(c[0]), string(c[1]), string(c[2]), string(c[3]), string(c[4]), string(c[5]), string(c[6]), string(c[7]), string(c[8])})
	}
	if len(logs) < 100 {
		tb.Fatalf("only %d access log lines", len(logs))
	}
	return raw, logs
}

// jsonLines renders the requests as JSON lines of about 400 bytes, with a
// nested object, as an ingress controller would log them.
func jsonLines(logs []accessLog) []string {
	out := make([]string, len(logs))
	for i, l := range logs {
		m := map[string]any{
			"time": l.ts, "remote_addr": l.ip, "method": l.method, "path": l.path, "protocol": l.proto,
			"status": json.Number(l.status), "bytes_sent": json.Number(strings.ReplaceAll(l.size, "-", "0")),
			"referer": l.referer, "user_agent": l.agent, "request_time": json.Number("0.0" + strconv.Itoa(i%90+10)),
			"upstream": map[string]any{"addr": "10.0.3." + strconv.Itoa(i%250) + ":8080", "status": json.Number(l.status), "cache": "MISS"},
		}
		b, _ := json.Marshal(m)
		out[i] = string(b)
	}
	return out
}

// logfmtLines renders the requests as logfmt lines.
func logfmtLines(logs []accessLog) []string {
	out := make([]string, len(logs))
	for i, l := range logs {
		out[i] = "ts=" + l.ts[:11] + " level=info remote_addr=" + l.ip + " method=" + l.method + " path=" + strconv.Quote(l.path) +
			" status=" + l.status + " bytes=" + l.size + " duration=" + strconv.Itoa(i%900+3) + "ms user_agent=" + strconv.Quote(l.agent)
	}
	return out
}

func benchPipeline(b *testing.B, query string, lines []string) {
	p := compile(b, query)
	sp := p.ForStream(labels.FromStrings("app", "web", "env", "prod"))
	in := make([][]byte, len(lines))
	total := 0
	for i, l := range lines {
		in[i] = []byte(l)
		total += len(l)
	}
	meta := []logproto.LabelAdapter{{Name: "trace_id", Value: "abc"}}
	kept := 0
	for i := range in { // warm the stream pipeline's buffers and intern tables
		if _, _, ok := sp.Process(int64(i), in[i], meta); ok {
			kept++
		}
	}
	if kept == 0 && !strings.Contains(query, "nomatch") {
		b.Fatalf("%s keeps no line", query)
	}
	b.SetBytes(int64(total / len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sp.Process(int64(i), in[i%len(in)], meta)
	}
}

func BenchmarkLineFilter(b *testing.B) {
	raw, _ := loadAccessLogs(b)
	for _, c := range []struct{ name, query string }{
		{"contains", `{app="web"} |= "Mozilla"`},
		{"not_contains", `{app="web"} != "nomatch-xyz"`},
		{"contains_or", `{app="web"} |= "nomatch" or "Chrome"`},
		{"regexp_literal_alternation", `{app="web"} |~ "Firefox|Chrome"`},
		{"regexp_case_insensitive", `{app="web"} |~ "(?i)mozilla"`},
		{"regexp", `{app="web"} |~ "HTTP/1\\.[01]\" [45]\\d\\d"`},
		{"pattern", `{app="web"} |> "<_> \"GET <_>\" 200 <_>"`},
		{"ip_cidr", `{app="web"} |= ip("83.149.0.0/16")`},
		{"ip_not", `{app="web"} != ip("10.0.0.0/8")`},
	} {
		b.Run(c.name, func(b *testing.B) { benchPipeline(b, c.query, raw) })
	}
}

func BenchmarkParser(b *testing.B) {
	raw, logs := loadAccessLogs(b)
	js, lf := jsonLines(logs), logfmtLines(logs)
	for _, c := range []struct {
		name, query string
		lines       []string
	}{
		{"json", `{app="web"} | json`, js},
		{"json_params", `{app="web"} | json status="status", addr="upstream.addr", ua="user_agent"`, js},
		{"json_label_filter", `{app="web"} | json | status >= 400 or method="POST"`, js},
		{"json_line_format", `{app="web"} | json | line_format "{{.method}} {{.path}} {{.status}}"`, js},
		{"json_line_format_simple", `{app="web"} | json | line_format "{{.path}}"`, js},
		{"logfmt", `{app="web"} | logfmt`, lf},
		{"logfmt_label_filter", `{app="web"} | logfmt | duration > 100ms`, lf},
		{"pattern", `{app="web"} | pattern "<ip> - - [<_>] \"<method> <path> <_>\" <status> <size> <_>"`, raw},
		{"regexp", `{app="web"} | regexp "\"(?P<method>\\w+) (?P<path>\\S+) [^\"]*\" (?P<status>\\d+)"`, raw},
		{"label_format", `{app="web"} | logfmt | label_format m="{{.method | lower}}", dst=path`, lf},
		{"decolorize", `{app="web"} | decolorize`, raw},
	} {
		b.Run(c.name, func(b *testing.B) { benchPipeline(b, c.query, c.lines) })
	}
}

// TestZeroAllocs pins the allocation-free hot paths: line filters, and the
// json and logfmt parsers with label filters, once a stream pipeline is
// warm.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	raw, logs := loadAccessLogs(t)
	js, lf := jsonLines(logs), logfmtLines(logs)
	for _, c := range []struct {
		query string
		lines []string
	}{
		{`{app="web"} |= "Mozilla" != "nomatch" |~ "Firefox|Chrome"`, raw},
		{`{app="web"} |> "<_> \"GET <_>\" 200 <_>" |= ip("83.149.0.0/16")`, raw},
		{`{app="web"} | json`, js},
		{`{app="web"} | json | status >= 400 or method="POST"`, js},
		{`{app="web"} | logfmt`, lf},
		{`{app="web"} | logfmt | duration > 500ms | drop ts`, lf},
		{`{app="web"} | json | line_format "{{.path}}"`, js},
	} {
		p := compile(t, c.query)
		sp := p.ForStream(labels.FromStrings("app", "web"))
		meta := []logproto.LabelAdapter{{Name: "trace_id", Value: "abc"}}
		in := make([][]byte, len(c.lines))
		for i, l := range c.lines {
			in[i] = []byte(l)
			sp.Process(0, in[i], meta)
		}
		i := 0
		allocs := testing.AllocsPerRun(200, func() {
			sp.Process(0, in[i%len(in)], meta)
			i++
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per line", c.query, allocs)
		}
	}
}
