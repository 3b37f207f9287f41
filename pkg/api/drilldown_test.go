package api

import (
	"encoding/json"
	"flag"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/skald-logs/skald/pkg/validation"
)

func TestFormatQuery(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		method, target, body string
		status               int
		want                 string
	}{
		{http.MethodGet, "/loki/api/v1/format_query?query=%7Bapp%3D%22foo%22%7D%7C%3D%22x%22", "", 200,
			`{"status":"success","data":"{app=\"foo\"} |= \"x\""}` + "\n"},
		// The canonical form of the syntax package (Loki prints no space
		// before the aggregation's parenthesis).
		{http.MethodGet, "/loki/api/v1/format_query?query=sum+by(a)(rate(%7Bb%3D%22c%22%7D%5B5m%5D))", "", 200,
			`{"status":"success","data":"sum by (a) (rate({b=\"c\"}[5m]))"}` + "\n"},
		// HTML characters are escaped, as Go's encoder does for Loki.
		{http.MethodGet, "/loki/api/v1/format_query?query=%7Ba%3D%22%3Cb%3E%26%22%7D", "", 200,
			`{"status":"success","data":"{a=\"\u003cb\u003e\u0026\"}"}` + "\n"},
		{http.MethodPost, "/loki/api/v1/format_query", "query=%7Ba%3D%22b%22%7D", 200,
			`{"status":"success","data":"{a=\"b\"}"}` + "\n"},
		{http.MethodGet, "/loki/api/v1/format_query?query=%7Ba%3D%22b%22", "", 400,
			`{"status":"invalid-query","error":"parse error at line 1, col 7: syntax error: unexpected $end, expecting } or ,"}` + "\n"},
		{http.MethodGet, "/loki/api/v1/format_query", "", 400,
			`{"status":"invalid-query","error":"parse error : syntax error: unexpected $end"}` + "\n"},
	} {
		var w = f.request(tc.method, tc.target, strings.NewReader(tc.body), "Content-Type: application/x-www-form-urlencoded")
		if w.Code != tc.status || w.Body.String() != tc.want || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%s %s: %d %q %q\nwant %d %q", tc.method, tc.target, w.Code, w.Body.String(), w.Header().Get("Content-Type"), tc.status, tc.want)
		}
	}
	// No tenant is needed.
	auth := newFixture(t, func(c *Config) { c.AuthEnabled = true })
	if w := auth.request(http.MethodGet, "/loki/api/v1/format_query?query=%7Ba%3D%22b%22%7D", nil); w.Code != http.StatusOK {
		t.Errorf("with auth, no tenant: %d", w.Code)
	}
}

type fixedLimits map[string]*validation.Limits

func (f fixedLimits) For(tenant string) *validation.Limits { return f[tenant] }

func TestDrilldownLimits(t *testing.T) {
	defaults := &validation.Limits{}
	defaults.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	custom := *defaults
	custom.MaxQueryLength = model.Duration(24 * time.Hour)
	custom.QueryTimeout = model.Duration(5 * time.Minute)
	custom.MaxEntriesLimitPerQuery = 100
	custom.LogLevelFields = []string{"lvl"}
	custom.DiscoverLogLevels = false

	for _, tc := range []struct {
		name   string
		deps   Deps
		tenant string
		want   map[string]any
	}{
		{"defaults", Deps{}, "fake", map[string]any{
			"discover_log_levels": true, "max_entries_limit_per_query": 5000.0, "max_query_length": "30d1h",
			"query_timeout": "1m", "max_query_series": 500.0, "max_query_lookback": "0s",
			"log_level_fields": toAny(validation.DefaultLogLevelFields), "discover_service_name": toAny(validation.DefaultServiceNameLabels),
		}},
		{"tenant", Deps{Limits: fixedLimits{"team-a": &custom}}, "team-a", map[string]any{
			"discover_log_levels": false, "max_entries_limit_per_query": 100.0, "max_query_length": "1d",
			"query_timeout": "5m", "log_level_fields": []any{"lvl"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.AuthEnabled = true; c.Build.Version = "1.2.3" })
			f.api = New(f.api.cfg, tc.deps, nil, nil, nil)
			w := f.request(http.MethodGet, "/loki/api/v1/drilldown-limits", nil, "X-Scope-OrgID: "+tc.tenant)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body.String())
			}
			var got struct {
				Limits                 map[string]any `json:"limits"`
				PatternIngesterEnabled *bool          `json:"pattern_ingester_enabled"`
				Version                string         `json:"version"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.PatternIngesterEnabled == nil || *got.PatternIngesterEnabled || got.Version != "1.2.3" {
				t.Errorf("pattern_ingester_enabled %v version %q", got.PatternIngesterEnabled, got.Version)
			}
			// Every key Loki publishes (contract §3.4), and no other.
			keys := []string{"discover_log_levels", "discover_service_name", "log_level_fields", "max_entries_limit_per_query",
				"max_line_size_truncate", "max_query_bytes_read", "max_query_length", "max_query_lookback", "max_query_range",
				"max_query_series", "metric_aggregation_enabled", "otlp_config", "pattern_persistence_enabled", "query_timeout",
				"retention_period", "retention_stream", "volume_enabled", "volume_max_series"}
			if len(got.Limits) != len(keys) {
				t.Errorf("%d keys, want %d: %v", len(got.Limits), len(keys), got.Limits)
			}
			for _, k := range keys {
				if _, ok := got.Limits[k]; !ok {
					t.Errorf("missing %s", k)
				}
			}
			for k, v := range tc.want {
				if !reflect.DeepEqual(got.Limits[k], v) {
					t.Errorf("%s = %#v, want %#v", k, got.Limits[k], v)
				}
			}
			if got.Limits["volume_enabled"] != true || got.Limits["max_query_bytes_read"] != "0B" {
				t.Errorf("volume_enabled %v max_query_bytes_read %v", got.Limits["volume_enabled"], got.Limits["max_query_bytes_read"])
			}
			// Loki's encoder writes keys in order and ends with a newline.
			if !strings.HasPrefix(w.Body.String(), `{"limits":{"discover_log_levels":`) || !strings.HasSuffix(w.Body.String(), "\"}\n") {
				t.Errorf("body %s", w.Body.String())
			}
		})
	}
	f := newFixture(t, func(c *Config) { c.AuthEnabled = true })
	if w := f.request(http.MethodGet, "/loki/api/v1/drilldown-limits", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("no tenant: %d", w.Code)
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func TestPatternsIsEmpty(t *testing.T) {
	f := newFixture(t, nil)
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		w := f.request(m, "/loki/api/v1/patterns?query=%7Bapp%3D%22a%22%7D&step=60", nil)
		if w.Code != http.StatusOK || w.Body.String() != "{\"status\":\"success\",\"data\":[]}\n" || w.Header().Get("Content-Type") != contentTypeJSON {
			t.Errorf("%s: %d %q", m, w.Code, w.Body.String())
		}
	}
	if w := f.request(http.MethodGet, "/loki/api/v1/patterns?start=x", nil); w.Code != http.StatusBadRequest {
		t.Errorf("bad start: %d", w.Code)
	}
}
