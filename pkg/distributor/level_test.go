package distributor

import (
	"strings"
	"testing"

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
