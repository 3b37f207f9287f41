package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/validation"
)

func checkJSONResponse(t *testing.T, w interface {
	Result() *http.Response
}, wantStatus int) []byte {
	t.Helper()
	resp := w.Result()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("status %d, want %d; body %q", resp.StatusCode, wantStatus, truncate(string(body), 300))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	return body
}

func TestQueryRangeReachesEngine(t *testing.T) {
	tests := []struct {
		name   string
		method string
		target string
		body   string
		want   logql.Params
	}{
		{
			name:   "grafana explore",
			method: http.MethodGet,
			target: "/loki/api/v1/query_range?query=%7Bjob%3D%22smoke%22%7D&direction=backward&limit=1000&start=1795444896000000000&end=1795448496000000000&step=2000ms",
			want: logql.Params{Query: `{job="smoke"}`, Start: 1795444896e9, End: 1795448496e9, Step: 2e9, Limit: 1000,
				Direction: logproto.Backward},
		},
		{
			name:   "logcli",
			method: http.MethodGet,
			target: "/loki/api/v1/query_range?query=%7Bjob%3D%22smoke%22%7D&limit=30&start=1795444896000000000&end=1795448496000000000&direction=FORWARD&interval=0.5",
			want: logql.Params{Query: `{job="smoke"}`, Start: 1795444896e9, End: 1795448496e9, Step: 14e9, Interval: 5e8, Limit: 30,
				Direction: logproto.Forward},
		},
		{
			name:   "post form",
			method: http.MethodPost,
			target: "/loki/api/v1/query_range?limit=3",
			body:   "query=rate(%7Bjob%3D%22smoke%22%7D%5B1m%5D)&start=1795444896&end=1795448496&step=60",
			want:   logql.Params{Query: `rate({job="smoke"}[1m])`, Start: 1795444896e9, End: 1795448496e9, Step: 60e9, Limit: 3},
		},
		{
			name:   "defaults",
			method: http.MethodGet,
			target: "/loki/api/v1/query_range",
			want:   logql.Params{Start: testNow - int64(time.Hour), End: testNow, Step: 14e9, Limit: 100},
		},
		{
			name:   "instant health check",
			method: http.MethodGet,
			target: "/loki/api/v1/query?direction=backward&query=vector(1)%2Bvector(1)&time=4000000000",
			want:   logql.Params{Query: "vector(1)+vector(1)", Start: 4000000000e9, End: 4000000000e9, Limit: 100, Instant: true},
		},
		{
			name:   "instant post",
			method: http.MethodPost,
			target: "/loki/api/v1/query",
			body:   "query=sum(count_over_time(%7Ba%3D%22b%22%7D%5B5m%5D))&time=2026-11-23T15:00:00Z&limit=10",
			want: logql.Params{Query: `sum(count_over_time({a="b"}[5m]))`, Start: time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC).UnixNano(),
				End: time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC).UnixNano(), Limit: 10, Instant: true},
		},
		{
			name:   "metric query may ask for a big limit",
			method: http.MethodGet,
			target: "/loki/api/v1/query_range?query=count_over_time(%7Ba%3D%22b%22%7D%5B5m%5D)&limit=100000",
			want:   logql.Params{Query: `count_over_time({a="b"}[5m])`, Start: testNow - int64(time.Hour), End: testNow, Step: 14e9, Limit: 100000},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			var headers []string
			if tc.body != "" {
				headers = append(headers, "Content-Type: application/x-www-form-urlencoded")
			}
			w := f.request(tc.method, tc.target, strings.NewReader(tc.body), headers...)
			checkJSONResponse(t, w, http.StatusOK)
			if got := f.engine.last(t); got != tc.want {
				t.Errorf("params\n got %+v\nwant %+v", got, tc.want)
			}
			if f.engine.tenants[0] != "fake" {
				t.Errorf("tenant %q", f.engine.tenants[0])
			}
		})
	}
}

