package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The compatibility test replays, against the real skald binary, the
// requests behind the real Loki 3.7.6 answers in testdata/loki-samples and
// compares Skald's answers with Loki's: status and headers exactly, JSON
// bodies by structure and value, error texts byte for byte.
//
// Loki answered after push-body.json was pushed at push-time.txt. The test
// pushes the same body with every timestamp moved by shift seconds, so the
// data is recent, sends every request with its times moved the same way,
// and moves the times of Skald's answers back before comparing. shift is a
// multiple of 300 s so that times Loki aligned to a step of 60 s or 5 m stay
// aligned. The moments of the capture, in Loki's time:
//
//	lokiPushTime        the push of push-body.json; its entries are 30 s to 5 s older
//	lokiPushTime+6..10  the successful queries (query_range-*, labels, series, ...)
//	lokiBadTime         the bad-input cases of errors/ (pushed entries carry this time)
//	lokiBadTime+1       Loki's clock when it checked those entries
//	after /flush        *-after-flush*, index-volume-aggregateBy-labels, -targetLabels-app

const samplesDir = "testdata/loki-samples"

const (
	lokiPushTime = 1795448496 // push-time.txt
	lokiBadTime  = 1795448545 // the timestamp of the entries pushed by errors/push-*
)

// compatCase is one request Loki answered and how Skald's answer is
// compared with Loki's.
type compatCase struct {
	sample  string // Loki's body, relative to samplesDir
	headers string // Loki's status line and headers; "" = the sample's own .headers

	method      string
	path        string
	params      url.Values // query string
	form        url.Values // urlencoded POST body
	body        []byte     // raw request body (pushes)
	contentType string
	encoding    string
	flags       string // X-Loki-Response-Encoding-Flags

	compare compareMode
	// Paths (dot-separated, * for any key or index) excluded from the value
	// comparison: each compared by keys and types only. Every entry says
	// why in a comment.
	shapeOnly []string
	// Arrays whose order Loki does not define: compared as sets.
	unordered []string
	// Values where Skald knowingly answers otherwise than Loki: path →
	// Skald's value (JSON), compared instead of Loki's. Every entry says
	// why in a comment.
	skaldValue map[string]string
	// wantText rewrites Loki's error text for times that follow the
	// server's clock (instead of the shifted data); it gets the moments
	// before and after the request and returns the texts to accept.
	wantText func(lokiBody string, before, after time.Time) []string
}

// compareMode says how bodies are compared. By default Loki's answer
// decides: an empty body must stay empty, a JSON body (Content-Type
// application/json) is compared by structure and values, any other body
// byte for byte after moving its times.
type compareMode int

const (
	compareAuto   compareMode = iota
	compareStatus             // status and headers only: the text comes from Loki's JSON library
)

