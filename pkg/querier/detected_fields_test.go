package querier

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

func TestInferType(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want logproto.DetectedFieldType
	}{
		{"12", logproto.DetectedFieldInt}, {"-3", logproto.DetectedFieldInt}, {"0", logproto.DetectedFieldInt}, {"1", logproto.DetectedFieldInt},
		{"1.5", logproto.DetectedFieldFloat}, {"1e3", logproto.DetectedFieldFloat}, {"-0.25", logproto.DetectedFieldFloat}, {"NaN", logproto.DetectedFieldFloat}, {"inf", logproto.DetectedFieldFloat},
		{"true", logproto.DetectedFieldBoolean}, {"FALSE", logproto.DetectedFieldBoolean}, {"t", logproto.DetectedFieldBoolean}, {"F", logproto.DetectedFieldBoolean},
		{"12ms", logproto.DetectedFieldDuration}, {"1h30m", logproto.DetectedFieldDuration}, {"-2s", logproto.DetectedFieldDuration}, {"5m", logproto.DetectedFieldDuration}, {"1.5µs", logproto.DetectedFieldDuration},
		{"10KB", logproto.DetectedFieldBytes}, {"3 MiB", logproto.DetectedFieldBytes}, {"1,024kb", logproto.DetectedFieldBytes}, {"10k", logproto.DetectedFieldBytes}, {"2.5gb", logproto.DetectedFieldBytes}, {"7 B", logproto.DetectedFieldBytes},
		{"hello", logproto.DetectedFieldString}, {"", logproto.DetectedFieldString}, {"10 apples", logproto.DetectedFieldString}, {"yes", logproto.DetectedFieldString}, {"1d", logproto.DetectedFieldString}, {"-5KB", logproto.DetectedFieldString},
		{"12 zb", logproto.DetectedFieldString},
		// Space around the unit is any Unicode space, as go-humanize trims it.
		{"5\u00a0KB", logproto.DetectedFieldBytes}, {"2 MiB\u2003", logproto.DetectedFieldBytes},
	} {
		if got := InferType(tc.v); got != tc.want {
			t.Errorf("InferType(%q) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

// fieldsOf returns "name=value" pairs and JSON paths parsed from line.
func fieldsOf(line string, streamLabels ...string) (string, []string, [][]string) {
	var f lineFields
	lbls := labels.FromStrings(streamLabels...)
	f.parse(line, lbls.Has)
	out := make([]string, len(f.names))
	for i := range f.names {
		out[i] = f.names[i] + "=" + f.values[i]
	}
	return f.parser, out, f.paths
}

func TestLineFields(t *testing.T) {
	for _, tc := range []struct {
		name   string
		line   string
		stream []string
		parser string
		fields []string
		paths  [][]string
	}{
		{"json flat", `{"msg":"job done","dur_ms":120,"ok":true,"ratio":-1.5e2}`, nil, "json",
			[]string{"msg=job done", "dur_ms=120", "ok=true", "ratio=-1.5e2"}, [][]string{{"msg"}, {"dur_ms"}, {"ok"}, {"ratio"}}},
		{"json nested, arrays and nulls skipped", `{"a":{"b":{"c":"x"},"d":[1,{"e":2}]},"n":null,"z":"q"}`, nil, "json",
			[]string{"a_b_c=x", "z=q"}, [][]string{{"a", "b", "c"}, {"z"}}},
		{"json names sanitized", `{"hg.nginx.org":{"2xx":5},"1st":1," sp ace ":"v","é":"w"}`, nil, "json",
			[]string{"hg_nginx_org_2xx=5", "_1st=1", "sp_ace=v", "_=w"}, [][]string{{"hg.nginx.org", "2xx"}, {"1st"}, {" sp ace "}, {"é"}}},
		{"json escapes", `{"m":"a\"b\\c\n\u00e9\ud83d\ude00","k\u0041":"v"}`, nil, "json",
			[]string{"m=a\"b\\c\né😀", "kA=v"}, [][]string{{"m"}, {"kA"}}},
		{"json first duplicate wins", `{"a":"1","a":"2"}`, nil, "json", []string{"a=1"}, [][]string{{"a"}}},
		{"json stream label collision", `{"app":"x","level":"info"}`, []string{"app", "web"}, "json",
			[]string{"app_extracted=x", "level=info"}, [][]string{{"app"}, {"level"}}},
		{"json trailing bytes ignored", `{"a":1} trailing`, nil, "json", []string{"a=1"}, [][]string{{"a"}}},
		{"json empty object", `{}`, nil, "json", []string{}, [][]string{}},
		{"logfmt", `level=info msg="promtail line 1" n=1 empty= bare`, nil, "logfmt",
			[]string{"level=info", "msg=promtail line 1", "n=1"}, [][]string{}},
		{"logfmt escapes and names", `msg="say \"hi\"" 2xx=3 a.b=c`, nil, "logfmt",
			[]string{`msg=say "hi"`, "_2xx=3", "a_b=c"}, [][]string{}},
		{"logfmt collision", `app=x`, []string{"app", "web"}, "logfmt", []string{"app_extracted=x"}, [][]string{}},
		{"plain words are logfmt without fields", `GET /users 200 12ms`, nil, "logfmt", []string{}, [][]string{}},
		{"broken json falls back to logfmt", `{"a":1`, nil, "", []string{}, [][]string{}},
		{"logfmt unterminated quote", `a="b`, nil, "", []string{}, [][]string{}},
		{"logfmt quote in key", `a"b=c`, nil, "", []string{}, [][]string{}},
		{"logfmt '=' without key", `=x`, nil, "", []string{}, [][]string{}},
		{"logfmt '=' in bare value", `a=b=c`, nil, "", []string{}, [][]string{}},
		{"json not an object", `[1,2]`, nil, "logfmt", []string{}, [][]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parser, fields, paths := fieldsOf(tc.line, tc.stream...)
			if parser != tc.parser || !slices.Equal(fields, tc.fields) {
				t.Errorf("parser %q fields %q\nwant   %q fields %q", parser, fields, tc.parser, tc.fields)
			}
			if len(paths) != len(tc.paths) || len(tc.paths) > 0 && !reflect.DeepEqual(paths, tc.paths) {
				t.Errorf("paths %q, want %q", paths, tc.paths)
			}
		})
	}
}

func entry(ts int64, line string, kv ...string) logproto.Entry {
	e := logproto.Entry{Timestamp: ts, Line: line}
	for i := 0; i+1 < len(kv); i += 2 {
		e.StructuredMetadata = append(e.StructuredMetadata, logproto.LabelAdapter{Name: kv[i], Value: kv[i+1]})
	}
	return e
}

func formatFields(fs []logproto.DetectedField) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %s %d %v %v\n", f.Label, f.Type, f.Cardinality, f.Parsers, f.JSONPath)
	}
	return b.String()
}