// Requests Loki refuses must fail with Loki's status and text (samples in
// testdata/loki-samples/errors), without reaching the engine.
func TestQueryRangeRejects(t *testing.T) {
	tests := []struct {
		target string
		sample string // errors/<sample>.body, .headers
	}{
		{"/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D&direction=sideways", "query-bad-direction"},
		{"/loki/api/v1/query_range?query=rate(%7Ba%3D%22b%22%7D%5B1m%5D)&step=abc", "query-bad-step"},
		{"/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D&start=1795448496&end=1795444896", "query-end-before-start"},
		{"/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D&limit=100000", "query-limit-too-big"},
		{"/loki/api/v1/query_range?query=rate(%7Ba%3D%22b%22%7D%5B1m%5D)&start=0&end=1795448496&step=1", "query-too-many-points"},
	}
	for _, tc := range tests {
		t.Run(tc.sample, func(t *testing.T) {
			f := newFixture(t, nil)
			w := f.request(http.MethodGet, tc.target, nil)
			checkLokiError(t, w.Result(), tc.sample)
			if len(f.engine.params) != 0 {
				t.Error("engine was called")
			}
		})
	}
}

// checkLokiError compares an error response with a Loki sample: status,
// Content-Type, nosniff and body.
func checkLokiError(t *testing.T, resp *http.Response, sample string) {
	t.Helper()
	wantStatus, wantHeaders := sampleHeaders(t, "errors/"+sample+".headers")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Errorf("status %d, Loki %d", resp.StatusCode, wantStatus)
	}
	for _, h := range []string{"Content-Type", "X-Content-Type-Options"} {
		if got, want := resp.Header.Get(h), wantHeaders.Get(h); got != want {
			t.Errorf("%s %q, Loki %q", h, got, want)
		}
	}
	if want := readSample(t, "errors/"+sample+".body"); !bytes.Equal(body, want) {
		t.Errorf("body %q, Loki %q", body, want)
	}
}

func TestQueryRangeLengthLimit(t *testing.T) {
	f := newFixture(t, nil)
	l := newDefaultLimits()
	l.MaxQueryLength = modelDuration(24 * time.Hour)
	f.api.deps.Limits = validation.NewOverrides(*l, nil)
	w := f.request(http.MethodGet, "/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D&start=0&end=172800&step=60", nil)
	if w.Code != http.StatusBadRequest || w.Body.String() != "the query time range exceeds the limit (query length: 48h0m0s, limit: 1d)" {
		t.Errorf("got %d %q", w.Code, w.Body.String())
	}
}

func TestQueryErrorsMapToStatus(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		status   int
		wantBody string
	}{
		{"bad request", fmt.Errorf("%w: log queries are not supported as an instant query type, please change your query to a range query type", logql.ErrBadRequest),
			400, "bad request: log queries are not supported as an instant query type, please change your query to a range query type"},
		{"invalid", fmt.Errorf("stream x: %w", validation.ErrInvalid), 400, "stream x: invalid push"},
		{"rate limited", fmt.Errorf("slow down: %w", validation.ErrRateLimited), 429, "slow down: rate limited"},
		{"timeout", fmt.Errorf("%w after 1m", logql.ErrTimeout), 504, "query timed out after 1m"},
		{"deadline", context.DeadlineExceeded, 504, msgDeadlineExceeded},
		{"wrapped deadline", fmt.Errorf("fetching chunks: %w", context.DeadlineExceeded), 504, "fetching chunks: context deadline exceeded"},
		{"canceled", context.Canceled, 499, msgClientCanceled},
		{"internal", errors.New("disk on fire"), 500, "disk on fire"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.engine.err = tc.err
			w := f.request(http.MethodGet, "/loki/api/v1/query?query=vector(1)", nil)
			if w.Code != tc.status || w.Body.String() != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body.String(), tc.status, tc.wantBody)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
		})
	}
}

func TestQueryStatsFromEngine(t *testing.T) {
	f := newFixture(t, nil)
	f.engine.res = logql.Result{Type: logql.ValueVector, Stats: logql.Stats{ExecTimeSeconds: 0.25, TotalBytesProcessed: 100}}
	body := checkJSONResponse(t, f.request(http.MethodGet, "/loki/api/v1/query?query=vector(1)", nil), http.StatusOK)
	var resp struct {
		Data struct {
			Stats struct {
				Summary map[string]float64 `json:"summary"`
			} `json:"stats"`
		} `json:"data"`
	}
	mustUnmarshal(t, body, &resp)
	if s := resp.Data.Stats.Summary; s["execTime"] != 0.25 || s["totalBytesProcessed"] != 100 || s["bytesProcessedPerSecond"] != 400 {
		t.Errorf("summary %v", s)
	}
}