func TestLokiCompatibility(t *testing.T) {
	samples := loadSamples(t)
	p := start(t, t.TempDir())

	shift := time.Now().Unix() - (lokiBadTime + 1)
	shift -= shift % 300
	transport := &http.Transport{DisableCompression: true}
	t.Cleanup(transport.CloseIdleConnections)
	c := &compat{t: t, p: p, shift: shift, samples: samples, used: map[string]bool{}, client: &http.Client{Transport: transport}}
	if pt := strings.TrimSpace(string(c.sample("push-time.txt"))); pt != strconv.Itoa(lokiPushTime) {
		t.Fatalf("push-time.txt says %s, the test assumes %d", pt, lokiPushTime)
	}

	// The data: push-body.json, moved in time.
	c.run(compatCase{sample: "push-response.body", path: "/loki/api/v1/push",
		body: c.shiftPushBody(c.sample("push-body.json")), contentType: "application/json"})

	ts := c.ts
	window := func(v url.Values) url.Values { // the hour before the queries
		v.Set("start", ts(lokiPushTime-3600))
		v.Set("end", ts(lokiPushTime+8))
		return v
	}
	smoke := `{job="smoke"}`
	stats := []string{"data.stats"} // timings and counters differ by nature: keys and types only
	// Loki's volume is the uncompressed size of the ingester's chunks:
	// lines and structured metadata (362 bytes); Skald's is the bytes of
	// the lines (207).
	volumeBytes := map[string]string{"data.result.0.value.1": strconv.Quote(strconv.Itoa(c.lineBytes()))}
	c.volumeBytes = volumeBytes

	for _, tc := range []compatCase{
		{sample: "query_range-streams.json", params: window(url.Values{"query": {smoke}})},
		{sample: "query_range-streams-forward.json", params: window(url.Values{"query": {smoke + ` |= "orders"`}, "direction": {"forward"}})},
		{sample: "query_range-json-parser.json", params: window(url.Values{"query": {smoke + ` | json | dur_ms > 200`}})},
		{sample: "query_range-streams-categorize-labels.json", headers: "query_range-streams.headers",
			params: window(url.Values{"query": {smoke}}), flags: "categorize-labels"},
		{sample: "query_range-streams-limit3.json", headers: "query_range-streams.headers",
			params: window(url.Values{"query": {smoke}, "limit": {"3"}})},
		// Loki's frontend rounds start down and end up to a multiple of the
		// step: the single point is at 15:42:00, after the end.
		{sample: "query_range-matrix.json",
			params: window(url.Values{"query": {`sum by (level) (count_over_time(` + smoke + `[5m]))`}, "step": {"60"}})},
		{sample: "query_range-matrix-rate.json", headers: "query_range-matrix.headers",
			params: window(url.Values{"query": {`rate(` + smoke + `[5m])`}, "step": {"300"}})},
		{sample: "query-instant-vector.json", path: "/loki/api/v1/query",
			params: url.Values{"query": {`sum by (app) (count_over_time(` + smoke + `[5m]))`}, "time": {ts(lokiPushTime + 60)}}},
		{sample: "query-scalar.json", headers: "query-instant-vector.headers", path: "/loki/api/v1/query",
			params: url.Values{"query": {`1+1`}},
			// Loki answers a scalar with a constant, meaningless time
			// (6115704501173); Skald answers the evaluation time.
			shapeOnly: append([]string{"data.result.0"}, stats...)},
		{sample: "query-scalar-vector.json", headers: "query-instant-vector.headers", path: "/loki/api/v1/query",
			params: url.Values{"query": {`vector(1)+1`}, "time": {ts(1795449874) + ".663"}}},
		{sample: "labels.json", path: "/loki/api/v1/labels", params: window(url.Values{})},
		{sample: "labels-nostart.json", path: "/loki/api/v1/labels"},
		{sample: "label-values-app.json", path: "/loki/api/v1/label/app/values", params: window(url.Values{})},
		{sample: "label-values-with-query.json", path: "/loki/api/v1/label/app/values",
			params: window(url.Values{"query": {`{level="error"}`}})},
		// Loki's series come in the order of its fingerprints.
		{sample: "series.json", path: "/loki/api/v1/series", params: window(url.Values{"match[]": {smoke}}),
			unordered: []string{"data"}},
		{sample: "index-stats.json", path: "/loki/api/v1/index/stats", params: window(url.Values{"query": {smoke}})},
		{sample: "index-volume.json", path: "/loki/api/v1/index/volume",
			params:     url.Values{"query": {smoke}, "start": {ts(lokiPushTime - 3600)}, "end": {ts(lokiPushTime + 60)}},
			skaldValue: volumeBytes},
		// One step of 60 s holds the data: a vector at the step's last ms.
		{sample: "index-volume-range.json", path: "/loki/api/v1/index/volume_range",
			params:     url.Values{"query": {smoke}, "start": {ts(lokiPushTime - 3600)}, "end": {ts(lokiPushTime + 60)}, "step": {"60"}},
			skaldValue: volumeBytes},
		{sample: "detected-labels.json", path: "/loki/api/v1/detected_labels", params: window(url.Values{"query": {smoke}})},
		// Loki lists the fields in the order of a Go map.
		{sample: "detected-fields.json", path: "/loki/api/v1/detected_fields", params: window(url.Values{"query": {`{app="worker"}`}}),
			unordered: []string{"fields"}},
		// The build is Skald's own.
		{sample: "buildinfo.json", path: "/loki/api/v1/status/buildinfo", shapeOnly: []string{""}},
	} {
		if tc.shapeOnly == nil {
			tc.shapeOnly = stats
		}
		c.run(tc)
	}
	c.logcli()
	c.badInput()
	c.ready()

	// After a flush: Loki's index stats count flushed chunks.
	if code, body := p.do(http.MethodPost, "/flush", "", "", nil); code != http.StatusNoContent {
		t.Fatalf("flush: %d %s", code, body)
	}
	// TSDB keeps a chunk's size in KiB, rounded down: Loki reports 0 bytes
	// for these small chunks, Skald their lines' size; Loki's order (by
	// value, then name) follows from the zeros.
	volumeAfterFlush := []string{"data.result.*.value.1", "data.stats"}
	for _, tc := range []compatCase{
		{sample: "index-stats-after-flush.json", headers: "index-stats.headers", path: "/loki/api/v1/index/stats",
			params: window(url.Values{"query": {smoke}}), shapeOnly: []string{"bytes"}},
		{sample: "index-stats-after-flush-api.json", headers: "index-stats.headers", path: "/loki/api/v1/index/stats",
			params: window(url.Values{"query": {`{app="api"}`}}), shapeOnly: []string{"bytes"}},
		{sample: "query_range-streams-after-flush.json", headers: "query_range-streams.headers",
			params: window(url.Values{"query": {smoke}}), shapeOnly: stats},
		{sample: "index-volume-aggregateBy-labels.json", headers: "index-volume.headers", path: "/loki/api/v1/index/volume",
			params:    url.Values{"query": {smoke}, "aggregateBy": {"labels"}, "start": {ts(1795449096 - 3600)}, "end": {ts(1795449096)}},
			shapeOnly: volumeAfterFlush, unordered: []string{"data.result"}},
		{sample: "index-volume-targetLabels-app.json", headers: "index-volume.headers", path: "/loki/api/v1/index/volume",
			params:    url.Values{"query": {smoke}, "targetLabels": {"app"}, "start": {ts(1795449096 - 3600)}, "end": {ts(1795449096)}},
			shapeOnly: volumeAfterFlush, unordered: []string{"data.result"}},
	} {
		c.run(tc)
	}
	c.tail()
	c.checkAllUsed()
}

// notReplayed are the sample files the test does not replay, and why.
// (testdata/loki-samples/README.md lists the files of the shared reference
// set that were not copied.)
var notReplayed = map[string]string{
	"README.md": "describes the samples",
}

// compat runs the cases against one skald.
type compat struct {
	t       *testing.T
	p       *proc
	shift   int64 // seconds added to Loki's times
	samples map[string][]byte
	used    map[string]bool
	// client asks for no compression, as curl did for the samples, and
	// leaves the answer's headers as they came.
	client *http.Client

	volumeBytes map[string]string // Skald's volume of the data where Loki's differs
}

