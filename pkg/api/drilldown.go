package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/prometheus/common/model"

	"github.com/skald-logs/skald/pkg/logql/syntax"
	"github.com/skald-logs/skald/pkg/validation"
)

// formatQueryResponse is Loki's format_query answer.
type formatQueryResponse struct {
	Status string `json:"status"`
	Data   string `json:"data,omitempty"`
	Err    string `json:"error,omitempty"`
}

// formatQuery serves /loki/api/v1/format_query: the query in canonical form
// ({"status":"success","data":"…"}), or 400 with
// {"status":"invalid-query","error":"…"}. Like Loki it needs no tenant.
// Skald prints the canonical one-line form of the syntax tree, which parses
// back to the same tree; Loki's multi-line layout of long queries is not
// reproduced.
func (a *API) formatQuery(w http.ResponseWriter, r *http.Request) {
	resp := formatQueryResponse{Status: "success"}
	status := http.StatusOK
	expr, err := syntax.ParseExpr(r.FormValue("query"))
	if err != nil {
		status, resp.Status, resp.Err = http.StatusBadRequest, "invalid-query", err.Error()
	} else {
		resp.Data = expr.String()
	}
	writeEncodedJSON(w, status, "application/json; charset=utf-8", resp)
}

// writeEncodedJSON writes v as encoding/json does (HTML characters escaped,
// a trailing newline), the way Loki writes its small JSON answers.
func writeEncodedJSON(w http.ResponseWriter, status int, contentType string, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// drilldownLimits is Loki's /drilldown-limits answer.
type drilldownLimits struct {
	Limits                 map[string]any `json:"limits"`
	PatternIngesterEnabled bool           `json:"pattern_ingester_enabled"`
	Version                string         `json:"version"`
}

// otlpDefaultIndexLabels are the OTLP resource attributes Loki turns into
// stream labels by default; published in otlp_config for Logs Drilldown.
var otlpDefaultIndexLabels = []string{
	"service.name", "service.namespace", "service.instance.id", "deployment.environment",
	"deployment.environment.name", "cloud.region", "cloud.availability_zone", "k8s.cluster.name",
	"k8s.namespace.name", "k8s.pod.name", "k8s.container.name", "container.name", "k8s.replicaset.name",
	"k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name", "k8s.cronjob.name", "k8s.job.name",
}

// drilldownLimits serves /loki/api/v1/drilldown-limits: the tenant's limits
// that Grafana Logs Drilldown reads (the keys Loki publishes, with Loki's
// value formats: durations like "30d1h", sizes like "0B"), whether patterns
// are available (never: Skald has no pattern ingester) and the version.
// Settings Skald does not have are published with the value that matches
// what it does: no query-bytes or query-range limit, no retention, volumes
// enabled.
func (a *API) drilldownLimits(w http.ResponseWriter, r *http.Request, tenant string) {
	l := a.limits(tenant)
	levelFields := l.LogLevelFields
	if len(levelFields) == 0 {
		levelFields = validation.DefaultLogLevelFields
	}
	serviceName := l.DiscoverServiceName
	if serviceName == nil {
		serviceName = []string{}
	}
	version := a.cfg.Build.Version
	if version == "" {
		version = "unknown"
	}
	writeEncodedJSON(w, http.StatusOK, "application/json", drilldownLimits{
		Limits: map[string]any{
			"discover_log_levels":         l.DiscoverLogLevels,
			"discover_service_name":       serviceName,
			"log_level_fields":            levelFields,
			"max_entries_limit_per_query": l.MaxEntriesLimitPerQuery,
			"max_line_size_truncate":      l.MaxLineSizeTruncate,
			"max_query_bytes_read":        "0B",
			"max_query_length":            l.MaxQueryLength.String(),
			"max_query_lookback":          l.MaxQueryLookback.String(),
			"max_query_range":             model.Duration(0).String(),
			"max_query_series":            l.MaxQuerySeries,
			"metric_aggregation_enabled":  false,
			"otlp_config": map[string]any{
				"resource_attributes": map[string]any{
					"attributes_config": []map[string]any{{"action": "index_label", "attributes": otlpDefaultIndexLabels}},
				},
			},
			"pattern_persistence_enabled": false,
			"query_timeout":               l.QueryTimeout.String(),
			"retention_period":            model.Duration(0).String(),
			"retention_stream":            []any{},
			"volume_enabled":              true,
			"volume_max_series":           1000,
		},
		PatternIngesterEnabled: false,
		Version:                version,
	})
}

// patterns serves /loki/api/v1/patterns with an empty successful answer:
// Skald has no pattern ingester (drilldown-limits says so, and Logs
// Drilldown then hides its Patterns tab), and an empty list keeps clients
// that ask anyway working.
func (a *API) patterns(w http.ResponseWriter, r *http.Request, _ string) {
	if err := r.ParseForm(); err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	if _, _, err := parseBounds(r, a.now()); err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	a.writeBody(w, r, []byte(`{"status":"success","data":[]}`+"\n"))
}