// TestDetectFieldsLokiSample uses the data behind Loki's detected-fields
// sample: the worker's JSON lines with their detected_level.
func TestDetectFieldsLokiSample(t *testing.T) {
	streams := []logql.Stream{{
		Labels: labels.FromStrings("app", "worker", "job", "smoke", "service_name", "worker"),
		Entries: []logproto.Entry{
			entry(1795448484000000000, `{"msg":"job failed","dur_ms":340,"status":"err"}`, "detected_level", "error"),
			entry(1795448481000000000, `{"msg":"job done","dur_ms":120,"status":"ok"}`, "detected_level", "info"),
		},
	}}
	want := "detected_level string 2 [] []\n" +
		"dur_ms int 2 [json] [dur_ms]\n" +
		"msg string 2 [json] [msg]\n" +
		"status string 2 [json] [status]\n"
	got := DetectFields(streams, 1000)
	if formatFields(got) != want {
		t.Errorf("got\n%swant\n%s", formatFields(got), want)
	}
	if got[0].Parsers != nil {
		t.Errorf("structured metadata has parsers %v, want nil", got[0].Parsers)
	}
}

func TestDetectFieldsRules(t *testing.T) {
	streams := []logql.Stream{
		{
			Labels: labels.FromStrings("app", "b"),
			Entries: []logproto.Entry{
				// Newest first: the last entry read (the oldest) types the field.
				entry(3, `level=info took=12ms app=b`, "trace_id", "t1"),
				{Timestamp: 2, Line: `{"took":"slow","size":"10KB"}`, Parsed: []logproto.LabelAdapter{
					{Name: "took", Value: "slow"}, {Name: "__error__", Value: "JSONParserErr"}, {Name: "user", Value: "u1"},
				}},
			},
		},
		{
			// Read first: streams go in label order.
			Labels:  labels.FromStrings("app", "a"),
			Entries: []logproto.Entry{entry(1, `not logfmt "quoted`, "trace_id", "t2")},
		},
	}
	want := "app_extracted string 1 [logfmt] []\n" +
		"level string 1 [logfmt] []\n" +
		"size bytes 1 [json] [size]\n" +
		"took string 2 [logfmt json] [took]\n" +
		"trace_id string 2 [] []\n" +
		"user string 1 [json] []\n"
	if got := formatFields(DetectFields(streams, 100)); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	// The limit stops new names; known names still count values.
	want = "level string 1 [logfmt] []\n" +
		"trace_id string 2 [] []\n"
	if got := formatFields(DetectFields(streams, 2)); got != want {
		t.Errorf("limit 2: got\n%swant\n%s", got, want)
	}
	if got := DetectFields(nil, 10); len(got) != 0 {
		t.Errorf("no streams: %v", got)
	}
}

