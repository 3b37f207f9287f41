package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

const (
	// encodingFlagsHeader asks for categorized labels in streams results.
	encodingFlagsHeader  = "X-Loki-Response-Encoding-Flags"
	flagCategorizeLabels = "categorize-labels"
	contentTypeJSON      = "application/json; charset=UTF-8"
)

// queryRange serves /loki/api/v1/query_range.
func (a *API) queryRange(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	p, err := a.parseRangeParams(r, a.now())
	if err != nil {
		writeError(w, err)
		return
	}
	l := a.limits(tenant)
	if err := checkEntriesLimit(l, p.query, p.limit); err != nil {
		writeError(w, err)
		return
	}
	if err := checkQueryLength(l, p.start, p.end); err != nil {
		writeError(w, err)
		return
	}
	a.runQuery(w, r, tenant, logql.Params{
		Query:     p.query,
		Start:     p.start,
		End:       p.end,
		Step:      p.step,
		Interval:  p.interval,
		Limit:     p.limit,
		Direction: p.direction,
	})
}

// queryInstant serves /loki/api/v1/query.
func (a *API) queryInstant(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	p, err := parseInstantParams(r, a.now())
	if err != nil {
		writeError(w, err)
		return
	}
	a.runQuery(w, r, tenant, logql.Params{
		Query:     p.query,
		Start:     p.ts,
		End:       p.ts,
		Limit:     p.limit,
		Direction: p.direction,
		Instant:   true,
	})
}

func (a *API) runQuery(w http.ResponseWriter, r *http.Request, tenant string, p logql.Params) {
	began := time.Now()
	res, err := a.deps.Engine.Query(r.Context(), tenant, p)
	if err != nil {
		a.logFailure(r, tenant, err)
		writeError(w, err)
		return
	}
	if res.Stats.ExecTimeSeconds == 0 {
		// The engine did not time itself: report the time it took here.
		res.Stats.ExecTimeSeconds = time.Since(began).Seconds()
	}
	buf := getBuffer()
	defer putBuffer(buf)
	*buf, err = appendQueryResponse(*buf, &res, p.Direction, categorizeLabels(r))
	if err != nil {
		a.logFailure(r, tenant, err)
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	a.writeBody(w, r, *buf)
}

// categorizeLabels reports whether the request carries the
// categorize-labels encoding flag (a comma-separated list).
func categorizeLabels(r *http.Request) bool {
	for _, v := range r.Header.Values(encodingFlagsHeader) {
		for f := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(f) == flagCategorizeLabels {
				return true
			}
		}
	}
	return false
}

// parseMetadataBounds parses start/end/since and applies the tenant's range
// limits, for labels, series and detected_labels.
func (a *API) parseMetadataBounds(r *http.Request, tenant string) (start, end int64, err error) {
	if err := r.ParseForm(); err != nil {
		return 0, 0, badRequest(err.Error())
	}
	if start, end, err = parseOrderedBounds(r, a.now()); err != nil {
		return 0, 0, err
	}
	if err := checkQueryLength(a.limits(tenant), start, end); err != nil {
		return 0, 0, err
	}
	return start, end, nil
}

// labelNames serves /loki/api/v1/labels.
func (a *API) labelNames(w http.ResponseWriter, r *http.Request, tenant string) {
	a.labels(w, r, tenant, "")
}

// labelValues serves /loki/api/v1/label/{name}/values.
func (a *API) labelValues(w http.ResponseWriter, r *http.Request, tenant string) {
	name := r.PathValue("name")
	if name == "" {
		http.NotFound(w, r)
		return
	}
	a.labels(w, r, tenant, name)
}

func (a *API) labels(w http.ResponseWriter, r *http.Request, tenant, name string) {
	start, end, err := a.parseMetadataBounds(r, tenant)
	if err != nil {
		writeError(w, err)
		return
	}
	values, err := a.deps.Metadata.Labels(r.Context(), tenant, logproto.LabelRequest{
		Name:  name,
		Start: start,
		End:   end,
		Query: r.Form.Get("query"),
	})
	if err != nil {
		a.logFailure(r, tenant, err)
		writeError(w, err)
		return
	}
	if !slices.IsSorted(values) {
		values = slices.Clone(values)
		slices.Sort(values)
	}
	buf := getBuffer()
	defer putBuffer(buf)
	*buf = appendLabelsResponse(*buf, values)
	w.Header().Set("Content-Type", contentTypeJSON)
	a.writeBody(w, r, *buf)
}

// series serves /loki/api/v1/series.
func (a *API) series(w http.ResponseWriter, r *http.Request, tenant string) {
	start, end, err := a.parseMetadataBounds(r, tenant)
	if err != nil {
		writeError(w, err)
		return
	}
	groups := parseSeriesGroups(r)
	// Like Loki, refuse a selector that does not parse before doing any work.
	for _, g := range groups {
		if _, err := syntax.ParseMatchers(g, true); err != nil {
			writeError(w, err)
			return
		}
	}
	series, err := a.deps.Metadata.Series(r.Context(), tenant, logproto.SeriesRequest{
		Start:  start,
		End:    end,
		Groups: groups,
	})
	if err != nil {
		a.logFailure(r, tenant, err)
		writeError(w, err)
		return
	}
	buf := getBuffer()
	defer putBuffer(buf)
	*buf = appendSeriesResponse(*buf, series)
	w.Header().Set("Content-Type", contentTypeJSON)
	a.writeBody(w, r, *buf)
}

// indexStats serves /loki/api/v1/index/stats. Loki parses its parameters as
// a range query's; the answer is a bare object without the status envelope.
func (a *API) indexStats(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	p, err := a.parseRangeParams(r, a.now())
	if err != nil {
		writeError(w, err)
		return
	}
	if err := checkQueryLength(a.limits(tenant), p.start, p.end); err != nil {
		writeError(w, err)
		return
	}
	st, err := a.deps.Metadata.IndexStats(r.Context(), tenant, logproto.IndexStatsRequest{
		Start: p.start,
		End:   p.end,
		Query: p.query,
	})
	if err != nil {
		a.logFailure(r, tenant, err)
		writeError(w, err)
		return
	}
	buf := getBuffer()
	defer putBuffer(buf)
	*buf = appendIndexStats(*buf, st)
	w.Header().Set("Content-Type", contentTypeJSON)
	a.writeBody(w, r, *buf)
}

// logFailure logs errors that are the server's fault; client errors are the
// client's business.
func (a *API) logFailure(r *http.Request, tenant string, err error) {
	if status, _ := statusAndMessage(err); status >= 500 {
		a.logger.Warn("request failed", "path", r.URL.Path, "tenant", tenant, "status", status, "err", err)
	}
}
