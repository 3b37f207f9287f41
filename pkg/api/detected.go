package api

import (
	"math"
	"net/http"
	"strconv"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/syntax"
	"github.com/skald-logs/skald/pkg/querier"
)

// Defaults of detected_fields.
const (
	defaultDetectedLineLimit  = 100
	defaultDetectedFieldLimit = 1000
)

// detectedLabels serves /loki/api/v1/detected_labels:
// {"detectedLabels":[{"label":"app","cardinality":2},…]}.
func (a *API) detectedLabels(w http.ResponseWriter, r *http.Request, tenant string) {
	start, end, ok, err := a.parseMetadataBounds(r, tenant)
	if err != nil {
		writeError(w, err)
		return
	}
	query := r.Form.Get("query")
	if query != "" {
		if _, err := syntax.ParseMatchers(query, true); err != nil {
			writeError(w, err)
			return
		}
	}
	var dls []logproto.DetectedLabel
	if ok {
		dls, err = a.deps.Detector.DetectedLabels(r.Context(), tenant, logproto.DetectedLabelsRequest{Start: start, End: end, Query: query})
		if err != nil {
			a.logFailure(r, tenant, err)
			writeError(w, err)
			return
		}
	}
	buf := getBuffer()
	defer putBuffer(buf)
	out := append(*buf, `{"detectedLabels":[`...)
	for i, dl := range dls {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"label":`...)
		out = appendString(out, dl.Label, false)
		out = append(out, `,"cardinality":`...)
		out = strconv.AppendUint(out, dl.Cardinality, 10)
		out = append(out, '}')
	}
	out = append(out, "]}\n"...)
	*buf = out
	w.Header().Set("Content-Type", contentTypeJSON)
	a.writeBody(w, r, out)
}

// detectedFieldsParams are the parameters of detected_fields.
type detectedFieldsParams struct {
	query      string
	start, end int64
	lineLimit  uint32
	fieldLimit uint32
}

// parseDetectedFieldsParams reads them in Loki's order: bounds, end >=
// start, line_limit (default 100), limit or field_limit (default 1000),
// step (checked, unused).
func (a *API) parseDetectedFieldsParams(r *http.Request, now int64) (detectedFieldsParams, error) {
	var p detectedFieldsParams
	var err error
	p.query = r.Form.Get("query")
	if p.start, p.end, err = parseOrderedBounds(r, now); err != nil {
		return p, err
	}
	if p.lineLimit, err = parsePositive(r.Form.Get("line_limit"), defaultDetectedLineLimit); err != nil {
		return p, err
	}
	limit := r.Form.Get("limit")
	if limit == "" {
		limit = r.Form.Get("field_limit")
	}
	if p.fieldLimit, err = parsePositive(limit, defaultDetectedFieldLimit); err != nil {
		return p, err
	}
	if _, err = a.parseStep(r, p.start, p.end); err != nil {
		return p, err
	}
	return p, nil
}

// parsePositive reads a positive integer parameter (def when empty).
func parsePositive(value string, def uint32) (uint32, error) {
	if value == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, badRequest(err.Error())
	}
	if n <= 0 {
		return 0, errLimitNotPositive
	}
	return uint32(min(n, math.MaxUint32)), nil
}

// detectedFields serves /loki/api/v1/detected_fields and
// /loki/api/v1/detected_field/{name}/values: it runs the log query for its
// newest line_limit entries and reports the fields found in them (see
// querier.DetectFields), or the values of one field.
func (a *API) detectedFields(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	now := a.now()
	p, err := a.parseDetectedFieldsParams(r, now)
	if err != nil {
		writeError(w, err)
		return
	}
	if _, err := syntax.ParseLogSelector(p.query, true); err != nil {
		writeError(w, err)
		return
	}
	l := a.limits(tenant)
	if err := checkEntriesLimit(l, p.query, p.lineLimit); err != nil {
		writeError(w, err)
		return
	}
	start, ok, err := limitRange(l, p.start, p.end, now)
	if err != nil {
		writeError(w, err)
		return
	}
	var res logql.Result
	if ok {
		res, err = a.deps.Engine.Query(r.Context(), tenant, logql.Params{
			Query: p.query, Start: start, End: p.end, Limit: p.lineLimit, Direction: logproto.Backward,
		})
		if err != nil {
			a.logFailure(r, tenant, err)
			writeError(w, err)
			return
		}
	}
	buf := getBuffer()
	defer putBuffer(buf)
	if name := r.PathValue("name"); name != "" {
		*buf = appendDetectedValues(*buf, querier.DetectFieldValues(res.Streams, name, int(p.fieldLimit)), p.fieldLimit)
	} else {
		*buf = appendDetectedFields(*buf, querier.DetectFields(res.Streams, int(p.fieldLimit)), p.fieldLimit)
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	a.writeBody(w, r, *buf)
}

// appendDetectedFields appends
// {"fields":[{"label":…,"type":…,"cardinality":N,"parsers":[…]|null,"jsonPath":[…]}],"limit":N};
// jsonPath only for JSON fields, limit only when there are fields.
func appendDetectedFields(dst []byte, fields []logproto.DetectedField, limit uint32) []byte {
	dst = append(dst, `{"fields":[`...)
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"label":`...)
		dst = appendString(dst, f.Label, false)
		dst = append(dst, `,"type":`...)
		dst = appendString(dst, string(f.Type), false)
		dst = append(dst, `,"cardinality":`...)
		dst = strconv.AppendUint(dst, f.Cardinality, 10)
		dst = append(dst, `,"parsers":`...)
		dst = appendStrings(dst, f.Parsers)
		if len(f.JSONPath) > 0 {
			dst = append(dst, `,"jsonPath":`...)
			dst = appendStrings(dst, f.JSONPath)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if len(fields) > 0 {
		dst = append(dst, `,"limit":`...)
		dst = strconv.AppendUint(dst, uint64(limit), 10)
	}
	return append(dst, "}\n"...)
}

// appendDetectedValues appends {"values":[…],"limit":N}, limit only when
// there are values.
func appendDetectedValues(dst []byte, values []string, limit uint32) []byte {
	dst = append(dst, `{"values":`...)
	if values == nil {
		values = []string{}
	}
	dst = appendStrings(dst, values)
	if len(values) > 0 {
		dst = append(dst, `,"limit":`...)
		dst = strconv.AppendUint(dst, uint64(limit), 10)
	}
	return append(dst, "}\n"...)
}