func TestDetectFieldValues(t *testing.T) {
	streams := []logql.Stream{{
		Labels: labels.FromStrings("app", "a"),
		Entries: []logproto.Entry{
			entry(5, `size=2048KiB took=5m level=warn`, "level", "warn"),
			entry(4, `{"size":"10k","level":"error"}`),
			entry(3, `size=12 level=info`),
			{Timestamp: 2, Line: `plain`, Parsed: []logproto.LabelAdapter{{Name: "size", Value: "999B"}}},
			entry(1, `size="1,000 kb"`),
		},
	}}
	for _, tc := range []struct {
		name  string
		limit int
		want  []string
	}{
		{"size", 100, []string{"1.0MB", "10kB", "12", "2.1MB", "999B"}},
		{"level", 100, []string{"error", "info", "warn"}},
		{"took", 100, []string{"5m"}},
		// Checked before each entry: the entry that reaches the limit
		// adds all its values.
		{"size", 1, []string{"2.1MB"}},
		{"level", 2, []string{"error", "warn"}},
		{"missing", 10, []string{}},
	} {
		if got := DetectFieldValues(streams, tc.name, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("values of %s (limit %d) = %q, want %q", tc.name, tc.limit, got, tc.want)
		}
	}
}

func TestHumanizeBytes(t *testing.T) {
	for _, tc := range []struct {
		b    uint64
		want string
	}{
		{0, "0B"}, {9, "9B"}, {10, "10B"}, {999, "999B"}, {1000, "1.0kB"}, {1499, "1.5kB"},
		{10000, "10kB"}, {2097152, "2.1MB"}, {999999999, "1000MB"}, {5e18, "5.0EB"},
	} {
		if got := humanizeBytes(tc.b); got != tc.want {
			t.Errorf("humanizeBytes(%d) = %s, want %s", tc.b, got, tc.want)
		}
	}
}

func readNginx(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile("testdata/nginxplus_json/nginxplus_json_20")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
}

// refFlatten flattens a JSON object decoded by encoding/json, the reference
// for the walker: nested objects joined by '_', arrays and nulls skipped,
// names sanitized.
func refFlatten(prefix string, v map[string]any, out map[string]map[string]bool) {
	for k, x := range v {
		name := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
				return r
			}
			return '_'
		}, strings.TrimSpace(k))
		if prefix == "" {
			if name != "" && name[0] >= '0' && name[0] <= '9' {
				name = "_" + name
			}
		} else {
			name = prefix + "_" + name
		}
		switch x := x.(type) {
		case map[string]any:
			refFlatten(name, x, out)
		case []any, nil:
		default:
			if out[name] == nil {
				out[name] = map[string]bool{}
			}
			out[name][fmt.Sprint(x)] = true
		}
	}
}

func TestDetectFieldsRealJSON(t *testing.T) {
	ref := map[string]map[string]bool{}
	var entries []logproto.Entry
	for i, l := range readNginx(t) {
		d := json.NewDecoder(strings.NewReader(l))
		d.UseNumber()
		var v map[string]any
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		refFlatten("", v, ref)
		entries = append(entries, logproto.Entry{Timestamp: int64(i), Line: l})
	}
	got := DetectFields([]logql.Stream{{Labels: labels.FromStrings("job", "nginx"), Entries: entries}}, 100000)
	if len(got) != len(ref) {
		t.Fatalf("%d fields, the reference has %d", len(got), len(ref))
	}
	for _, f := range got {
		if uint64(len(ref[f.Label])) != f.Cardinality {
			t.Errorf("%s: cardinality %d, reference %d", f.Label, f.Cardinality, len(ref[f.Label]))
		}
		if !slices.Equal(f.Parsers, []string{"json"}) || len(f.JSONPath) == 0 {
			t.Errorf("%s: parsers %v path %v", f.Label, f.Parsers, f.JSONPath)
		}
	}
	i := slices.IndexFunc(got, func(f logproto.DetectedField) bool { return f.Label == "server_zones_hg_nginx_org_requests" })
	if i < 0 || got[i].Type != logproto.DetectedFieldInt || !slices.Equal(got[i].JSONPath, []string{"server_zones", "hg.nginx.org", "requests"}) {
		t.Errorf("server_zones_hg_nginx_org_requests: %+v", got)
	}
}

