package api

import (
	"flag"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/skald-logs/skald/pkg/validation"
)

// defaultLimits returns validation.Limits with their flag defaults.
func defaultLimits() validation.Limits {
	var l validation.Limits
	l.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	return l
}

// limitsFixture is an API over fakes of every read dependency, with auth
// on and per-tenant limits: "short" has max_query_length 1h and
// max_entries_limit_per_query 150, everyone else the defaults (721h, 5000).
type limitsFixture struct {
	*fixture
	volumes  *fakeVolumes
	detector *fakeDetector
	limits   map[string]*validation.Limits
}

func newLimitsFixture(t *testing.T) *limitsFixture {
	t.Helper()
	f := &limitsFixture{fixture: newFixture(t, func(c *Config) { c.AuthEnabled = true })}
	f.volumes, f.detector = &fakeVolumes{}, &fakeDetector{}
	short := defaultLimits()
	short.MaxQueryLength = model.Duration(time.Hour)
	short.MaxEntriesLimitPerQuery = 150
	f.limits = map[string]*validation.Limits{"short": &short}
	overrides := validation.NewOverrides(defaultLimits(), f.limits)
	f.api = New(f.api.cfg, Deps{Engine: f.engine, Metadata: f.meta, Volumes: f.volumes, Detector: f.detector, Limits: overrides}, nil, nil, nil)
	f.api.now = func() int64 { return testNow }
	return f
}

func (f *limitsFixture) get(tenant, path string, params url.Values) (int, string) {
	w := f.request(http.MethodGet, path+"?"+params.Encode(), nil, "X-Scope-OrgID: "+tenant)
	return w.Code, w.Body.String()
}

// readEndpoints are the routes that take a [start, end] range, each with
// the parameters of a valid request.
var readEndpoints = []struct {
	path   string
	params url.Values
}{
	{"/loki/api/v1/query_range", url.Values{"query": {`{a="b"}`}}},
	{"/loki/api/v1/query_range", url.Values{"query": {`count_over_time({a="b"}[1m])`}}},
	{"/loki/api/v1/labels", url.Values{}},
	{"/loki/api/v1/label/a/values", url.Values{}},
	{"/loki/api/v1/series", url.Values{"match[]": {`{a="b"}`}}},
	{"/loki/api/v1/index/stats", url.Values{"query": {`{a="b"}`}}},
	{"/loki/api/v1/index/volume", url.Values{"query": {`{a="b"}`}}},
	{"/loki/api/v1/index/volume_range", url.Values{"query": {`{a="b"}`}}},
	{"/loki/api/v1/detected_labels", url.Values{"query": {`{a="b"}`}}},
	{"/loki/api/v1/detected_fields", url.Values{"query": {`{a="b"}`}}},
	{"/loki/api/v1/detected_field/a/values", url.Values{"query": {`{a="b"}`}}},
}

// withRange returns a copy of v with start and end in Unix seconds.
func withRange(v url.Values, start, end int64) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	out.Set("start", time.Unix(0, start).UTC().Format(time.RFC3339Nano))
	out.Set("end", time.Unix(0, end).UTC().Format(time.RFC3339Nano))
	return out
}

func TestMaxQueryLengthPerTenant(t *testing.T) {
	f := newLimitsFixture(t)
	for _, ep := range readEndpoints {
		params := withRange(ep.params, testNow-int64(2*time.Hour), testNow)
		code, body := f.get("short", ep.path, params)
		if want := "the query time range exceeds the limit (query length: 2h0m0s, limit: 1h)"; code != http.StatusBadRequest || body != want {
			t.Errorf("%s for short: %d %q, want 400 %q", ep.path, code, truncate(body, 100), want)
		}
		if code, body := f.get("other", ep.path, params); code != http.StatusOK {
			t.Errorf("%s for other: %d %q", ep.path, code, body)
		}
		// Within the tenant's limit.
		params = withRange(ep.params, testNow-int64(time.Hour), testNow)
		if code, body := f.get("short", ep.path, params); code != http.StatusOK {
			t.Errorf("%s for short, 1h: %d %q", ep.path, code, body)
		}
	}
}

func TestMaxEntriesLimitPerTenant(t *testing.T) {
	f := newLimitsFixture(t)
	for _, tc := range []struct {
		tenant, path string
		params       url.Values
		want         string
	}{
		{"short", "/loki/api/v1/query_range", url.Values{"query": {`{a="b"}`}, "limit": {"151"}},
			"max entries limit per query exceeded, limit > max_entries_limit_per_query (151 > 150)"},
		{"short", "/loki/api/v1/detected_fields", url.Values{"query": {`{a="b"}`}, "line_limit": {"151"}},
			"max entries limit per query exceeded, limit > max_entries_limit_per_query (151 > 150)"},
		{"short", "/loki/api/v1/query_range", url.Values{"query": {`{a="b"}`}, "limit": {"150"}}, ""},
		{"short", "/loki/api/v1/query_range", url.Values{"query": {`count_over_time({a="b"}[1m])`}, "limit": {"151"}}, ""},
		{"other", "/loki/api/v1/query_range", url.Values{"query": {`{a="b"}`}, "limit": {"5000"}}, ""},
		{"other", "/loki/api/v1/query_range", url.Values{"query": {`{a="b"}`}, "limit": {"5001"}},
			"max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)"},
		{"other", "/loki/api/v1/detected_fields", url.Values{"query": {`{a="b"}`}, "line_limit": {"151"}}, ""},
	} {
		code, body := f.get(tc.tenant, tc.path, tc.params)
		if tc.want == "" {
			if code != http.StatusOK {
				t.Errorf("%s %s %v: %d %q", tc.tenant, tc.path, tc.params, code, body)
			}
			continue
		}
		if code != http.StatusBadRequest || body != tc.want {
			t.Errorf("%s %s %v: %d %q, want 400 %q", tc.tenant, tc.path, tc.params, code, truncate(body, 100), tc.want)
		}
	}
}
