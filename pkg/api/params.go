package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/skald-logs/skald/pkg/logproto"
)

// Defaults of Loki's query parameters.
const (
	defaultQueryLimit = 100
	defaultSince      = time.Hour
)

// Loki's messages for bad query parameters.
var (
	errEndBeforeStart     = badRequest("end timestamp must not be before or equal to start time")
	errZeroOrNegativeStep = badRequest("zero or negative query resolution step widths are not accepted. Try a positive integer")
	errNegativeInterval   = badRequest("interval must be >= 0")
	errLimitNotPositive   = badRequest("limit must be a positive value")
)

// rangeParams are the parsed parameters of query_range (and index/stats).
// Times and durations are nanoseconds.
type rangeParams struct {
	query     string
	start     int64
	end       int64
	step      int64
	interval  int64
	limit     uint32
	direction logproto.Direction
}

// parseRangeParams reads query_range's parameters in Loki's order (bounds,
// end >= start, limit, direction, step, step > 0, points, interval), so the
// first error a request hits is the one Loki reports.
func (a *API) parseRangeParams(r *http.Request, now int64) (rangeParams, error) {
	var p rangeParams
	var err error
	p.query = r.Form.Get("query")
	if p.start, p.end, err = parseOrderedBounds(r, now); err != nil {
		return p, err
	}
	if p.limit, err = parseLimit(r.Form.Get("limit")); err != nil {
		return p, err
	}
	if p.direction, err = parseDirection(r.Form.Get("direction")); err != nil {
		return p, err
	}
	if p.step, err = a.parseStep(r, p.start, p.end); err != nil {
		return p, err
	}
	if v := r.Form.Get("interval"); v != "" {
		if p.interval, err = parseSecondsOrDuration(v); err != nil {
			return p, err
		}
	}
	if p.interval < 0 {
		return p, errNegativeInterval
	}
	return p, nil
}

// instantParams are the parsed parameters of /query.
type instantParams struct {
	query     string
	ts        int64
	limit     uint32
	direction logproto.Direction
}

// parseInstantParams reads /query's parameters in Loki's order (limit,
// time, direction).
func parseInstantParams(r *http.Request, now int64) (instantParams, error) {
	var p instantParams
	var err error
	p.query = r.Form.Get("query")
	if p.limit, err = parseLimit(r.Form.Get("limit")); err != nil {
		return p, err
	}
	if p.ts, err = parseTimestamp(r.Form.Get("time"), now); err != nil {
		return p, badRequest(err.Error())
	}
	if p.direction, err = parseDirection(r.Form.Get("direction")); err != nil {
		return p, err
	}
	return p, nil
}

// parseBounds reads start, end and since. end defaults to now; start
// defaults to since (default 1h) before end, or before now when end lies in
// the future.
func parseBounds(r *http.Request, now int64) (start, end int64, err error) {
	since := int64(defaultSince)
	if v := r.Form.Get("since"); v != "" {
		d, err := model.ParseDuration(v)
		if err != nil {
			return 0, 0, badRequest("could not parse 'since' parameter: " + err.Error())
		}
		since = int64(d)
	}
	end, err = parseTimestamp(r.Form.Get("end"), now)
	if err != nil {
		return 0, 0, badRequest("could not parse 'end' parameter: " + err.Error())
	}
	endOrNow := min(end, now)
	start, err = parseTimestamp(r.Form.Get("start"), satSub(endOrNow, since))
	if err != nil {
		return 0, 0, badRequest("could not parse 'start' parameter: " + err.Error())
	}
	return start, end, nil
}

// parseOrderedBounds is parseBounds refusing an end before the start.
func parseOrderedBounds(r *http.Request, now int64) (start, end int64, err error) {
	if start, end, err = parseBounds(r, now); err != nil {
		return 0, 0, err
	}
	if end < start {
		return 0, 0, errEndBeforeStart
	}
	return start, end, nil
}

// parseStep reads step for the range [start, end] (default defaultStep):
// it must be positive and give at most MaxQueryPoints points.
func (a *API) parseStep(r *http.Request, start, end int64) (int64, error) {
	step := defaultStep(start, end)
	if v := r.Form.Get("step"); v != "" {
		var err error
		if step, err = parseSecondsOrDuration(v); err != nil {
			return 0, err
		}
	}
	if step <= 0 {
		return 0, errZeroOrNegativeStep
	}
	if satSub(end, start)/step > int64(a.cfg.MaxQueryPoints) {
		return 0, badRequest(fmt.Sprintf("exceeded maximum resolution of %s points per time series. Try increasing the value of the step parameter",
			thousands(a.cfg.MaxQueryPoints)))
	}
	return step, nil
}

