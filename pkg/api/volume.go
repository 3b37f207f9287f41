package api

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

// defaultVolumeLimit is the default number of volumes of a bucket.
const defaultVolumeLimit = 100

var errInvalidAggregation = badRequest("invalid aggregation option")

// volumeInstant serves /loki/api/v1/index/volume: one vector sample per
// label set (or label name), its bytes in [start, end), at end.
func (a *API) volumeInstant(w http.ResponseWriter, r *http.Request, tenant string) {
	a.volume(w, r, tenant, false)
}

// volumeRange serves /loki/api/v1/index/volume_range: the same per step.
func (a *API) volumeRange(w http.ResponseWriter, r *http.Request, tenant string) {
	a.volume(w, r, tenant, true)
}

func (a *API) volume(w http.ResponseWriter, r *http.Request, tenant string, isRange bool) {
	if err := r.ParseForm(); err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	req, ok, err := a.parseVolumeParams(r, tenant, isRange)
	if err != nil {
		writeError(w, err)
		return
	}
	began := time.Now()
	var buckets []logproto.VolumeBucket
	if ok {
		buckets, err = a.deps.Volumes.Volume(r.Context(), tenant, req)
		if err != nil {
			a.logFailure(r, tenant, err)
			writeError(w, err)
			return
		}
	}
	buf := getBuffer()
	defer putBuffer(buf)
	*buf = appendVolumeResponse(*buf, buckets, req.AggregateBy == logproto.AggregateByLabels, time.Since(began).Seconds())
	w.Header().Set("Content-Type", contentTypeJSON)
	a.writeBody(w, r, *buf)
}

// parseVolumeParams reads the parameters in Loki's order: limit (0 means
// the default 100), then those of an instant query (limit, time, direction)
// or of a range query (bounds, limit, direction, step, points), then
// aggregateBy, targetLabels and, for instant queries, the bounds; then it
// applies the tenant's range limits (limitRange: ok is false when the range
// lies beyond max_query_lookback).
func (a *API) parseVolumeParams(r *http.Request, tenant string, isRange bool) (req logproto.VolumeRequest, ok bool, err error) {
	if l := r.Form.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return req, false, badRequest(err.Error())
		}
		switch {
		case n == 0:
			r.Form.Set("limit", strconv.Itoa(defaultVolumeLimit))
		case n < 0:
			return req, false, errLimitNotPositive
		}
	}
	now := a.now()
	if isRange {
		p, err := a.parseRangeParams(r, now)
		if err != nil {
			return req, false, err
		}
		req.Start, req.End, req.Step, req.Limit = p.start, p.end, p.step, int(p.limit)
	} else {
		p, err := parseInstantParams(r, now)
		if err != nil {
			return req, false, err
		}
		req.Limit = int(p.limit)
	}
	switch agg := r.Form.Get("aggregateBy"); agg {
	case "":
		req.AggregateBy = logproto.AggregateBySeries
	case logproto.AggregateBySeries, logproto.AggregateByLabels:
		req.AggregateBy = agg
	default:
		return req, false, errInvalidAggregation
	}
	if t := r.Form.Get("targetLabels"); t != "" {
		req.TargetLabels = strings.Split(t, ",")
	}
	if !isRange {
		if req.Start, req.End, err = parseOrderedBounds(r, now); err != nil {
			return req, false, err
		}
	}
	req.Query = r.Form.Get("query")
	l := a.limits(tenant)
	if req.Start, ok = clipToLookback(l, req.Start, req.End, now); !ok {
		return req, false, nil
	}
	// Loki's frontend keeps volume bounds in milliseconds, start rounded
	// down and end up: the time of an instant answer is the end so rounded.
	req.Start, req.End = roundToMillis(req.Start, req.End)
	return req, true, checkQueryLength(l, req.Start, req.End)
}

// roundToMillis rounds start down and end up to whole milliseconds; at the
// ends of the int64 range, where that would overflow, it rounds toward zero.
func roundToMillis(start, end int64) (int64, int64) {
	const ms = int64(time.Millisecond)
	if r := start % ms; r > 0 || r < 0 && start >= math.MinInt64+ms {
		start -= (r + ms) % ms
	} else {
		start -= r
	}
	if r := end % ms; r < 0 || r > 0 && end <= math.MaxInt64-ms {
		end += (ms - r) % ms
	} else {
		end -= r
	}
	return start, end
}

// volumeSeries is one label set (or label name) of a volume answer with its
// samples, oldest first.
type volumeSeries struct {
	name   string
	labels labels.Labels
	points []logql.Point
}

// appendVolumeResponse appends the Prometheus-style answer Loki's frontend
// builds from volume buckets: a vector when no label set has more than one
// sample (always for /index/volume), else a matrix; series ordered by their
// first sample, largest first, then by name. A bucket's sample is at the
// bucket's report time; buckets without data for a series have no sample.
func appendVolumeResponse(dst []byte, buckets []logproto.VolumeBucket, byLabels bool, execSeconds float64) []byte {
	var series []*volumeSeries
	index := map[string]*volumeSeries{}
	matrix := false
	for _, b := range buckets {
		t := floorDiv(b.Time, int64(time.Millisecond))
		for _, v := range b.Volumes {
			s := index[v.Name]
			if s == nil {
				lbls := v.Labels
				if byLabels {
					lbls = labels.FromStrings(v.Name, "")
				}
				s = &volumeSeries{name: v.Name, labels: lbls}
				index[v.Name] = s
				series = append(series, s)
			}
			s.points = append(s.points, logql.Point{T: t, V: float64(v.Bytes)})
			matrix = matrix || len(s.points) > 1
		}
	}
	slices.SortFunc(series, func(x, y *volumeSeries) int {
		if c := cmp.Compare(y.points[0].V, x.points[0].V); c != 0 {
			return c
		}
		return cmp.Compare(x.name, y.name)
	})
	dst = append(dst, `{"status":"success","data":{"resultType":`...)
	if matrix {
		m := make([]logql.Series, len(series))
		for i, s := range series {
			m[i] = logql.Series{Metric: s.labels, Points: s.points}
		}
		dst = append(dst, `"matrix","result":`...)
		dst = appendMatrix(dst, m)
	} else {
		v := make([]logql.Sample, len(series))
		for i, s := range series {
			v[i] = logql.Sample{Metric: s.labels, T: s.points[0].T, V: s.points[0].V}
		}
		dst = append(dst, `"vector","result":`...)
		dst = appendVector(dst, v)
	}
	dst = append(dst, `,"stats":`...)
	dst = appendStats(dst, &logql.Stats{ExecTimeSeconds: execSeconds, TotalEntriesReturned: int64(len(series))})
	return append(dst, "}}"...)
}
