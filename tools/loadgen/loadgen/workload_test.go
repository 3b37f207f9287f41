package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

var testEnd = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func mustWorkload(t testing.TB, cfg WorkloadConfig) *Workload {
	t.Helper()
	if cfg.End.IsZero() {
		cfg.End = testEnd
	}
	w, err := NewWorkload(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// allLines returns every line of stream s with its timestamps.
func allLines(w *Workload, s int) ([]string, []int64) {
	c := w.Cursor(s)
	var lines []string
	var tss []int64
	var buf []byte
	for {
		line, ts, ok := c.Next(buf[:0])
		if !ok {
			return lines, tss
		}
		buf = line
		lines = append(lines, string(line))
		tss = append(tss, ts)
	}
}

func TestWorkloadLayout(t *testing.T) {
	w := mustWorkload(t, WorkloadConfig{Streams: 7, Lines: 100, LineSize: 190, Span: time.Hour})
	var total int64
	seen := map[string]bool{}
	for i, s := range w.Streams() {
		total += s.Lines
		if want := int64(100 / 7); s.Lines != want && s.Lines != want+1 {
			t.Errorf("stream %d has %d lines", i, s.Lines)
		}
		if seen[s.Labels] {
			t.Errorf("duplicate labels %s", s.Labels)
		}
		seen[s.Labels] = true
		if want := []Kind{KindAccess, KindJSON, KindLogfmt}[i%3]; s.Kind != want || s.Label("format") != want.String() {
			t.Errorf("stream %d: kind %v, format label %q, want %v", i, s.Kind, s.Label("format"), want)
		}
	}
	if total != 100 {
		t.Errorf("%d lines in all, want 100", total)
	}
	if got, want := w.Streams()[3].Labels, `{env="bench", format="access", instance="i-3", service="svc-00"}`; got != want {
		t.Errorf("labels %s, want %s", got, want)
	}
}

func TestWorkloadConfigErrors(t *testing.T) {
	for _, cfg := range []WorkloadConfig{
		{Streams: 0, Lines: 10, LineSize: 10, Span: time.Hour},
		{Streams: 10, Lines: 9, LineSize: 10, Span: time.Hour},
		{Streams: 1, Lines: 10, LineSize: 0, Span: time.Hour},
		{Streams: 1, Lines: 10, LineSize: 10, Span: 0},
		{Streams: 1, Lines: 10, LineSize: 10, Span: time.Hour, Kind: kindCorpus},
		{Streams: 1, Lines: 10, Span: time.Hour, Corpus: []CorpusFile{{Name: "empty"}}},
	} {
		if _, err := NewWorkload(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", cfg, err)
		}
	}
}

func TestTimestamps(t *testing.T) {
	w := mustWorkload(t, WorkloadConfig{Streams: 3, Lines: 3000, LineSize: 50, Span: time.Hour})
	start, end := w.Bounds()
	if end != testEnd.UnixNano() || end-start != int64(time.Hour) {
		t.Fatalf("bounds %d..%d", start, end)
	}
	for s := range w.Streams() {
		_, tss := allLines(w, s)
		for j, ts := range tss {
			if ts <= start || ts > end {
				t.Fatalf("stream %d line %d: ts %d outside (%d, %d]", s, j, ts, start, end)
			}
			if j > 0 && ts <= tss[j-1] {
				t.Fatalf("stream %d line %d: ts %d not after %d", s, j, ts, tss[j-1])
			}
		}
		if last := tss[len(tss)-1]; last != end {
			t.Errorf("stream %d: last ts %d, want the span's end %d", s, last, end)
		}
		// Evenly spread: the first line is one step after the start.
		if step := int64(time.Hour) / int64(len(tss)); tss[0]-start != step {
			t.Errorf("stream %d: first ts %d after start, want %d", s, tss[0]-start, step)
		}
	}
}

func TestGeneratedLines(t *testing.T) {
	jsonLine := regexp.MustCompile(`^\{"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","level":"(info|warn|error|debug)","method":"[A-Z]+","path":"/[^"]*","status":\d{3},"duration_ms":\d+,"trace_id":"[0-9a-f]{16}","msg":"[^"]+"\}$`)
	logfmtLine := regexp.MustCompile(`^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(info|warn|error|debug) method=[A-Z]+ path=/\S* status=\d{3} duration=\d+ms client=10\.\d+\.\d+\.\d+ trace_id=[0-9a-f]{16} msg="[^"]+"$`)
	accessLine := regexp.MustCompile(`^10\.\d+\.\d+\.\d+ - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] "[A-Z]+ /\S* HTTP/1\.1" \d{3} \d+ rt=\d+\.\d{3} trace_id=[0-9a-f]{16} "-" "[^"]+"$`)
	for _, tc := range []struct {
		kind Kind
		re   *regexp.Regexp
	}{{KindAccess, accessLine}, {KindJSON, jsonLine}, {KindLogfmt, logfmtLine}} {
		for _, size := range []int{100, 190, 400} {
			w := mustWorkload(t, WorkloadConfig{Streams: 2, Lines: 20000, LineSize: size, Kind: tc.kind, Span: time.Hour, Seed: 7})
			lines, tss := allLines(w, 1)
			total := 0
			for j, l := range lines {
				total += len(l)
				if !tc.re.MatchString(l) {
					t.Fatalf("%v line %d does not match %v:\n%s", tc.kind, j, tc.re, l)
				}
				if tc.kind == KindJSON {
					var v struct {
						TS     string `json:"ts"`
						Status int    `json:"status"`
					}
					if err := json.Unmarshal([]byte(l), &v); err != nil {
						t.Fatalf("line %d: %v\n%s", j, err, l)
					}
					if want := time.Unix(0, tss[j]).UTC().Format("2006-01-02T15:04:05.000Z"); v.TS != want {
						t.Fatalf("line %d: ts %s, want %s", j, v.TS, want)
					}
				}
			}
			mean := float64(total) / float64(len(lines))
			t.Logf("%v, size %d: mean %.1f", tc.kind, size, mean)
			// Short targets cannot be met: the fields alone are longer.
			if size >= 190 && (mean < 0.97*float64(size) || mean > 1.03*float64(size)) {
				t.Errorf("%v, size %d: mean line size %.1f", tc.kind, size, mean)
			}
		}
	}
}

// TestRareLines checks the lines the benchmark's queries look for occur,
// and rarely: the slow requests and the needle.
func TestRareLines(t *testing.T) {
	w := mustWorkload(t, WorkloadConfig{Streams: 3, Lines: 300000, LineSize: 190, Span: time.Hour})
	slow := regexp.MustCompile(`timeout after [5-9][0-9]{3}ms`)
	needle := w.Needle()
	if len(needle) != 16 {
		t.Fatalf("needle %q", needle)
	}
	var nSlow, nNeedle, nError int
	for s := range w.Streams() {
		lines, _ := allLines(w, s)
		for _, l := range lines {
			if slow.MatchString(l) {
				nSlow++
			}
			if strings.Contains(l, needle) {
				nNeedle++
			}
			if strings.Contains(l, "level=error") || strings.Contains(l, `"level":"error"`) {
				nError++
			}
		}
	}
	// One in 10,000 requests times out; the access stream (a third) does
	// not print the message: expect ~20.
	if nSlow < 5 || nSlow > 60 {
		t.Errorf("%d slow-request lines in 300,000", nSlow)
	}
	if nNeedle != 1 {
		t.Errorf("needle %s in %d lines, want 1", needle, nNeedle)
	}
	// ~2% errors in the JSON and logfmt streams.
	if nError < 2000 || nError > 6000 {
		t.Errorf("%d error lines in 200,000 JSON and logfmt lines", nError)
	}
}

func TestDeterministic(t *testing.T) {
	cfg := WorkloadConfig{Streams: 4, Lines: 400, LineSize: 190, Span: time.Hour, Seed: 3}
	a, b := mustWorkload(t, cfg), mustWorkload(t, cfg)
	cfg.Seed = 4
	c := mustWorkload(t, cfg)
	for s := range 4 {
		la, ta := allLines(a, s)
		lb, tb := allLines(b, s)
		lc, _ := allLines(c, s)
		if strings.Join(la, "\n") != strings.Join(lb, "\n") || len(ta) != len(tb) || ta[0] != tb[0] {
			t.Errorf("stream %d differs between two workloads of one seed", s)
		}
		if strings.Join(la, "\n") == strings.Join(lc, "\n") {
			t.Errorf("stream %d is the same under another seed", s)
		}
	}
	if a.Needle() != b.Needle() {
		t.Error("needle differs under one seed")
	}
}

func TestCorpus(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(dir+"/"+name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.log", "line b1\r\nline b2\r\n\r\nline b3")
	write("a.json", `{"x":1}`+"\n"+`{"x":2}`+"\n")
	files, err := LoadCorpus([]string{dir + "/*.log", dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Name != "a" || files[1].Name != "b" {
		t.Fatalf("files %+v", files)
	}
	if got := len(files[1].Lines); got != 3 || string(files[1].Lines[2]) != "line b3" || string(files[1].Lines[0]) != "line b1" {
		t.Errorf("lines of b: %q", files[1].Lines)
	}
	if files[0].Format() != "json" || files[1].Format() != "text" {
		t.Errorf("formats %s %s", files[0].Format(), files[1].Format())
	}
	w := mustWorkload(t, WorkloadConfig{Streams: 2, Lines: 10, Span: time.Minute, Corpus: files})
	lines, _ := allLines(w, 1)
	if want := "line b1|line b2|line b3|line b1|line b2"; strings.Join(lines, "|") != want {
		t.Errorf("stream 1: %q, want %s", lines, want)
	}
	if got := w.Streams()[0].Label("source"); got != "a" {
		t.Errorf("source label %q", got)
	}
	if got := w.Needle(); got != "line b3" {
		t.Errorf("needle %q", got)
	}
	if _, err := LoadCorpus([]string{dir + "/nothing*"}); !errors.Is(err, ErrConfig) {
		t.Errorf("no match: %v", err)
	}
}

func TestSplitLines(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"a":              "a",
		"a\n":            "a",
		"a\r\nb\r\n":     "a|b",
		"\n\na\n\r\n\nb": "a|b",
		"a\rb\n":         "a\rb",
	} {
		got := SplitLines([]byte(in))
		if s := string(bytes.Join(got, []byte("|"))); s != want {
			t.Errorf("SplitLines(%q) = %q, want %q", in, s, want)
		}
	}
}
