package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

// testNow is the fixed "now" of the API under test: 2026-11-23T15:41:36Z,
// the moment the Loki samples were captured.
var testNow = time.Date(2026, 11, 23, 15, 41, 36, 0, time.UTC).UnixNano()

type fakeEngine struct {
	mu      sync.Mutex
	params  []logql.Params
	tenants []string
	res     logql.Result
	err     error
}

func (f *fakeEngine) Query(_ context.Context, tenant string, p logql.Params) (logql.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.params = append(f.params, p)
	f.tenants = append(f.tenants, tenant)
	return f.res, f.err
}

func (f *fakeEngine) last(t *testing.T) logql.Params {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.params) == 0 {
		t.Fatal("engine was not called")
	}
	return f.params[len(f.params)-1]
}

type fakeMetadata struct {
	mu        sync.Mutex
	labelReqs []logproto.LabelRequest
	seriesReq []logproto.SeriesRequest
	statsReqs []logproto.IndexStatsRequest
	tenants   []string
	labels    []string
	series    []labels.Labels
	stats     logproto.IndexStats
	err       error
}

func (f *fakeMetadata) Labels(_ context.Context, tenant string, r logproto.LabelRequest) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.labelReqs = append(f.labelReqs, r)
	f.tenants = append(f.tenants, tenant)
	return f.labels, f.err
}

func (f *fakeMetadata) Series(_ context.Context, tenant string, r logproto.SeriesRequest) ([]labels.Labels, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seriesReq = append(f.seriesReq, r)
	f.tenants = append(f.tenants, tenant)
	return f.series, f.err
}

func (f *fakeMetadata) IndexStats(_ context.Context, tenant string, r logproto.IndexStatsRequest) (logproto.IndexStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statsReqs = append(f.statsReqs, r)
	f.tenants = append(f.tenants, tenant)
	return f.stats, f.err
}

type fakePusher struct {
	mu      sync.Mutex
	reqs    []logproto.PushRequest
	tenants []string
	err     error
}

func (f *fakePusher) Push(_ context.Context, tenant string, req *logproto.PushRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, *req)
	f.tenants = append(f.tenants, tenant)
	return f.err
}

type fakeFlusher struct {
	calls int
	err   error
}

func (f *fakeFlusher) Flush(context.Context) error {
	f.calls++
	return f.err
}

type fakeReadiness struct{ err error }

func (f fakeReadiness) Ready(context.Context) error { return f.err }

// fixture is an API over fakes.
type fixture struct {
	api      *API
	engine   *fakeEngine
	meta     *fakeMetadata
	pusher   *fakePusher
	flusher  *fakeFlusher
	registry *prometheus.Registry
}

func newFixture(t testing.TB, mutate func(*Config)) *fixture {
	t.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	f := &fixture{
		engine:   &fakeEngine{res: logql.Result{Type: logql.ValueStreams}},
		meta:     &fakeMetadata{},
		pusher:   &fakePusher{},
		flusher:  &fakeFlusher{},
		registry: prometheus.NewRegistry(),
	}
	f.api = New(cfg, Deps{Pusher: f.pusher, Engine: f.engine, Metadata: f.meta, Flusher: f.flusher}, nil, f.registry, f.registry)
	f.api.now = func() int64 { return testNow }
	return f
}

// request sends one request through the API's handler. headers are
// "Name: value" strings.
func (f *fixture) request(method, target string, body io.Reader, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, body)
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		r.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	w := httptest.NewRecorder()
	f.api.Handler().ServeHTTP(w, r)
	return w
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "loki-samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleHeaders parses a curl -D capture into its status code and headers.
func sampleHeaders(t *testing.T, name string) (int, http.Header) {
	t.Helper()
	lines := strings.Split(strings.ReplaceAll(string(readSample(t, name)), "\r\n", "\n"), "\n")
	var status int
	if _, err := fmt.Sscanf(lines[0], "HTTP/1.1 %d", &status); err != nil {
		t.Fatalf("%s: status line %q: %v", name, lines[0], err)
	}
	h := http.Header{}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok {
			h.Add(k, strings.TrimSpace(v))
		}
	}
	return status, h
}

func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %q: %v", truncate(string(b), 300), err)
	}
	return v
}

// jsonKeyTypes lists every path of a JSON value with its JSON type, e.g.
// "/summary/execTime number". Arrays contribute their elements' paths
// under "[]".
func jsonKeyTypes(v any, path string, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		out[path] = "object"
		for k, e := range x {
			jsonKeyTypes(e, path+"/"+k, out)
		}
	case []any:
		out[path] = "array"
		for _, e := range x {
			jsonKeyTypes(e, path+"[]", out)
		}
	case string:
		out[path] = "string"
	case float64:
		out[path] = "number"
	case bool:
		out[path] = "bool"
	case nil:
		out[path] = "null"
	}
}

// jsonObjectKeyOrder returns the keys of the top-level JSON object in
// their order in b.
func jsonObjectKeyOrder(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %v", err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func diffKeyTypes(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	for _, k := range sortedKeys(want) {
		if got[k] != want[k] {
			t.Errorf("%s: %s is %q, Loki has %q", what, k, got[k], want[k])
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s (%s) is not in Loki's shape", what, k, got[k])
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func modelDuration(d time.Duration) model.Duration { return model.Duration(d) }
