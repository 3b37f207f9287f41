package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

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
	now := a.now()
	p, err := a.parseRangeParams(r, now)
	if err != nil {
		writeError(w, err)
		return
	}
	l := a.limits(tenant)
	if err := checkEntriesLimit(l, p.query, p.limit); err != nil {
		writeError(w, err)
		return
	}
	start, ok, err := limitRange(l, p.start, p.end, now)
	if err != nil {
		writeError(w, err)
		return
	}
	if !ok {
		a.writeEmptyQuery(w, r, tenant, p.query, p.direction, false)
		return
	}
	p.start = start
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
	now := a.now()
	p, err := parseInstantParams(r, now)
	if err != nil {
		writeError(w, err)
		return
	}
	// Loki's frontend sends instant log queries on to be refused; only
	// metric queries are answered empty beyond max_query_lookback.
	if _, ok := clipToLookback(a.limits(tenant), p.ts, p.ts, now); !ok && !isLogQuery(p.query) {
		a.writeEmptyQuery(w, r, tenant, p.query, p.direction, true)
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
	a.writeQueryResult(w, r, tenant, &res, p.Direction)
}

// writeEmptyQuery answers a query whose range lies beyond
// max_query_lookback with an empty result of its type.
func (a *API) writeEmptyQuery(w http.ResponseWriter, r *http.Request, tenant, query string, dir logproto.Direction, instant bool) {
	res, err := emptyQueryResult(query, instant)
	if err != nil {
		writeError(w, err)
		return
	}
	a.writeQueryResult(w, r, tenant, &res, dir)
}

func (a *API) writeQueryResult(w http.ResponseWriter, r *http.Request, tenant string, res *logql.Result, dir logproto.Direction) {
	buf := getBuffer()
	defer putBuffer(buf)
	var err error
	*buf, err = appendQueryResponse(*buf, res, dir, categorizeLabels(r))
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

// isLogQuery reports whether query parses as a log query.
func isLogQuery(query string) bool {
	expr, err := syntax.ParseExpr(query)
	if err != nil {
		return false
	}
	_, ok := expr.(syntax.LogSelectorExpr)
	return ok
}

// parseMetadataBounds parses start/end/since and applies the tenant's range
// limits (limitRange), for labels, series and detected_labels. ok is false
// when the range lies beyond max_query_lookback: the answer is empty.
func (a *API) parseMetadataBounds(r *http.Request, tenant string) (start, end int64, ok bool, err error) {
	if err := r.ParseForm(); err != nil {
		return 0, 0, false, badRequest(err.Error())
	}
	now := a.now()
	if start, end, err = parseOrderedBounds(r, now); err != nil {
		return 0, 0, false, err
	}
	start, ok, err = limitRange(a.limits(tenant), start, end, now)
	return start, end, ok, err
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
	start, end, ok, err := a.parseMetadataBounds(r, tenant)
	if err != nil {
		writeError(w, err)
		return
	}
	var values []string
	if ok {
		values, err = a.deps.Metadata.Labels(r.Context(), tenant, logproto.LabelRequest{
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
	start, end, ok, err := a.parseMetadataBounds(r, tenant)
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
	var series []labels.Labels
	if ok {
		series, err = a.deps.Metadata.Series(r.Context(), tenant, logproto.SeriesRequest{
			Start:  start,
			End:    end,
			Groups: groups,
		})
		if err != nil {
			a.logFailure(r, tenant, err)
			writeError(w, err)
			return
		}
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
	now := a.now()
	p, err := a.parseRangeParams(r, now)
	if err != nil {
		writeError(w, err)
		return
	}
	start, ok, err := limitRange(a.limits(tenant), p.start, p.end, now)
	if err != nil {
		writeError(w, err)
		return
	}
	var st logproto.IndexStats
	if ok {
		st, err = a.deps.Metadata.IndexStats(r.Context(), tenant, logproto.IndexStatsRequest{
			Start: start,
			End:   p.end,
			Query: p.query,
		})
		if err != nil {
			a.logFailure(r, tenant, err)
			writeError(w, err)
			return
		}
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