// parseTimestamp reads a time parameter as Loki does and returns Unix
// nanoseconds (def when value is empty):
//   - RFC3339 or RFC3339Nano;
//   - a number with a '.': seconds with a fraction rounded to milliseconds,
//     or, when the integer part exceeds 1e10, nanoseconds;
//   - an integer: seconds up to 1e10 (so time=4000000000 is the year 2096),
//     nanoseconds above.
//
// Times beyond what int64 nanoseconds can hold (years before 1678 or after
// 2262) are clamped rather than rejected.
func parseTimestamp(value string, def int64) (int64, error) {
	if value == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, value); err == nil {
		return clampTimeToNanos(t), nil
	}
	if strings.Contains(value, ".") {
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, err
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, errors.New("floating point timestamp is NaN or Inf")
		}
		high, low := math.Modf(f)
		if high >= math.MaxInt64 || high < math.MinInt64 {
			return 0, errors.New("floating point timestamp exceeds integer range")
		}
		if high <= 1e10 {
			low = math.Round(low*1000) / 1000
			return satAdd(satMul(int64(high), int64(time.Second)), int64(low*float64(time.Second))), nil
		}
		return int64(high), nil
	}
	v, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, err
	}
	if v <= 1e10 {
		return satMul(v, int64(time.Second)), nil
	}
	return v, nil
}

// clampTimeToNanos is t.UnixNano() without overflow.
func clampTimeToNanos(t time.Time) int64 {
	sec := t.Unix()
	switch {
	case sec > math.MaxInt64/int64(time.Second)-1:
		return math.MaxInt64
	case sec < math.MinInt64/int64(time.Second)+1:
		return math.MinInt64
	}
	return t.UnixNano()
}

// parseSecondsOrDuration reads step or interval: a float is seconds,
// anything else a Prometheus duration such as 1m30s or 2000ms.
func parseSecondsOrDuration(value string) (int64, error) {
	if f, err := strconv.ParseFloat(value, 64); err == nil {
		ns := f * float64(time.Second)
		if ns >= math.MaxInt64 || ns < math.MinInt64 || math.IsNaN(ns) {
			return 0, badRequest(fmt.Sprintf("cannot parse %q to a valid duration. It overflows int64", value))
		}
		return int64(ns), nil
	}
	if d, err := model.ParseDuration(value); err == nil {
		return int64(d), nil
	}
	return 0, badRequest(fmt.Sprintf("cannot parse %q to a valid duration", value))
}

// defaultStep is max(floor((end-start)/250s), 1s), in nanoseconds.
func defaultStep(start, end int64) int64 {
	secs := math.Floor(float64(satSub(end, start)) / float64(time.Second) / 250)
	return int64(math.Max(secs, 1)) * int64(time.Second)
}

// parseLimit reads limit (default 100); it must be a positive uint32.
func parseLimit(value string) (uint32, error) {
	if value == "" {
		return defaultQueryLimit, nil
	}
	l, err := strconv.Atoi(value)
	if err != nil {
		return 0, badRequest(err.Error())
	}
	if l <= 0 {
		return 0, errLimitNotPositive
	}
	if l > math.MaxUint32 {
		return 0, badRequest(fmt.Sprintf("limit value %d is out of range [0, %d]", l, uint32(math.MaxUint32)))
	}
	return uint32(l), nil
}

// parseDirection reads direction (default backward), in any case.
func parseDirection(value string) (logproto.Direction, error) {
	if value == "" {
		return logproto.Backward, nil
	}
	d, ok := logproto.ParseDirection(value)
	if !ok {
		return d, badRequest(fmt.Sprintf("invalid direction '%s'", value))
	}
	return d, nil
}

// parseSeriesGroups returns the distinct, sorted values of match[] and
// match. A lone "{}" (spaces ignored) means no filter, as in Loki.
func parseSeriesGroups(r *http.Request) []string {
	groups := make([]string, 0, len(r.Form["match[]"])+len(r.Form["match"]))
	groups = append(groups, r.Form["match[]"]...)
	groups = append(groups, r.Form["match"]...)
	slices.Sort(groups)
	groups = slices.Compact(groups)
	if len(groups) == 1 && strings.ReplaceAll(groups[0], " ", "") == "{}" {
		return nil
	}
	return groups
}

// thousands formats n with comma separators, as Loki's "11,000" message.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func satAdd(a, b int64) int64 {
	c := a + b
	if (c > a) == (b > 0) {
		return c
	}
	if b > 0 {
		return math.MaxInt64
	}
	return math.MinInt64
}

func satSub(a, b int64) int64 {
	if b == math.MinInt64 {
		if a >= 0 {
			return math.MaxInt64
		}
		return a - b
	}
	return satAdd(a, -b)
}

func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		if (a > 0) == (b > 0) {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return c
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