func TestQueryCategorizeLabelsHeader(t *testing.T) {
	f := newFixture(t, nil)
	f.engine.res = logql.Result{Type: logql.ValueStreams, Streams: []logql.Stream{{
		Labels:  labels.FromStrings("app", "web"),
		Entries: []logproto.Entry{entry(1795448491000000000, "boom", "detected_level", "error")},
	}}}
	for _, tc := range []struct {
		headers []string
		want    string
	}{
		{nil, `"result":[{"stream":{"app":"web","detected_level":"error"},"values":[["1795448491000000000","boom"]]}]`},
		{[]string{"X-Loki-Response-Encoding-Flags: categorize-labels"},
			`"encodingFlags":["categorize-labels"],"result":[{"stream":{"app":"web"},"values":[["1795448491000000000","boom",{"structuredMetadata":{"detected_level":"error"}}]]}]`},
		{[]string{"X-Loki-Response-Encoding-Flags: other, categorize-labels"}, `"encodingFlags":["categorize-labels"]`},
		{[]string{"X-Loki-Response-Encoding-Flags: categorize-labelsX"}, `"result":[{"stream":{"app":"web","detected_level":"error"}`},
	} {
		w := f.request(http.MethodGet, "/loki/api/v1/query_range?query=%7Bapp%3D%22web%22%7D", nil, tc.headers...)
		body := checkJSONResponse(t, w, http.StatusOK)
		if !bytes.Contains(body, []byte(tc.want)) {
			t.Errorf("headers %v: body %s\nlacks %s", tc.headers, truncate(string(body), 300), tc.want)
		}
	}
}

func TestResponseHeadersMatchLoki(t *testing.T) {
	f := newFixture(t, nil)
	f.meta.labels = []string{"app"}
	for _, tc := range []struct {
		target, sample string
	}{
		{"/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D", "query_range-streams.headers"},
		{"/loki/api/v1/labels", "labels.headers"},
		{"/loki/api/v1/series", "series.headers"},
		{"/loki/api/v1/index/stats?query=%7Ba%3D%22b%22%7D", "index-stats.headers"},
		{"/loki/api/v1/status/buildinfo", "buildinfo.headers"},
	} {
		w := f.request(http.MethodGet, tc.target, nil)
		status, want := sampleHeaders(t, tc.sample)
		if w.Code != status || w.Header().Get("Content-Type") != want.Get("Content-Type") {
			t.Errorf("%s: %d %q, Loki %d %q", tc.target, w.Code, w.Header().Get("Content-Type"), status, want.Get("Content-Type"))
		}
	}
}