// lineBytes is the size of the lines of push-body.json.
func (c *compat) lineBytes() int {
	var body struct {
		Streams []struct {
			Values [][]any `json:"values"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(c.sample("push-body.json"), &body); err != nil {
		c.t.Fatal(err)
	}
	n := 0
	for _, s := range body.Streams {
		for _, v := range s.Values {
			n += len(v[1].(string))
		}
	}
	return n
}

// ts moves a Unix time in seconds of Loki's capture to the test's.
func (c *compat) ts(lokiSeconds int64) string {
	return strconv.FormatInt(lokiSeconds+c.shift, 10)
}

func (c *compat) sample(name string) []byte {
	c.t.Helper()
	b, ok := c.samples[name]
	if !ok {
		c.t.Fatalf("no sample %s", name)
	}
	c.used[name] = true
	return b
}

// run sends tc's request and compares the answer with Loki's.
func (c *compat) run(tc compatCase) {
	t := c.t
	t.Helper()
	name := strings.TrimSuffix(strings.TrimSuffix(tc.sample, ".json"), ".body")
	t.Run(name, func(t *testing.T) {
		t.Helper()
		if tc.method == "" {
			tc.method = http.MethodGet
			if tc.form != nil || tc.body != nil {
				tc.method = http.MethodPost
			}
		}
		if tc.path == "" {
			tc.path = "/loki/api/v1/query_range"
		}
		wantStatus, wantHeader := c.lokiHeaders(tc, name)
		lokiBody := c.sample(tc.sample)

		before := time.Now()
		status, header, body := c.request(tc)
		after := time.Now()

		if status != wantStatus {
			t.Errorf("status %d, Loki %d; body %q", status, wantStatus, truncateBody(body))
		}
		compareHeaders(t, header, wantHeader)
		switch {
		case tc.compare == compareStatus:
			if len(body) == 0 {
				t.Error("empty error body")
			}
		case len(lokiBody) == 0:
			if len(body) != 0 {
				t.Errorf("body %q, Loki none", body)
			}
		case !strings.HasPrefix(wantHeader.Get("Content-Type"), "application/json"):
			want := []string{c.shiftText(string(lokiBody))}
			if tc.wantText != nil {
				want = tc.wantText(string(lokiBody), before, after)
			}
			if !slices.Contains(want, string(body)) {
				t.Errorf("body\n%q\nLoki\n%q", body, want[0])
			}
		default:
			if bytes.HasSuffix(body, []byte("\n")) != bytes.HasSuffix(lokiBody, []byte("\n")) {
				t.Errorf("trailing newline differs: %q, Loki %q", lastBytes(body), lastBytes(lokiBody))
			}
			d := differ{shift: c.shift, shapeOnly: tc.shapeOnly, unordered: tc.unordered, skaldValue: tc.skaldValue}
			d.compareBodies(body, lokiBody)
			for _, e := range d.errs {
				t.Error(e)
			}
			if t.Failed() {
				t.Logf("Skald: %s", truncateBody(body))
			}
		}
	})
}

// request sends tc's request, times moved, and returns the answer.
func (c *compat) request(tc compatCase) (int, http.Header, []byte) {
	c.t.Helper()
	target := c.p.addr + tc.path
	if len(tc.params) > 0 {
		target += "?" + tc.params.Encode()
	}
	body := tc.body
	if tc.form != nil {
		body = []byte(tc.form.Encode())
		tc.contentType = "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequest(tc.method, target, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if tc.contentType != "" {
		req.Header.Set("Content-Type", tc.contentType)
	}
	if tc.encoding != "" {
		req.Header.Set("Content-Encoding", tc.encoding)
	}
	if tc.flags != "" {
		req.Header.Set("X-Loki-Response-Encoding-Flags", tc.flags)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// lokiHeaders returns Loki's status and headers for tc.
func (c *compat) lokiHeaders(tc compatCase, name string) (int, http.Header) {
	c.t.Helper()
	file := tc.headers
	if file == "" {
		file = name + ".headers"
	}
	return parseHeaders(c.t, c.sample(file))
}

// comparedHeaders are the headers a client acts on; Date, Content-Length
// and Transfer-Encoding are transport details.
var comparedHeaders = []string{"Content-Type", "X-Content-Type-Options", "Content-Encoding"}

func compareHeaders(t *testing.T, got, want http.Header) {
	t.Helper()
	for _, h := range comparedHeaders {
		if g, w := got.Values(h), want.Values(h); !slices.Equal(g, w) {
			t.Errorf("header %s %q, Loki %q", h, g, w)
		}
	}
}

func parseHeaders(t *testing.T, b []byte) (int, http.Header) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() {
		t.Fatal("empty headers file")
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 2 {
		t.Fatalf("status line %q", sc.Text())
	}
	status, err := strconv.Atoi(fields[1])
	if err != nil {
		t.Fatalf("status line %q: %v", sc.Text(), err)
	}
	h := http.Header{}
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimRight(sc.Text(), "\r"), ": ")
		if ok {
			h.Add(k, v)
		}
	}
	return status, h
}

var rfc3339Second = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)

// shiftText moves the RFC 3339 times in a Loki error text.
func (c *compat) shiftText(s string) string {
	return rfc3339Second.ReplaceAllStringFunc(s, func(m string) string {
		tm, err := time.Parse(time.RFC3339, m)
		if err != nil {
			return m
		}
		return tm.Add(time.Duration(c.shift) * time.Second).UTC().Format(time.RFC3339)
	})
}

// shiftPushBody moves the timestamps of a JSON push body.
func (c *compat) shiftPushBody(b []byte) []byte {
	c.t.Helper()
	var body struct {
		Streams []struct {
			Stream map[string]string `json:"stream"`
			Values [][]any           `json:"values"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		c.t.Fatal(err)
	}
	for _, s := range body.Streams {
		for _, v := range s.Values {
			ns, err := strconv.ParseInt(v[0].(string), 10, 64)
			if err != nil {
				c.t.Fatal(err)
			}
			v[0] = strconv.FormatInt(ns+c.shift*int64(time.Second), 10)
		}
	}
	out, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func loadSamples(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(samplesDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(samplesDir, path)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkAllUsed fails when a sample file is neither compared nor listed in
// notReplayed, so a new sample cannot be forgotten.
func (c *compat) checkAllUsed() {
	for name := range c.samples {
		if _, skip := notReplayed[name]; skip || c.used[name] {
			continue
		}
		c.t.Errorf("sample %s is neither compared nor listed in notReplayed", name)
	}
}

func truncateBody(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

func lastBytes(b []byte) string {
	if len(b) > 10 {
		return string(b[len(b)-10:])
	}
	return string(b)
}

// gzipBytes compresses b.
func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ready compares /ready once started with the last answer of
// ready-timeline.txt. Loki answers 503 for about 15 s after it starts (its
// ingester waits before it joins the ring); Skald is ready as soon as it
// serves, so only the final answer is compared.
func (c *compat) ready() {
	c.t.Run("ready-timeline", func(t *testing.T) {
		var last string
		for l := range strings.SplitSeq(string(c.sample("ready-timeline.txt")), "\n") {
			if strings.HasSuffix(l, "[200]") {
				last = l
			}
		}
		_, rest, _ := strings.Cut(last, " ")
		want := strings.TrimSpace(strings.TrimSuffix(rest, "[200]"))
		code, body := c.p.get("/ready", nil)
		if code != http.StatusOK || strings.TrimSpace(string(body)) != want {
			t.Errorf("%d %q, Loki 200 %q", code, body, want)
		}
	})
}

// badInput replays the cases of errors/: bad pushes and queries, and the
// pushes and queries around them that Loki accepted.
func (c *compat) badInput() {
	ns := func(sec int64) string { return c.ts(sec) + "000000000" }
	rfc := func(sec int64) string { return time.Unix(sec+c.shift, 0).UTC().Format(time.RFC3339) }
	push := func(stream, values string) []byte {
		return []byte(`{"streams":[{"stream":` + stream + `,"values":[` + values + `]}]}`)
	}
	entry := func(sec int64, line string) string { return `["` + ns(sec) + `","` + line + `"]` }
	b := int64(lokiBadTime)
	window := func(v url.Values) url.Values {
		v.Set("start", c.ts(lokiPushTime-3600))
		v.Set("end", c.ts(b+60))
		return v
	}
	const day = 24 * 3600
	stats := []string{"data.stats"} // timings and counters differ by nature: keys and types only
	pushPath, jsonType := "/loki/api/v1/push", "application/json"
	tooOld := func(lokiBody string, before, after time.Time) []string {
		// Loki's oldest acceptable time is its clock less 7 days; the
		// clock is not shifted, so any second of the request is right.
		shifted := c.shiftText(lokiBody)
		i := strings.LastIndex(shifted, "is: ") + len("is: ")
		var out []string
		for s := before.Unix(); s <= after.Unix(); s++ {
			out = append(out, shifted[:i]+time.Unix(s-7*day, 0).UTC().Format(time.RFC3339)+"\n")
		}
		return out
	}
	postForm := window(url.Values{"query": {`{job="gz"}`}})
	for _, tc := range []compatCase{
		// The text of these three comes from Loki's JSON library (jsoniter):
		// Skald uses its own decoder and says what is wrong in its words.
		{sample: "errors/push-bad-json.body", body: []byte(`{"streams":[`), compare: compareStatus},
		{sample: "errors/push-bad-ts.body", body: push(`{"job":"e"}`, `["notanumber","x"]`), compare: compareStatus},
		{sample: "errors/push-numeric-ts.body", body: push(`{"job":"e"}`, `[`+ns(b)+`,"x"]`), compare: compareStatus},

		{sample: "errors/push-bad-labelname.body", body: push(`{"job-x":"e"}`, entry(b, "x"))},
		{sample: "errors/push-empty-labels.body", body: push(`{}`, entry(b, "x"))},
		{sample: "errors/push-empty-streams.body", body: []byte(`{"streams":[]}`)},
		{sample: "errors/push-get-method.body", method: http.MethodGet},
		{sample: "errors/push-gzip.body", body: gzipBytes(c.t, push(`{"job":"gz"}`, entry(b, "gzipped line"))),
			encoding: "gzip"},
		// Loki's v0 push shape; the request behind the sample is not known:
		// this one repeats the gzip push's entry, which is stored once.
		{sample: "errors/push-legacy-api.body", path: "/api/prom/push",
			body: []byte(`{"streams":[{"labels":"{job=\"gz\"}","entries":[{"ts":"` + rfc(b) + `","line":"gzipped line"}]}]}`),
		},
		// Loki reads any type but JSON as protobuf; a missing Content-Type
		// fails with "mime: no media type" (Loki's parseRequest), so the
		// sample's request had curl's default type for a body.
		{sample: "errors/push-no-content-type.body", body: push(`{"job":"e"}`, entry(b, "x")), contentType: "application/x-www-form-urlencoded"},
		{sample: "errors/push-out-of-order-same-stream.body", body: push(`{"job":"ooo"}`, entry(b, "b")+","+entry(b-5, "a"))},
		{sample: "errors/push-text-plain.body", body: push(`{"job":"e"}`, entry(b, "x")), contentType: "text/plain"},
		{sample: "errors/push-too-new.body", body: push(`{"job":"e"}`, entry(b+3600, "x"))},
		{sample: "errors/push-too-old.body", body: push(`{"job":"e"}`, entry(b-8*day, "x")), wantText: tooOld},

		{sample: "errors/query-bad-direction.body", params: url.Values{"query": {`{job="smoke"}`}, "direction": {"sideways"}}},
		{sample: "errors/query-bad-step.body", params: url.Values{"query": {`rate({job="smoke"}[1m])`}, "step": {"abc"}}},
		// Every push of job="e" was refused: nothing to find.
		{sample: "errors/query-defaults-noparams.body", params: url.Values{"query": {`{job="e"}`}}, shapeOnly: stats},
		{sample: "errors/query-empty-matcher.body", params: url.Values{"query": {`{job=~".*"}`}}},
		{sample: "errors/query-empty-selector.body", params: url.Values{"query": {`{}`}}},
		{sample: "errors/query-end-before-start.body",
			params: url.Values{"query": {`{job="smoke"}`}, "start": {c.ts(lokiPushTime)}, "end": {c.ts(lokiPushTime - 3600)}}},
		{sample: "errors/query-limit-too-big.body", params: url.Values{"query": {`{job="smoke"}`}, "limit": {"100000"}}},
		{sample: "errors/query-metric-on-instant-logs.body", path: "/loki/api/v1/query", params: url.Values{"query": {`{job="smoke"}`}}},
		{sample: "errors/query-missing-query.body"},
		{sample: "errors/query-parse-error.body", params: url.Values{"query": {`{job="smoke"`}}},
		{sample: "errors/query-rfc3339.body", shapeOnly: stats,
			params: url.Values{"query": {`{job="gz"}`}, "start": {rfc(b - 3600)}, "end": {rfc(b + 60)}}},
		{sample: "errors/query-seconds-float.body", shapeOnly: stats,
			params: url.Values{"query": {`{job="ooo"}`}, "start": {c.ts(b-3600) + ".5"}, "end": {c.ts(b+60) + ".5"}}},
		{sample: "errors/query-too-many-points.body",
			params: url.Values{"query": {`rate({job="smoke"}[1m])`}, "start": {"0"}, "end": {c.ts(lokiPushTime)}, "step": {"1"}}},
		{sample: "errors/query-unknown-service.body", shapeOnly: stats,
			params: window(url.Values{"query": {`{service_name="unknown_service"}`}})},
		{sample: "errors/query_range-post-form.body", form: postForm, shapeOnly: stats},
		// The same with the query in the URL and the times in the body.
		{sample: "errors/query_range-post-form2.body", headers: "errors/query_range-post-form.headers",
			params: url.Values{"query": {`{job="gz"}`}}, form: url.Values{"start": postForm["start"], "end": postForm["end"]},
			shapeOnly: stats},
		{sample: "errors/series-bad-match.body", path: "/loki/api/v1/series", params: url.Values{"match[]": {"foo"}}},
		// Loki's series come in the order of its fingerprints.
		{sample: "errors/series-no-match.body", path: "/loki/api/v1/series", unordered: []string{"data"}},
		{sample: "errors/labels-empty-range.body", path: "/loki/api/v1/labels", params: url.Values{"start": {"0"}, "end": {"1000000000"}}},
		{sample: "errors/label-values-unknown.body", path: "/loki/api/v1/label/nosuch/values"},
		{sample: "errors/unknown-endpoint.body", path: "/loki/api/v1/nosuch"},
	} {
		if strings.HasPrefix(tc.sample, "errors/push-") {
			if tc.path == "" {
				tc.path = pushPath
			}
			if tc.contentType == "" && tc.body != nil {
				tc.contentType = jsonType
			}
		}
		c.run(tc)
	}
}

// differ compares a JSON answer of Skald with Loki's: the same keys, the
// same types, the same array lengths and the same values, with the times
// of Skald's answer moved back by shift.
type differ struct {
	shift      int64 // seconds
	shapeOnly  []string
	unordered  []string
	skaldValue map[string]string
	errs       []string
}

func (d *differ) compareBodies(got, want []byte) {
	g, err := decodeJSON(got)
	if err != nil {
		d.errs = append(d.errs, fmt.Sprintf("Skald's body is not JSON: %v", err))
		return
	}
	w, err := decodeJSON(want)
	if err != nil {
		d.errs = append(d.errs, fmt.Sprintf("Loki's body is not JSON: %v", err))
		return
	}
	d.compare(nil, g, w)
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

func (d *differ) errorf(path []string, format string, args ...any) {
	d.errs = append(d.errs, fmt.Sprintf("%s: ", pathString(path))+fmt.Sprintf(format, args...))
}

func pathString(path []string) string {
	if len(path) == 0 {
		return "(root)"
	}
	return strings.Join(path, ".")
}

func (d *differ) compare(path []string, got, want any) {
	if matchAny(d.shapeOnly, path) {
		d.compareShape(path, got, want)
		return
	}
	if isTimestamp(path) {
		got = d.unshift(path, got)
	}
	if v, ok := d.skaldValue[pathString(path)]; ok {
		var err error
		if want, err = decodeJSON([]byte(v)); err != nil {
			d.errorf(path, "Skald's value %s: %v", v, err)
			return
		}
	}
	if gt, wt := jsonType(got), jsonType(want); gt != wt {
		d.errorf(path, "%s %s, Loki %s %s", gt, short(got), wt, short(want))
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		if !d.sameKeys(path, g, w) {
			return
		}
		for _, k := range sortedKeys(w) {
			d.compare(append(path, k), g[k], w[k])
		}
	case []any:
		g := got.([]any)
		if len(g) != len(w) {
			d.errorf(path, "%d elements %s, Loki %d %s", len(g), short(g), len(w), short(w))
			return
		}
		if matchAny(d.unordered, path) {
			g, w = canonicalOrder(g), canonicalOrder(w)
		}
		for i := range w {
			d.compare(append(path, strconv.Itoa(i)), g[i], w[i])
		}
	default:
		if got != want {
			d.errorf(path, "%s, Loki %s", short(got), short(want))
		}
	}
}

// compareShape compares keys, types and array lengths, not values.
func (d *differ) compareShape(path []string, got, want any) {
	if gt, wt := jsonType(got), jsonType(want); gt != wt {
		d.errorf(path, "%s, Loki %s", gt, wt)
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		if !d.sameKeys(path, g, w) {
			return
		}
		for _, k := range sortedKeys(w) {
			d.compareShape(append(path, k), g[k], w[k])
		}
	case []any:
		g := got.([]any)
		if len(g) != len(w) {
			d.errorf(path, "%d elements, Loki %d", len(g), len(w))
			return
		}
		for i := range w {
			d.compareShape(append(path, strconv.Itoa(i)), g[i], w[i])
		}
	}
}

func (d *differ) sameKeys(path []string, got, want map[string]any) bool {
	var missing, extra []string
	for k := range want {
		if _, ok := got[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && skaldOnlyKeys[pathString(path)] != k {
			extra = append(extra, k)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		sort.Strings(missing)
		sort.Strings(extra)
		d.errorf(path, "keys missing %q, extra %q", missing, extra)
		return false
	}
	return true
}

// skaldOnlyKeys are keys Skald writes where Loki leaves them out, by the
// path of their object.
var skaldOnlyKeys = map[string]string{
	// Loki writes recvWaitTime only when the query reached an ingester
	// (not for literal queries like 1+1, nor for volumes); Skald always
	// writes 0: its querier does not count the ingesters a query reached
	// (logql.Stats.IngestersReached stays 0), so the encoder cannot tell.
	"data.stats.ingester": "recvWaitTime",
}

// isTimestamp reports whether path is the time of a stream entry
// (…values.N.0), of a matrix sample (…values.N.0) or of a vector sample
// (…value.0).
func isTimestamp(path []string) bool {
	n := len(path)
	return n >= 3 && path[n-3] == "values" && path[n-1] == "0" ||
		n >= 2 && path[n-2] == "value" && path[n-1] == "0"
}

// unshift moves a time of Skald's answer back to Loki's: a string of
// nanoseconds or a number of seconds with up to three decimals.
func (d *differ) unshift(path []string, v any) any {
	switch v := v.(type) {
	case string:
		ns, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			d.errorf(path, "time %q: %v", v, err)
			return v
		}
		return strconv.FormatInt(ns-d.shift*int64(time.Second), 10)
	case json.Number:
		ms, err := parseMillis(string(v))
		if err != nil {
			d.errorf(path, "time %s: %v", v, err)
			return v
		}
		return json.Number(formatMillis(ms - d.shift*1000))
	}
	return v
}

// parseMillis reads seconds with at most three decimals as milliseconds.
func parseMillis(s string) (int64, error) {
	sec, frac, _ := strings.Cut(s, ".")
	if len(frac) > 3 {
		return 0, fmt.Errorf("more than millisecond precision")
	}
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, err
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt((frac + "00")[:3], 10, 64); err != nil {
			return 0, err
		}
	}
	return n*1000 + f, nil
}

// formatMillis writes milliseconds as Loki writes sample times: seconds,
// with the decimals that are not zero.
func formatMillis(ms int64) string {
	s := strconv.FormatInt(ms/1000, 10)
	if f := ms % 1000; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%03d", f), "0")
	}
	return s
}

func matchAny(patterns, path []string) bool {
	for _, p := range patterns {
		if matchPath(p, path) {
			return true
		}
	}
	return false
}

func matchPath(pattern string, path []string) bool {
	if pattern == "" {
		return len(path) == 0
	}
	segs := strings.Split(pattern, ".")
	if len(segs) != len(path) {
		return false
	}
	for i, s := range segs {
		if s != "*" && s != path[i] {
			return false
		}
	}
	return true
}

func canonicalOrder(vs []any) []any {
	out := slices.Clone(vs)
	key := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// logcli replays the requests logcli logged (the URL on the first line of
// each logcli-*.txt, with its times moved) and compares Skald's answer
// with what logcli printed of Loki's.
func (c *compat) logcli() {
	t := c.t
	// Printed as JSON: data.result.
	for _, name := range []string{"logcli-instant.txt", "logcli-metric.txt", "logcli-volume.txt"} {
		t.Run(strings.TrimSuffix(name, ".txt"), func(t *testing.T) {
			text := string(c.sample(name))
			path, params := c.logcliRequest(t, text)
			_, printed, _ := strings.Cut(text, "\n")
			var r struct {
				Data struct {
					Result json.RawMessage `json:"result"`
				} `json:"data"`
			}
			c.getJSON(t, path, params, &r)
			d := differ{shift: c.shift}
			if name == "logcli-volume.txt" {
				d.skaldValue = map[string]string{"0.value.1": c.volumeBytes["data.result.0.value.1"]}
			}
			d.compareBodies(r.Data.Result, []byte(printed))
			for _, e := range d.errs {
				t.Error(e)
			}
		})
	}
	// Printed one per line: data.
	for _, name := range []string{"logcli-labels.txt", "logcli-label-app.txt", "logcli-series.txt"} {
		t.Run(strings.TrimSuffix(name, ".txt"), func(t *testing.T) {
			text := string(c.sample(name))
			path, params := c.logcliRequest(t, text)
			_, printed, _ := strings.Cut(text, "\n")
			var r struct {
				Data []json.RawMessage `json:"data"`
			}
			c.getJSON(t, path, params, &r)
			var got []string
			for _, v := range r.Data {
				var s string
				if json.Unmarshal(v, &s) == nil {
					got = append(got, s)
					continue
				}
				var m map[string]string
				if err := json.Unmarshal(v, &m); err != nil {
					t.Fatalf("%s: %v", v, err)
				}
				got = append(got, labelString(m, nil))
			}
			want := strings.Split(strings.TrimSpace(printed), "\n")
			if strings.Contains(name, "series") {
				// Loki's series come in the order of its fingerprints.
				sort.Strings(got)
				sort.Strings(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("got\n%s\nLoki\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
	// logcli series --analyze-labels: counts over the series answer.
	t.Run("logcli-series-analyze", func(t *testing.T) {
		text := string(c.sample("logcli-series-analyze.txt"))
		path, params := c.logcliRequest(t, text)
		var r struct {
			Data []map[string]string `json:"data"`
		}
		c.getJSON(t, path, params, &r)
		values, streams := map[string]map[string]bool{}, map[string]int{}
		for _, s := range r.Data {
			for k, v := range s {
				if values[k] == nil {
					values[k] = map[string]bool{}
				}
				values[k][v] = true
				streams[k]++
			}
		}
		got := []string{fmt.Sprintf("Total Streams: %d", len(r.Data)), fmt.Sprintf("Unique Labels: %d", len(values))}
		for k, vs := range values {
			got = append(got, fmt.Sprintf("%s %d %d", k, len(vs), streams[k]))
		}
		var want []string
		for _, l := range strings.Split(strings.TrimSpace(text), "\n")[1:] {
			if f := strings.Fields(l); len(f) > 0 && f[0] != "Label" {
				want = append(want, strings.Join(f, " "))
			}
		}
		// logcli orders labels with equal counts as it meets them.
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("got\n%s\nLoki\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("logcli-stats", func(t *testing.T) {
		text := string(c.sample("logcli-stats.txt"))
		path, params := c.logcliRequest(t, text)
		var r map[string]int64
		c.getJSON(t, path, params, &r)
		got := fmt.Sprintf("bytes: %dB chunks: %d streams: %d entries: %d", r["bytes"], r["chunks"], r["streams"], r["entries"])
		_, printed, _ := strings.Cut(text, "\n")
		if want := strings.Join(strings.Fields(strings.Trim(strings.TrimSpace(printed), "{}")), " "); got != want {
			t.Errorf("got %s, Loki %s", got, want)
		}
	})
	// logcli query: the first request of logcli-query.stderr; logcli prints
	// each entry with its labels less those common to all streams.
	t.Run("logcli-query", func(t *testing.T) {
		path, params := c.logcliRequest(t, string(c.sample("logcli-query.stderr")))
		c.compareLogcliLines(t, path, params, string(c.sample("logcli-query.txt")))
	})
	// logcli query --output=jsonl: the request was not logged. The one
	// entry it printed is the only one of the data with "500" in it.
	t.Run("logcli-query-jsonl", func(t *testing.T) {
		var printed struct {
			Labels    map[string]string `json:"labels"`
			Line      string            `json:"line"`
			Timestamp time.Time         `json:"timestamp"`
		}
		if err := json.Unmarshal(c.sample("logcli-query-jsonl.txt"), &printed); err != nil {
			t.Fatal(err)
		}
		params := url.Values{"query": {`{job="smoke"} |= "500"`}, "limit": {"30"}, "direction": {"BACKWARD"},
			"start": {c.ts(lokiPushTime - 3600)}, "end": {c.ts(lokiPushTime + 60)}}
		want := fmt.Sprintf("%s {} %s", printed.Timestamp.UTC().Format(time.RFC3339), printed.Line)
		c.compareLogcliLines(t, "/loki/api/v1/query_range", params, want)
	})
}

// logcliRequest reads the URL logcli logged on the first line of text and
// moves its times (nanoseconds).
func (c *compat) logcliRequest(t *testing.T, text string) (string, url.Values) {
	t.Helper()
	first, _, _ := strings.Cut(text, "\n")
	i := strings.Index(first, "http://")
	if i < 0 {
		t.Fatalf("no URL in %q", first)
	}
	u, err := url.Parse(first[i:])
	if err != nil {
		t.Fatal(err)
	}
	params := u.Query()
	for _, k := range []string{"start", "end", "time"} {
		if v := params.Get(k); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("%s=%s: %v", k, v, err)
			}
			params.Set(k, strconv.FormatInt(n+c.shift*int64(time.Second), 10))
		}
	}
	return u.Path, params
}

func (c *compat) getJSON(t *testing.T, path string, params url.Values, v any) {
	t.Helper()
	code, body := c.p.get(path, params)
	if code != http.StatusOK {
		t.Fatalf("%s: %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
}

// compareLogcliLines runs a log query and prints its entries as logcli
// does (time, labels less the common ones, line; newest first), to
// compare with logcli's output of Loki's answer.
func (c *compat) compareLogcliLines(t *testing.T, path string, params url.Values, printed string) {
	t.Helper()
	var r streamsResponse
	c.getJSON(t, path, params, &r)
	common := map[string]string{}
	for i, s := range r.Data.Result {
		for k, v := range s.Stream {
			if i == 0 {
				common[k] = v
			}
		}
		for k, v := range common {
			if s.Stream[k] != v {
				delete(common, k)
			}
		}
	}
	type out struct {
		ns   int64
		text string
	}
	var got []out
	for _, s := range r.Data.Result {
		ls := labelString(s.Stream, common)
		for _, v := range s.Values {
			ns, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			ns -= c.shift * int64(time.Second)
			got = append(got, out{ns, time.Unix(0, ns).UTC().Format(time.RFC3339) + " " + ls + " " + v[1]})
		}
	}
	sort.SliceStable(got, func(i, j int) bool { return got[i].ns > got[j].ns })
	var want []string
	for l := range strings.SplitSeq(strings.TrimSpace(printed), "\n") {
		// logcli pads the labels to one width.
		ts, rest, _ := strings.Cut(l, " ")
		end := strings.Index(rest, "} ")
		want = append(want, ts+" "+rest[:end+1]+" "+strings.TrimLeft(rest[end+2:], " "))
	}
	if len(got) != len(want) {
		t.Errorf("%d entries, Loki %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i].text != want[i] {
			t.Errorf("entry %d\n%s\nLoki\n%s", i, got[i].text, want[i])
		}
	}
}

// labelString writes labels as logcli does, less those in omit.
func labelString(m, omit map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if _, ok := omit[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// tail compares a live tail with Loki's: tail-websocket-frames.txt holds
// the frames Loki sent to a tail of {job="app-tail"} (text frames, opcode=1,
// and pings). Its first frame has the six lines Promtail pushed within two
// seconds; while it tails, the test pushes them in one request once their
// times (moved) have passed, as a batching client does, and compares the
// entries Skald sends: the same labels, lines and times, in time order.
// Loki's second frame is not replayed: its two entries came about 20 s
// later from an unknown client and carry no detected_level, which Loki's
// push API adds to every entry.
func (c *compat) tail() {
	c.t.Run("tail-websocket-frames", func(t *testing.T) {
		texts, lokiKeys := tailFrames(t, c.sample("tail-websocket-frames.txt"))
		want := flattenFrames(t, texts[:1])
		last, _ := strconv.ParseInt(want[len(want)-1].Values[0][0].(string), 10, 64)
		// The tail's own shift (whole seconds) puts the last entry less
		// than a second in the past.
		shift := (time.Now().UnixNano() - last) / int64(time.Second)

		u := "ws" + strings.TrimPrefix(c.p.addr, "http") + "/loki/api/v1/tail?" + url.Values{"query": {`{job="app-tail"}`}}.Encode()
		conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer conn.Close()
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Errorf("handshake status %d, Loki 101", resp.StatusCode)
		}
		// The stream labels Promtail sent are those of the frames less
		// the ones Loki adds (service_name, detected_level).
		var streams []any
		for _, e := range want {
			labels := map[string]string{}
			for k, v := range e.Stream {
				if k != "service_name" && k != "detected_level" {
					labels[k] = v
				}
			}
			ns, _ := strconv.ParseInt(e.Values[0][0].(string), 10, 64)
			ns += shift * int64(time.Second)
			streams = append(streams, map[string]any{
				"stream": labels, "values": [][]string{{strconv.FormatInt(ns, 10), e.Values[0][1].(string)}},
			})
		}
		body, _ := json.Marshal(map[string]any{"streams": streams})
		if code, b := c.p.do(http.MethodPost, "/loki/api/v1/push", "application/json", "", body); code != http.StatusNoContent {
			t.Fatalf("push: %d %s", code, b)
		}
		if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		var got []tailEntry
		for len(got) < len(want) {
			typ, data, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("after %d of %d entries: %v", len(got), len(want), err)
			}
			if typ != websocket.TextMessage {
				t.Fatalf("message type %d, Loki sends text frames", typ)
			}
			var keys map[string]json.RawMessage
			if err := json.Unmarshal(data, &keys); err != nil {
				t.Fatalf("frame %s: %v", data, err)
			}
			for k := range keys {
				if !lokiKeys[k] {
					t.Errorf("frame key %q, Loki's frames have %v", k, lokiKeys)
				}
			}
			got = append(got, flattenFrames(t, [][]byte{data})...)
		}
		sort.SliceStable(got, func(i, j int) bool { return got[i].Values[0][0].(string) < got[j].Values[0][0].(string) })
		gb, _ := json.Marshal(map[string]any{"streams": got})
		wb, _ := json.Marshal(map[string]any{"streams": want})
		d := differ{shift: shift}
		d.compareBodies(gb, wb)
		for _, e := range d.errs {
			t.Error(e)
		}
	})
}

// tailEntry is one entry of a tail frame, as its own stream.
type tailEntry struct {
	Stream map[string]string `json:"stream"`
	Values [][]any           `json:"values"`
}

// tailFrames reads the text frames of tail-websocket-frames.txt (each
// "# opcode=1" line is followed by the frame) and the keys they use.
func tailFrames(t *testing.T, b []byte) (texts [][]byte, keys map[string]bool) {
	t.Helper()
	keys = map[string]bool{}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if l != "# opcode=1" || i+1 == len(lines) {
			continue
		}
		texts = append(texts, []byte(lines[i+1]))
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(lines[i+1]), &m); err != nil {
			t.Fatalf("Loki frame: %v", err)
		}
		for k := range m {
			keys[k] = true
		}
	}
	if len(texts) == 0 {
		t.Fatal("no text frames")
	}
	return texts, keys
}

// flattenFrames splits frames into one stream per entry.
func flattenFrames(t *testing.T, texts [][]byte) []tailEntry {
	t.Helper()
	var out []tailEntry
	for _, text := range texts {
		var m struct {
			Streams []tailEntry `json:"streams"`
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("frame %s: %v", text, err)
		}
		for _, s := range m.Streams {
			for _, v := range s.Values {
				out = append(out, tailEntry{Stream: s.Stream, Values: [][]any{v}})
			}
		}
	}
	return out
}
