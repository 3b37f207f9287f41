package api

import (
	"flag"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
// max_entries_limit_per_query 150, "recent" the same and
// max_query_lookback 1h, everyone else the defaults (721h, 5000, no
// lookback limit).
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
	recent := short
	recent.MaxQueryLookback = model.Duration(time.Hour)
	f.limits = map[string]*validation.Limits{"short": &short, "recent": &recent}
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
// the parameters of a valid request and the start of the range its
// dependency was last asked for (the engine's or a fake's record). empty
// is how the answer for a range beyond max_query_lookback begins.
var readEndpoints = []struct {
	path   string
	params url.Values
	start  func(f *limitsFixture) int64
	empty  string
}{
	{"/loki/api/v1/query_range", url.Values{"query": {`{a="b"}`}}, engineStart,
		`{"status":"success","data":{"resultType":"streams","result":[],`},
	{"/loki/api/v1/query_range", url.Values{"query": {`count_over_time({a="b"}[1m])`}}, engineStart,
		`{"status":"success","data":{"resultType":"matrix","result":[],`},
	{"/loki/api/v1/labels", url.Values{}, labelsStart, "{\"status\":\"success\"}\n"},
	{"/loki/api/v1/label/a/values", url.Values{}, labelsStart, "{\"status\":\"success\"}\n"},
	{"/loki/api/v1/series", url.Values{"match[]": {`{a="b"}`}}, seriesStart, "{\"status\":\"success\",\"data\":[]}\n"},
	{"/loki/api/v1/index/stats", url.Values{"query": {`{a="b"}`}}, statsStart, "{\"streams\":0,\"chunks\":0,\"bytes\":0,\"entries\":0}\n"},
	{"/loki/api/v1/index/volume", url.Values{"query": {`{a="b"}`}}, volumeStart,
		`{"status":"success","data":{"resultType":"vector","result":[],`},
	{"/loki/api/v1/index/volume_range", url.Values{"query": {`{a="b"}`}}, volumeStart,
		`{"status":"success","data":{"resultType":"vector","result":[],`},
	{"/loki/api/v1/detected_labels", url.Values{"query": {`{a="b"}`}}, detectorStart, "{\"detectedLabels\":[]}\n"},
	{"/loki/api/v1/detected_fields", url.Values{"query": {`{a="b"}`}}, engineStart, "{\"fields\":[]}\n"},
	{"/loki/api/v1/detected_field/a/values", url.Values{"query": {`{a="b"}`}}, engineStart, "{\"values\":[]}\n"},
}

func engineStart(f *limitsFixture) int64 {
	if len(f.engine.params) == 0 {
		return -1
	}
	return f.engine.params[len(f.engine.params)-1].Start
}

func labelsStart(f *limitsFixture) int64 {
	if len(f.meta.labelReqs) == 0 {
		return -1
	}
	return f.meta.labelReqs[len(f.meta.labelReqs)-1].Start
}

func seriesStart(f *limitsFixture) int64 {
	if len(f.meta.seriesReq) == 0 {
		return -1
	}
	return f.meta.seriesReq[len(f.meta.seriesReq)-1].Start
}

func statsStart(f *limitsFixture) int64 {
	if len(f.meta.statsReqs) == 0 {
		return -1
	}
	return f.meta.statsReqs[len(f.meta.statsReqs)-1].Start
}

func volumeStart(f *limitsFixture) int64 {
	if len(f.volumes.reqs) == 0 {
		return -1
	}
	return f.volumes.reqs[len(f.volumes.reqs)-1].Start
}

func detectorStart(f *limitsFixture) int64 {
	if len(f.detector.reqs) == 0 {
		return -1
	}
	return f.detector.reqs[len(f.detector.reqs)-1].Start
}

// calls counts the requests the dependencies received.
func (f *limitsFixture) calls() int {
	return len(f.engine.params) + len(f.meta.labelReqs) + len(f.meta.seriesReq) + len(f.meta.statsReqs) +
		len(f.volumes.reqs) + len(f.detector.reqs)
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

func TestMaxQueryLookback(t *testing.T) {
	hour := int64(time.Hour)
	for _, ep := range readEndpoints {
		f := newLimitsFixture(t)
		// The start moves up to now-1h, silently, before the length is
		// checked: 3h is not refused for a 1h max_query_length.
		code, body := f.get("recent", ep.path, withRange(ep.params, testNow-3*hour, testNow))
		if code != http.StatusOK {
			t.Errorf("%s, 3h: %d %q", ep.path, code, truncate(body, 100))
		} else if got := ep.start(f); got != testNow-hour {
			t.Errorf("%s, 3h: asked from %s, want %s", ep.path, time.Unix(0, got).UTC(), time.Unix(0, testNow-hour).UTC())
		}
		// Within the lookback nothing changes.
		code, _ = f.get("recent", ep.path, withRange(ep.params, testNow-hour/2, testNow))
		if got := ep.start(f); code != http.StatusOK || got != testNow-hour/2 {
			t.Errorf("%s, 30m: %d, asked from %s", ep.path, code, time.Unix(0, got).UTC())
		}
		// Without a lookback limit the range is refused as too long.
		if code, _ := f.get("short", ep.path, withRange(ep.params, testNow-3*hour, testNow)); code != http.StatusBadRequest {
			t.Errorf("%s, 3h without lookback: %d", ep.path, code)
		}
		// A range entirely older: an empty answer, nobody asked.
		calls := f.calls()
		code, body = f.get("recent", ep.path, withRange(ep.params, testNow-5*hour, testNow-2*hour))
		if code != http.StatusOK || !strings.HasPrefix(body, ep.empty) {
			t.Errorf("%s, older: %d %q, want 200 %q…", ep.path, code, truncate(body, 100), ep.empty)
		}
		if f.calls() != calls {
			t.Errorf("%s, older: the dependency was asked", ep.path)
		}
	}
}

func TestMaxQueryLookbackInstant(t *testing.T) {
	f := newLimitsFixture(t)
	at := func(query string, ts int64) (int, string) {
		return f.get("recent", "/loki/api/v1/query", url.Values{"query": {query}, "time": {strconv.FormatInt(ts, 10)}})
	}
	code, body := at(`count_over_time({a="b"}[1m])`, testNow-2*int64(time.Hour))
	if want := `{"status":"success","data":{"resultType":"vector","result":[],`; code != http.StatusOK || !strings.HasPrefix(body, want) || f.calls() != 0 {
		t.Errorf("older instant query: %d %q, %d calls", code, truncate(body, 100), f.calls())
	}
	if code, body := at(`count_over_time({a="b"`, testNow-2*int64(time.Hour)); code != http.StatusBadRequest {
		t.Errorf("older instant query that does not parse: %d %q", code, body)
	}
	// A log query goes to the engine, which refuses it as an instant query.
	if at(`{a="b"}`, testNow-2*int64(time.Hour)); f.calls() != 1 {
		t.Errorf("older instant log query: %d calls", f.calls())
	}
	if code, _ := at(`count_over_time({a="b"}[1m])`, testNow-int64(time.Minute)); code != http.StatusOK || f.calls() != 2 {
		t.Errorf("recent instant query: %d, %d calls", code, f.calls())
	}
}

func TestTailHistoryLookback(t *testing.T) {
	f := newTailFixture(t, nil)
	l := defaultLimits()
	l.MaxQueryLookback = model.Duration(time.Hour)
	f.api.deps.Limits = validation.NewOverrides(l, nil)
	f.dial(t, q("start", strconv.FormatInt(testNow-3*int64(time.Hour), 10)), nil)
	f.running(t)
	f.engine.mu.Lock()
	defer f.engine.mu.Unlock()
	if len(f.engine.calls) != 1 || f.engine.calls[0].Start != testNow-int64(time.Hour) {
		t.Errorf("history queries %+v, want one from %d", f.engine.calls, testNow-int64(time.Hour))
	}
}
