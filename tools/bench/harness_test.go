package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skald-logs/skald/tools/loadgen/loadgen"
)

// TestHarnessSmoke runs the whole benchmark on a small workload against the
// real binary and checks the report is complete and its numbers agree with
// each other and with the workload. It asserts no timing.
func TestHarnessSmoke(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	wcfg := loadgen.WorkloadConfig{Streams: 20, Lines: 20000, LineSize: 190, Span: time.Hour, Seed: 5, End: time.Now()}
	push := loadgen.DefaultRunConfig("")
	push.BatchSize = 500
	cfg := Config{
		Skald:          os.Getenv("SKALD_BENCH_BIN"), // empty: build it
		Workload:       wcfg,
		Push:           push,
		Budget:         queryBudget{minRuns: 2, maxRuns: 3},
		ProfileDir:     t.TempDir(),
		ProfileSeconds: 1,
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	in := rep.Ingest
	if in.Lines != 20000 || in.Failures != 0 || in.Pushes != 40 {
		t.Errorf("ingest: %d lines, %d of %d pushes failed %v", in.Lines, in.Failures, in.Pushes, in.Errors)
	}
	// What the server acknowledged is what the workload holds.
	if in.Bytes != rep.RawBytes || rep.RawBytes < 20000*150 {
		t.Errorf("acknowledged %d bytes, workload has %d", in.Bytes, rep.RawBytes)
	}
	if in.CPUSeconds+in.FlushCPUSeconds <= 0 || in.Seconds <= 0 || in.P50Millis <= 0 || in.P50Millis > in.P99Millis || in.P99Millis > in.MaxMillis {
		t.Errorf("ingest numbers: %+v", in)
	}
	m := rep.Memory
	if m.IdleRSS <= 0 || m.PeakIngestRSS < m.IdleRSS || m.PeakRSS < m.PeakIngestRSS || m.EndRSS <= 0 || m.EndRSS > m.PeakRSS {
		t.Errorf("memory: %+v", m)
	}
	d := rep.Disk
	if d.ChunkObjects < 20 || d.IndexObjects < 1 || d.DataDirBytes < d.Objects() {
		t.Errorf("disk: %+v", d)
	}
	if r := float64(d.Objects()) / float64(rep.RawBytes); r < 0.05 || r > 1.5 {
		t.Errorf("bytes on disk per raw byte %.3f", r)
	}
	wantCodecs := []string{"snappy", "s2", "s2 better", "zstd fastest", "zstd default", framedBaseline}
	if len(rep.Baselines) != len(wantCodecs) {
		t.Fatalf("baselines %+v", rep.Baselines)
	}
	for i, b := range rep.Baselines {
		if b.Name != wantCodecs[i] || b.Bytes <= 0 || b.Bytes >= rep.RawBytes {
			t.Errorf("baseline %+v", b)
		}
	}
	// Timestamps cost bytes: the framed layout compresses to more.
	if framed, plain := rep.Baselines[5].Bytes, rep.Baselines[0].Bytes; framed <= plain {
		t.Errorf("snappy with timestamps %d bytes, without %d", framed, plain)
	}

	w, err := loadgen.NewWorkload(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	want := expectedAnswers(t, w)
	names := []string{"needle", "regex", "narrow", "count_by", "json", "topk_rate"}
	if len(rep.Queries) != len(names) {
		t.Fatalf("%d queries", len(rep.Queries))
	}
	for i, q := range rep.Queries {
		if q.Name != names[i] {
			t.Errorf("query %d is %s, want %s", i, q.Name, names[i])
		}
		if q.Error != "" {
			// Reported, not fatal: parts of LogQL are still being built.
			if !regexp.MustCompile(`^\d{3}: \S`).MatchString(q.Error) {
				t.Errorf("%s: error without status and message: %q", q.Name, q.Error)
			}
			t.Logf("%s: %s", q.Name, q.Error)
			continue
		}
		if q.Runs < 2 || q.Runs > 3 || q.First <= 0 || q.Median < q.Min || q.Min <= 0 || q.CPUSeconds < 0 {
			t.Errorf("%s: runs %d first %v median %v min %v cpu %v", q.Name, q.Runs, q.First, q.Median, q.Min, q.CPUSeconds)
		}
		if n, ok := want.entries[q.Name]; ok && q.Entries != n {
			t.Errorf("%s returned %d lines, want %d", q.Name, q.Entries, n)
		}
		if n, ok := want.series[q.Name]; ok && q.Series != n {
			t.Errorf("%s returned %d series, want %d", q.Name, q.Series, n)
		}
		if q.BytesScanned > 0 && q.BytesScanned > rep.RawBytes {
			t.Errorf("%s scanned %d bytes of %d", q.Name, q.BytesScanned, rep.RawBytes)
		}
	}
	for _, name := range []string{"needle", "regex", "narrow"} {
		if q := rep.Queries[indexOf(names, name)]; q.Error != "" {
			t.Errorf("log query %s failed: %s", name, q.Error)
		}
	}
	if q := rep.Queries[0]; q.BytesSource == "workload" && q.BytesScanned != rep.RawBytes {
		t.Errorf("needle scans %d bytes by the workload, want all %d", q.BytesScanned, rep.RawBytes)
	}

	if len(rep.Profiles) != 2 || len(rep.Notes) != 0 {
		t.Errorf("profiles %v, notes %v", rep.Profiles, rep.Notes)
	}
	for _, p := range rep.Profiles {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("profile %s: %v", p, err)
		}
	}

	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	out := table.String()
	for _, s := range append([]string{"INGEST", "MEMORY", "DISK", "QUERIES", "lines per CPU-s", "idle RSS", "snappy", "zstd default"}, names...) {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
	for _, q := range rep.Queries {
		if q.Error != "" && !strings.Contains(out, "error: "+q.Error) {
			t.Errorf("table lacks the error of %s", q.Name)
		}
	}
	if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
		t.Errorf("table has NaN or Inf:\n%s", out)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Error(err)
	}
	t.Logf("\n%s", out)
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

type answers struct {
	entries map[string]int
	series  map[string]int
}

// expectedAnswers computes what each query must return from the workload's
// lines, independently of the server.
func expectedAnswers(t *testing.T, w *loadgen.Workload) answers {
	t.Helper()
	a := answers{entries: map[string]int{}, series: map[string]int{}}
	qs := querySet(w)
	needle := w.Needle()
	slow := regexp.MustCompile(`timeout after [5-9][0-9]{3}ms`)
	services := map[string]bool{}
	var line []byte
	for s := range w.Streams() {
		st := &w.Streams()[s]
		services[st.Label("service")] = true
		c := w.Cursor(s)
		for {
			var ok bool
			line, _, ok = c.Next(line[:0])
			if !ok {
				break
			}
			if bytes.Contains(line, []byte(needle)) {
				a.entries["needle"]++
			}
			if slow.Match(line) {
				a.entries["regex"]++
			}
			if qs[2].selects(st) {
				a.entries["narrow"]++
			}
			if st.Label("format") == "json" {
				var v struct {
					Status     int `json:"status"`
					DurationMs int `json:"duration_ms"`
				}
				if err := json.Unmarshal(line, &v); err != nil {
					t.Fatal(err)
				}
				if v.Status >= 500 && v.DurationMs >= 5000 {
					a.entries["json"]++
				}
			}
		}
	}
	for k, v := range a.entries {
		a.entries[k] = min(v, logLimit)
	}
	a.series["count_by"] = len(services)
	a.series["topk_rate"] = min(3, len(services))
	return a
}

func TestReadProcStat(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	// Burn some CPU so the process has a measurable CPU time.
	var x atomic.Uint64
	for began := time.Now(); time.Since(began) < 50*time.Millisecond; {
		x.Add(1)
	}
	st, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.cpuSeconds <= 0 || st.rss <= 0 || st.hwm < st.rss {
		t.Errorf("%+v", st)
	}
	if _, err := readProcStat(1 << 30); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

func TestMeasureDisk(t *testing.T) {
	dir := t.TempDir()
	for path, size := range map[string]int{
		"objects/chunks/fake/0001/a": 100,
		"objects/chunks/fake/0002/b": 50,
		"objects/index/fake/20000/x": 7,
		"objects/other":              3,
		"wal/00000001":               1000,
	} {
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := measureDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := diskUsage{ChunkBytes: 150, IndexBytes: 7, OtherBytes: 3, ChunkObjects: 2, IndexObjects: 1, DataDirBytes: 1160}
	if d != want || d.Objects() != 160 {
		t.Errorf("got %+v, want %+v", d, want)
	}
}

func TestParseAnswer(t *testing.T) {
	for _, tc := range []struct {
		body                   string
		entries, series, point int
		bytes                  int64
		err                    bool
	}{
		{body: `{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["1","a"],["2","b"]]},{"stream":{},"values":[["3","c"]]}],"stats":{"summary":{"totalBytesProcessed":42}}}}`,
			entries: 3, series: 2, bytes: 42},
		{body: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"3"]]}]}}`, series: 1, point: 2},
		{body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}`, err: true},
		{body: `{"status":"error"}`, err: true},
		{body: `not json`, err: true},
	} {
		a, err := parseAnswer([]byte(tc.body))
		if (err != nil) != tc.err {
			t.Errorf("%s: err %v", tc.body, err)
			continue
		}
		if !tc.err && (a.entries != tc.entries || a.series != tc.series || a.points != tc.point || a.bytesProcessed != tc.bytes) {
			t.Errorf("%s: %+v", tc.body, a)
		}
	}
}

func TestProfileWhile(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/pprof/profile" || r.URL.Query().Get("seconds") != "1" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("profile bytes"))
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "sub", "p.pprof")
	var worked atomic.Bool
	err := profileWhile(context.Background(), srv.URL, path, 1, func(stop <-chan struct{}) {
		worked.Store(true)
		<-stop
	})
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "profile bytes" || !worked.Load() {
		t.Errorf("profile %q, %v; work ran: %v", data, err, worked.Load())
	}
	if err := fetchProfile(context.Background(), srv.URL+"/nothing", path, 1); err == nil || !strings.Contains(err.Error(), "404 Not Found (is /debug/pprof served?)") {
		t.Errorf("missing pprof: %v", err)
	}
}

func TestCommas(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -25000: "-25,000"} {
		if got := commas(v); got != want {
			t.Errorf("commas(%v) = %q, want %q", v, got, want)
		}
	}
}
