package api

import (
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUnknownPathIsLokis404(t *testing.T) {
	f := newFixture(t, nil)
	for _, target := range []string{"/nope", "/loki/api/v1/nope", "/loki/api/v1/push/extra", "/"} {
		checkLokiError(t, f.request(http.MethodGet, target, nil).Result(), "unknown-endpoint")
	}
}

func TestWrongMethodIs405(t *testing.T) {
	f := newFixture(t, nil)
	w := f.request(http.MethodGet, "/loki/api/v1/push", nil)
	status, want := sampleHeaders(t, "errors/push-get-method.headers")
	if w.Code != status || w.Body.Len() != 0 || w.Header().Get("Content-Type") != want.Get("Content-Type") {
		t.Errorf("GET push: %d %q %v, Loki %d with empty body", w.Code, w.Body.String(), w.Header(), status)
	}
	if got := w.Header().Get("Allow"); got != "POST" {
		t.Errorf("Allow %q", got)
	}
	for _, tc := range []struct{ method, target, allow string }{
		{http.MethodPost, "/ready", "GET, HEAD"},
		{http.MethodDelete, "/loki/api/v1/query_range", "GET, POST"},
		{http.MethodPut, "/loki/api/v1/label/app/values", "GET, POST"},
		{http.MethodPost, "/api/prom/label", "GET, HEAD"},
	} {
		w := f.request(tc.method, tc.target, nil)
		if w.Code != http.StatusMethodNotAllowed || w.Body.Len() != 0 || w.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d %q Allow %q", tc.method, tc.target, w.Code, w.Body.String(), w.Header().Get("Allow"))
		}
	}
}

func TestReady(t *testing.T) {
	f := newFixture(t, nil)
	w := f.request(http.MethodGet, "/ready", nil)
	if w.Code != 200 || w.Body.String() != "ready\n" || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("ready: %d %q %v", w.Code, w.Body.String(), w.Header())
	}
	if w := f.request(http.MethodHead, "/ready", nil); w.Code != 200 {
		t.Errorf("HEAD: %d", w.Code)
	}
	f.api = New(f.api.cfg, Deps{Readiness: fakeReadiness{errors.New("Ingester not ready: waiting for 15s after being ready")}}, nil, nil, nil)
	w = f.request(http.MethodGet, "/ready", nil)
	if w.Code != 503 || w.Body.String() != "Ingester not ready: waiting for 15s after being ready\n" {
		t.Errorf("not ready: %d %q", w.Code, w.Body.String())
	}
}

func TestBuildInfo(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Build = BuildInfo{Version: "3.7.6", Revision: "5003600d7c", Branch: "HEAD", BuildUser: "builder", BuildDate: "2026-11-23T15:22:09Z"}
	})
	w := f.request(http.MethodGet, "/loki/api/v1/status/buildinfo", nil)
	if got, want := w.Body.String(), string(readSample(t, "buildinfo.json")); got != want {
		t.Errorf("body %q\nLoki %q", got, want)
	}
}

func TestFlush(t *testing.T) {
	f := newFixture(t, nil)
	for _, m := range []string{http.MethodPost, http.MethodGet} {
		if w := f.request(m, "/flush", nil); w.Code != 204 || w.Body.Len() != 0 {
			t.Errorf("%s /flush: %d %q", m, w.Code, w.Body.String())
		}
	}
	if f.flusher.calls != 2 {
		t.Errorf("flusher called %d times", f.flusher.calls)
	}
	f.flusher.err = errors.New("store unavailable")
	if w := f.request(http.MethodPost, "/flush", nil); w.Code != 500 || w.Body.String() != "store unavailable" {
		t.Errorf("failed flush: %d %q", w.Code, w.Body.String())
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, nil)
	f.request(http.MethodGet, "/loki/api/v1/labels", nil)
	f.request(http.MethodGet, "/loki/api/v1/push", nil) // 405 is not instrumented
	w := f.request(http.MethodGet, "/metrics", nil)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	body := w.Body.String()
	want := `skald_request_duration_seconds_count{code="200",method="get",route="loki_api_v1_labels"} 1`
	if !strings.Contains(body, want) {
		t.Errorf("metrics lack %s:\n%s", want, truncate(body, 2000))
	}
}

// A process without a dependency does not serve its routes.
func TestMissingDependenciesLeaveRoutesOut(t *testing.T) {
	a := New(DefaultConfig(), Deps{}, nil, nil, nil)
	for _, target := range []string{"/loki/api/v1/push", "/loki/api/v1/query_range", "/loki/api/v1/labels", "/flush", "/metrics",
		"/loki/api/v1/tail", "/loki/api/v1/index/volume", "/loki/api/v1/index/volume_range", "/loki/api/v1/detected_labels",
		"/loki/api/v1/detected_fields", "/loki/api/v1/detected_field/a/values"} {
		w := newRecorder(a, http.MethodGet, target)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: %d", target, w.Code)
		}
	}
	if w := newRecorder(a, http.MethodGet, "/ready"); w.Code != 200 {
		t.Errorf("/ready: %d", w.Code)
	}
	// Routes that need no dependency.
	for _, target := range []string{"/loki/api/v1/format_query?query=%7Ba%3D%22b%22%7D", "/loki/api/v1/drilldown-limits", "/loki/api/v1/patterns"} {
		if w := newRecorder(a, http.MethodGet, target); w.Code != 200 {
			t.Errorf("%s: %d", target, w.Code)
		}
	}
}

func TestConfigFlags(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	want := Config{
		NoAuthTenant:        "fake",
		MaxQueryPoints:      11000,
		MaxRecvMsgSize:      100 << 20,
		MaxDecompressedSize: 5000 << 20,
		CompressResponses:   true,
		TailMaxDuration:     time.Hour,
	}
	if cfg != want {
		t.Errorf("defaults %+v\nwant %+v", cfg, want)
	}
	if DefaultConfig() != want {
		t.Errorf("DefaultConfig() = %+v", DefaultConfig())
	}
	err := fs.Parse([]string{"-distributor.max-recv-msg-size=5",
		"-distributor.max-decompressed-size=6", "-querier.compress-http-responses=false", "-querier.tail-max-duration=2h"})
	if err != nil {
		t.Fatal(err)
	}
	want.MaxRecvMsgSize, want.MaxDecompressedSize, want.CompressResponses = 5, 6, false
	want.TailMaxDuration = 2 * time.Hour
	if cfg != want {
		t.Errorf("parsed %+v\nwant %+v", cfg, want)
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if !slices.Equal(names, []string{"distributor.max-decompressed-size", "distributor.max-recv-msg-size", "querier.compress-http-responses",
		"querier.tail-max-duration"}) {
		t.Errorf("flags %v", names)
	}
}

func newRecorder(a *API, method, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}