func BenchmarkDetectFieldsJSON(b *testing.B) {
	lines := readNginx(b)
	var entries []logproto.Entry
	var size int64
	for i, l := range lines {
		entries = append(entries, logproto.Entry{Timestamp: int64(i), Line: l})
		size += int64(len(l))
	}
	streams := []logql.Stream{{Labels: labels.FromStrings("job", "nginx"), Entries: entries}}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		DetectFields(streams, 1000)
	}
}

func BenchmarkDetectFieldsLogfmt(b *testing.B) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	var entries []logproto.Entry
	var size int64
	for i := range 1000 {
		l := fmt.Sprintf(`ts=2026-11-23T15:52:%02d.%03dZ level=info caller=tail.go:%d msg="polled engine" tenant=fake entries=%d took=%dms`,
			i%60, i%1000, 100+i%50, i%97, i%13)
		entries = append(entries, entry(int64(i), l, "detected_level", "info"))
		size += int64(len(l))
	}
	_ = w.Flush()
	streams := []logql.Stream{{Labels: labels.FromStrings("job", "skald"), Entries: entries}}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		DetectFields(streams, 1000)
	}
}

func FuzzLineFields(f *testing.F) {
	for _, s := range []string{
		`{"a":{"b":[1,2,{"c":3}]},"d":"e\u00e9"}`, `level=info msg="hi \"x\"" n=1`, `{"a":1`, `a="b`, `=`, `{}`,
		`{"1":null,"x y":true}`, `a=b=c`, "k=\xff", "\xffk=v",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var lf lineFields
		lf.parse(line, func(n string) bool { return n == "app" })
		for _, n := range lf.names {
			if n == "" || n == "app" {
				t.Fatalf("bad name %q from %q", n, line)
			}
			for i := 0; i < len(n); i++ {
				c := n[i]
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
					t.Fatalf("name %q from %q has %q", n, line, c)
				}
			}
		}
		if len(lf.values) != len(lf.names) {
			t.Fatalf("%d values for %d names", len(lf.values), len(lf.names))
		}
		trimmed := strings.TrimLeft(line, " \t\r\n")
		isObject := strings.HasPrefix(trimmed, "{") && json.Valid([]byte(line)) &&
			strings.Count(line, "{")+strings.Count(line, "[") <= maxJSONDepth // deeper is refused
		switch {
		case isObject && lf.parser != parserJSON:
			t.Fatalf("valid JSON object %q parsed as %q", line, lf.parser)
		case lf.parser == parserJSON:
			if len(lf.paths) != len(lf.names) {
				t.Fatalf("%d paths for %d names", len(lf.paths), len(lf.names))
			}
			var v map[string]json.RawMessage
			if err := json.NewDecoder(strings.NewReader(line)).Decode(&v); err != nil && isObject {
				t.Fatalf("walker accepted %q, encoding/json: %v", line, err)
			}
		}
	})
}

// TestDetectFieldsMemory checks that a line cannot make field detection
// build names without bound: every member of a nested object repeats the
// keys above it in its name, so 10,000 members under a 20 KB key were
// 200 MB of names, kept for the whole request. Beyond 1 MiB of such
// repeated keys a line is not taken as JSON.
func TestDetectFieldsMemory(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"` + strings.Repeat("k", 20000) + `":{`)
	for i := range 10000 {
		fmt.Fprintf(&b, `"a%d":1,`, i)
	}
	b.WriteString(`"z":1}}`)
	streams := []logql.Stream{{Labels: labels.FromStrings("app", "a"), Entries: []logproto.Entry{{Timestamp: 1, Line: b.String()}}}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fields := DetectFields(streams, 1000)
	runtime.ReadMemStats(&after)
	for _, f := range fields {
		if slices.Contains(f.Parsers, parserJSON) {
			t.Fatalf("field %.40s… detected as JSON", f.Label)
		}
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
		t.Errorf("%d MB allocated, want at most 32", n>>20)
	}
	// A line within the bound is still JSON.
	var f lineFields
	f.parse(`{"`+strings.Repeat("k", 1000)+`":{"a":1,"b":2}}`, nil)
	if f.parser != parserJSON || len(f.names) != 2 {
		t.Errorf("parser %q, %d names", f.parser, len(f.names))
	}
}
