package distributor

import (
	"context"
	"strings"
	"testing"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

// refLevelFromWords is the plain statement of the rule: lower-case the line,
// take each word's first occurrence, and accept it if it stands alone.
func refLevelFromWords(line string) string {
	lower := strings.ToLower(line)
	for _, w := range levelWords {
		pos := strings.Index(lower, w.word)
		if pos < 0 {
			continue
		}
		before := pos == 0 || !isWordByte(lower[pos-1])
		after := pos+len(w.word) >= len(lower) || !isWordByte(lower[pos+len(w.word)])
		if before && after {
			return w.level
		}
	}
	return levelUnknown
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

func TestLevelWords(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"2024-01-01 ERROR disk full", "error"},
		{"information about errors", "unknown"}, // first "info" is inside "information"; "error" inside "errors"
		{"err: connection reset", "error"},
		{"a warning and an error", "error"}, // error outranks warning
		{"DEBUG trace id=7", "trace"},       // trace comes first in the order
		{"fatal_error", "unknown"},
		{"[info] started", "info"},
		{"", "unknown"},
	} {
		if got := levelFromWords(tc.line); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.line, got, tc.want)
		}
		if ref := refLevelFromWords(tc.line); ref != tc.want {
			t.Errorf("%q: reference says %s, want %s (fix the table)", tc.line, ref, tc.want)
		}
	}
}

func FuzzLevelFromWords(f *testing.F) {
	for _, s := range []string{"ERROR x", "informational", "warn:", "Err", "x\xffinfo", "TRACE_ID debug"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if got, want := levelFromWords(line), refLevelFromWords(line); got != want {
			t.Fatalf("%q: %s, reference %s", line, got, want)
		}
	})
}

func TestJSONLevel(t *testing.T) {
	d := newLevelDetector(validation.DefaultLogLevelFields)
	for _, tc := range []struct {
		line string
		want string
		ok   bool
	}{
		{`{"level":"warn","msg":"x"}`, "warn", true},
		{`{"msg":"x","nested":{"severity":"ERROR"}}`, "ERROR", true},
		{`{"list":[{"level":"info"}],"msg":"x"}`, "", false}, // arrays are not searched
		{`{"n":1,"ok":true,"v":null,"arr":[1,{"a":"b"}],"lvl":"debug"}`, "debug", true},
		{`{"level":"w\u0061rn"}`, "warn", true},
		{`{"level":5}`, "", false},
		{`{"level":`, "", false},
		{`{"msg":"unterminated`, "", false},
		{`{}`, "", false},
	} {
		got, ok := d.jsonLevel(tc.line)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %q %v, want %q %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzJSONLevel(f *testing.F) {
	d := newLevelDetector(validation.DefaultLogLevelFields)
	for _, s := range []string{`{"level":"info"}`, `{"a":{"b":{"lvl":"x"}}}`, `{"a":[{"level":"x"}]}`, `{"\"":"\\"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		d.jsonLevel(line) // must not panic or loop
	})
}

func BenchmarkDetect(b *testing.B) {
	d := newLevelDetector(validation.DefaultLogLevelFields)
	for _, bc := range []struct{ name, line string }{
		{"plain", `83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/"`},
		{"json", `{"ts":"2024-01-01T00:00:00Z","remote":"10.0.0.1","method":"GET","path":"/api/v1/items","status":200,"duration_ms":12,"level":"info","msg":"served"}`},
		{"logfmt", `ts=2024-01-01T00:00:00Z level=info msg="request served" path=/api/v1/items status=200 duration=12ms`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.line)))
			b.ReportAllocs()
			for b.Loop() {
				d.detect(nil, bc.line)
			}
		})
	}
}

func TestLevelFromSeverityNumber(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1", "trace"}, {"4", "trace"}, {"-3", "trace"},
		{"5", "debug"}, {"8", "debug"},
		{"9", "info"}, {"12", "info"},
		{"13", "warn"}, {"16", "warn"},
		{"17", "error"}, {"20", "error"},
		{"21", "fatal"}, {"24", "fatal"},
		{"0", "unknown"}, {"25", "unknown"}, {"1000", "unknown"},
		{"warn", "info"}, {"9.5", "info"}, {"99999999999999999999", "info"},
	} {
		if got := levelFromSeverityNumber(tc.in); got != tc.want {
			t.Errorf("severity_number %q: %s, want %s", tc.in, got, tc.want)
		}
	}
}

// OTLP records carry severity_text and severity_number as structured
// metadata: severity_text is one of the level fields, so it wins when set;
// severity_number comes before the line; a level label still comes first.
func TestDetectedLevelOTLP(t *testing.T) {
	sm := func(kv ...string) []logproto.LabelAdapter {
		var out []logproto.LabelAdapter
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, logproto.LabelAdapter{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		labels, line string
		sm           []logproto.LabelAdapter
		want         string
	}{
		{`{service_name="a"}`, "INFO all good", sm("severity_number", "17"), "error"},
		{`{service_name="a"}`, "x", sm("trace_id", "ab", "severity_number", "13", "scope_name", "s"), "warn"},
		{`{service_name="a"}`, "x", sm("severity_number", "21", "severity_text", "Critical"), "critical"},
		{`{service_name="a"}`, "x", sm("severity_text", "Information", "severity_number", "10"), "info"},
		{`{service_name="a"}`, "x", sm("severity_text", "notice", "severity_number", "10"), "notice"},
		{`{service_name="a"}`, "ERROR x", sm("severity_number", ""), "error"},
		{`{service_name="a", level="debug"}`, "x", sm("severity_number", "17"), "debug"},
	} {
		d, rec := newTestDistributor(t, nil)
		if err := d.Push(context.Background(), "fake", &logproto.PushRequest{Streams: []logproto.Stream{
			{Labels: tc.labels, Entries: []logproto.Entry{entry(testNow, tc.line, tc.sm...)}},
		}}); err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, p := range rec.streams()[0].Entries[0].StructuredMetadata {
			if p.Name == LevelLabel {
				got = p.Value
			}
		}
		if got != tc.want {
			t.Errorf("%s %q %v: detected_level %q, want %q", tc.labels, tc.line, tc.sm, got, tc.want)
		}
	}
}