func TestGzipResponses(t *testing.T) {
	f := newFixture(t, nil)
	big := strings.Repeat("x", 2000)
	f.engine.res = logql.Result{Type: logql.ValueStreams, Streams: []logql.Stream{{
		Labels: labels.FromStrings("app", "web"), Entries: []logproto.Entry{entry(1, big)},
	}}, Stats: logql.Stats{ExecTimeSeconds: 0.1}} // timed by the engine: identical bodies
	target := "/loki/api/v1/query_range?query=%7Bapp%3D%22web%22%7D"

	plain := f.request(http.MethodGet, target, nil)
	if plain.Header().Get("Content-Encoding") != "" {
		t.Fatal("compressed without Accept-Encoding")
	}
	zipped := f.request(http.MethodGet, target, nil, "Accept-Encoding: gzip, deflate")
	if zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("not compressed: headers %v", zipped.Header())
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, plain.Body.Bytes()) {
		t.Error("gzipped body differs from the plain one")
	}
	if zipped.Header().Get("Content-Type") != "application/json; charset=UTF-8" || !strings.Contains(zipped.Header().Get("Vary"), "Accept-Encoding") {
		t.Errorf("headers %v", zipped.Header())
	}

	// Small bodies, refused codings and errors stay plain.
	f.meta.labels = []string{"app"}
	if w := f.request(http.MethodGet, "/loki/api/v1/labels", nil, "Accept-Encoding: gzip"); w.Header().Get("Content-Encoding") != "" ||
		w.Body.String() != "{\"status\":\"success\",\"data\":[\"app\"]}\n" {
		t.Errorf("small body: %v %q", w.Header(), w.Body.String())
	}
	if w := f.request(http.MethodGet, target, nil, "Accept-Encoding: gzip;q=0, identity"); w.Header().Get("Content-Encoding") != "" {
		t.Error("compressed although gzip;q=0")
	}
	f.engine.err = errors.New(big)
	if w := f.request(http.MethodGet, target, nil, "Accept-Encoding: gzip"); w.Header().Get("Content-Encoding") != "" || w.Body.String() != big {
		t.Error("error response compressed")
	}

	off := newFixture(t, func(c *Config) { c.CompressResponses = false })
	off.engine.res = f.engine.res
	if w := off.request(http.MethodGet, target, nil, "Accept-Encoding: gzip"); w.Header().Get("Content-Encoding") != "" {
		t.Error("compressed with CompressResponses off")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for v, want := range map[string]bool{
		"":                   false,
		"gzip":               true,
		"GZIP":               true,
		"deflate, gzip":      true,
		"br;q=1, gzip;q=0.5": true,
		"gzip;q=0":           false,
		"gzip; q=0.0":        false,
		"*":                  true,
		"identity":           false,
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		if v != "" {
			r.Header.Set("Accept-Encoding", v)
		}
		if got := acceptsGzip(r); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestMetadataRoutes(t *testing.T) {
	t.Run("labels", func(t *testing.T) {
		f := newFixture(t, nil)
		f.meta.labels = []string{"job", "app"} // unsorted: the API sorts
		for _, target := range []string{"/loki/api/v1/labels?start=1795444896&end=1795448496&query=%7Ba%3D%22b%22%7D", "/api/prom/label?start=1795444896&end=1795448496&query=%7Ba%3D%22b%22%7D"} {
			body := checkJSONResponse(t, f.request(http.MethodGet, target, nil), http.StatusOK)
			if string(body) != "{\"status\":\"success\",\"data\":[\"app\",\"job\"]}\n" {
				t.Errorf("%s: body %q", target, body)
			}
		}
		want := logproto.LabelRequest{Start: 1795444896e9, End: 1795448496e9, Query: `{a="b"}`}
		for _, got := range f.meta.labelReqs {
			if got != want {
				t.Errorf("request %+v, want %+v", got, want)
			}
		}
	})
	t.Run("label values", func(t *testing.T) {
		f := newFixture(t, nil)
		f.meta.labels = []string{"api", "worker"}
		body := checkJSONResponse(t, f.request(http.MethodPost, "/loki/api/v1/label/app/values", strings.NewReader("since=30m"),
			"Content-Type: application/x-www-form-urlencoded"), http.StatusOK)
		if !bytes.Equal(body, readSample(t, "label-values-app.json")) {
			t.Errorf("body %q", body)
		}
		want := logproto.LabelRequest{Name: "app", Start: testNow - int64(30*time.Minute), End: testNow}
		if f.meta.labelReqs[0] != want {
			t.Errorf("request %+v, want %+v", f.meta.labelReqs[0], want)
		}
		f.meta.labels = nil
		body = checkJSONResponse(t, f.request(http.MethodGet, "/api/prom/label/nope/values", nil), http.StatusOK)
		if !bytes.Equal(body, readSample(t, "errors/label-values-unknown.body")) {
			t.Errorf("empty values body %q", body)
		}
		if f.meta.labelReqs[1].Name != "nope" {
			t.Errorf("name %q", f.meta.labelReqs[1].Name)
		}
		// The mux cleans the path and redirects to a route that does not
		// exist; the empty name never reaches Metadata.
		if w := f.request(http.MethodGet, "/loki/api/v1/label//values", nil); w.Code/100 != 3 || len(f.meta.labelReqs) != 2 {
			t.Errorf("empty name: %d, %d metadata calls", w.Code, len(f.meta.labelReqs))
		}
	})
	t.Run("series", func(t *testing.T) {
		f := newFixture(t, nil)
		f.meta.series = []labels.Labels{labels.FromStrings("job", "gz", "service_name", "gz")}
		body := checkJSONResponse(t, f.request(http.MethodGet, `/loki/api/v1/series?match[]=%7Bjob%3D%22gz%22%7D&match=%7Bapp%3D%22x%22%7D&start=1795444896&end=1795448496`, nil), http.StatusOK)
		if string(body) != "{\"status\":\"success\",\"data\":[{\"job\":\"gz\",\"service_name\":\"gz\"}]}\n" {
			t.Errorf("body %q", body)
		}
		want := logproto.SeriesRequest{Start: 1795444896e9, End: 1795448496e9, Groups: []string{`{app="x"}`, `{job="gz"}`}}
		got := f.meta.seriesReq[0]
		if got.Start != want.Start || got.End != want.End || strings.Join(got.Groups, " ") != strings.Join(want.Groups, " ") {
			t.Errorf("request %+v, want %+v", got, want)
		}
		checkJSONResponse(t, f.request(http.MethodGet, "/api/prom/series?match[]=%7B%7D", nil), http.StatusOK)
		if g := f.meta.seriesReq[1].Groups; g != nil {
			t.Errorf("{} should mean no filter, got %q", g)
		}
		checkLokiError(t, f.request(http.MethodGet, "/loki/api/v1/series?match[]=job", nil).Result(), "series-bad-match")
		if len(f.meta.seriesReq) != 2 {
			t.Error("a selector that does not parse reached Metadata")
		}
	})
	t.Run("index stats", func(t *testing.T) {
		f := newFixture(t, nil)
		f.meta.stats = logproto.IndexStats{Streams: 5, Chunks: 5, Bytes: 1234, Entries: 7}
		body := checkJSONResponse(t, f.request(http.MethodGet, "/loki/api/v1/index/stats?query=%7Bjob%3D%22smoke%22%7D&start=1795444896&end=1795448496", nil), http.StatusOK)
		if string(body) != "{\"streams\":5,\"chunks\":5,\"bytes\":1234,\"entries\":7}\n" {
			t.Errorf("body %q", body)
		}
		want := logproto.IndexStatsRequest{Start: 1795444896e9, End: 1795448496e9, Query: `{job="smoke"}`}
		if f.meta.statsReqs[0] != want {
			t.Errorf("request %+v, want %+v", f.meta.statsReqs[0], want)
		}
	})
	t.Run("range checks", func(t *testing.T) {
		f := newFixture(t, nil)
		w := f.request(http.MethodGet, "/loki/api/v1/labels?start=0&end=1000000000", nil)
		checkLokiError(t, w.Result(), "labels-empty-range")
		for _, target := range []string{"/loki/api/v1/labels?start=20&end=10", "/loki/api/v1/series?start=20&end=10", "/loki/api/v1/label/a/values?start=20&end=10"} {
			if w := f.request(http.MethodGet, target, nil); w.Code != 400 || w.Body.String() != "end timestamp must not be before or equal to start time" {
				t.Errorf("%s: %d %q", target, w.Code, w.Body.String())
			}
		}
		if w := f.request(http.MethodGet, "/loki/api/v1/series?start=x", nil); w.Code != 400 ||
			w.Body.String() != `could not parse 'start' parameter: strconv.ParseInt: parsing "x": invalid syntax` {
			t.Errorf("bad start: %d %q", w.Code, w.Body.String())
		}
		if len(f.meta.labelReqs)+len(f.meta.seriesReq) != 0 {
			t.Error("metadata was called")
		}
	})
	t.Run("errors", func(t *testing.T) {
		f := newFixture(t, nil)
		f.meta.err = fmt.Errorf("%w: parse error at line 1, col 1: syntax error: unexpected IDENTIFIER", logql.ErrBadRequest)
		for _, target := range []string{"/loki/api/v1/labels", "/loki/api/v1/series?match=%7Ba%3D%22b%22%7D", "/loki/api/v1/index/stats?query=x"} {
			if w := f.request(http.MethodGet, target, nil); w.Code != 400 || !strings.Contains(w.Body.String(), "unexpected IDENTIFIER") {
				t.Errorf("%s: %d %q", target, w.Code, w.Body.String())
			}
		}
	})
}

func TestBadFormBody(t *testing.T) {
	f := newFixture(t, nil)
	w := f.request(http.MethodPost, "/loki/api/v1/query_range", strings.NewReader("query=%zz"), "Content-Type: application/x-www-form-urlencoded")
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid URL escape") {
		t.Errorf("got %d %q", w.Code, w.Body.String())
	}
}
