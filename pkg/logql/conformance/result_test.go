package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// result is an answer in a canonical form that the corpus files write as
// text (see render): times relative to t0, labels in Prometheus' text form.
type result struct {
	status  int    // HTTP status
	errMsg  string // body of an error answer
	typ     string // streams, matrix, vector, scalar
	streams []rstream
	series  []rseries // matrix series; vector samples (one point each)
	scalar  string
}

type rstream struct {
	labels  string
	entries []rentry
}

type rentry struct {
	ts     int64 // Unix ns
	line   string
	sm     string // categorized structured metadata, labels text; "" when none
	parsed string // categorized parsed labels
}

type rseries struct {
	labels string
	points []rpoint
}

type rpoint struct {
	t int64 // Unix ms
	v string
}

// decodeResponse reads a query answer and checks the rules of the envelope
// that hold for every answer: stream timestamps are strings of nanoseconds,
// values have 2 elements (3 with categorize-labels, and then the flag is
// echoed), vector samples carry the query time, matrix points lie on the
// step grid within [start, end].
func decodeResponse(status int, body []byte, r request) (result, error) {
	if status != 200 {
		return result{status: status, errMsg: strings.TrimRight(string(body), "\n")}, nil
	}
	var env struct {
		Status string `json:"status"`
		Data   struct {
			ResultType    string          `json:"resultType"`
			EncodingFlags []string        `json:"encodingFlags"`
			Result        json.RawMessage `json:"result"`
			Stats         json.RawMessage `json:"stats"`
		} `json:"data"`
	}
	if err := unmarshal(body, &env); err != nil {
		return result{}, err
	}
	if env.Status != "success" {
		return result{}, fmt.Errorf("status %q", env.Status)
	}
	res := result{status: status, typ: env.Data.ResultType}
	if len(env.Data.Stats) == 0 {
		return result{}, fmt.Errorf("no stats object")
	}
	flagged := len(env.Data.EncodingFlags) == 1 && env.Data.EncodingFlags[0] == "categorize-labels"
	if len(env.Data.EncodingFlags) > 0 && !flagged {
		return result{}, fmt.Errorf("unexpected encodingFlags %q", env.Data.EncodingFlags)
	}
	switch res.typ {
	case "streams":
		if flagged != r.categorize {
			return result{}, fmt.Errorf("encodingFlags %q for categorize=%v", env.Data.EncodingFlags, r.categorize)
		}
		var ss []struct {
			Stream map[string]string   `json:"stream"`
			Values [][]json.RawMessage `json:"values"`
		}
		if err := unmarshal(env.Data.Result, &ss); err != nil {
			return result{}, err
		}
		for _, s := range ss {
			rs := rstream{labels: labels.FromMap(s.Stream).String()}
			for _, v := range s.Values {
				e, err := decodeEntry(v, r.categorize)
				if err != nil {
					return result{}, err
				}
				rs.entries = append(rs.entries, e)
			}
			res.streams = append(res.streams, rs)
		}
	case "matrix":
		if flagged {
			return result{}, fmt.Errorf("encodingFlags on a matrix")
		}
		var ms []struct {
			Metric map[string]string   `json:"metric"`
			Values [][]json.RawMessage `json:"values"`
		}
		if err := unmarshal(env.Data.Result, &ms); err != nil {
			return result{}, err
		}
		for _, m := range ms {
			rs := rseries{labels: labels.FromMap(m.Metric).String()}
			for _, v := range m.Values {
				p, err := decodePoint(v)
				if err != nil {
					return result{}, err
				}
				if err := onGrid(p.t, r); err != nil {
					return result{}, err
				}
				rs.points = append(rs.points, p)
			}
			res.series = append(res.series, rs)
		}
	case "vector":
		var vs []struct {
			Metric map[string]string `json:"metric"`
			Value  []json.RawMessage `json:"value"`
		}
		if err := unmarshal(env.Data.Result, &vs); err != nil {
			return result{}, err
		}
		for _, v := range vs {
			p, err := decodePoint(v.Value)
			if err != nil {
				return result{}, err
			}
			if r.instant && r.params.Get("time") == "" && p.t != relMillis(r.at) {
				return result{}, fmt.Errorf("vector sample at %d, query at %d", p.t, relMillis(r.at))
			}
			res.series = append(res.series, rseries{labels: labels.FromMap(v.Metric).String(), points: []rpoint{p}})
		}
	case "scalar":
		var v []json.RawMessage
		if err := unmarshal(env.Data.Result, &v); err != nil {
			return result{}, err
		}
		p, err := decodePoint(v)
		if err != nil {
			return result{}, err
		}
		res.scalar = p.v
	default:
		return result{}, fmt.Errorf("unknown resultType %q", res.typ)
	}
	return res, nil
}

func unmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func decodeEntry(v []json.RawMessage, categorize bool) (rentry, error) {
	want := 2
	if categorize {
		want = 3
	}
	if len(v) != want {
		return rentry{}, fmt.Errorf("stream value with %d elements, want %d", len(v), want)
	}
	var ts, line string
	if err := json.Unmarshal(v[0], &ts); err != nil {
		return rentry{}, fmt.Errorf("entry timestamp %s is not a string", v[0])
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return rentry{}, fmt.Errorf("entry timestamp %q: %v", ts, err)
	}
	if err := json.Unmarshal(v[1], &line); err != nil {
		return rentry{}, err
	}
	e := rentry{ts: n, line: line}
	if categorize {
		var cat map[string]map[string]string
		if err := json.Unmarshal(v[2], &cat); err != nil {
			return rentry{}, fmt.Errorf("third element %s: %v", v[2], err)
		}
		for k, m := range cat {
			if len(m) == 0 {
				return rentry{}, fmt.Errorf("empty %q object in %s", k, v[2])
			}
			switch k {
			case "structuredMetadata":
				e.sm = labels.FromMap(m).String()
			case "parsed":
				e.parsed = labels.FromMap(m).String()
			default:
				return rentry{}, fmt.Errorf("unknown key %q in %s", k, v[2])
			}
		}
	}
	return e, nil
}

func decodePoint(v []json.RawMessage) (rpoint, error) {
	if len(v) != 2 {
		return rpoint{}, fmt.Errorf("point with %d elements", len(v))
	}
	var num json.Number
	if err := json.Unmarshal(v[0], &num); err != nil {
		return rpoint{}, fmt.Errorf("point time %s is not a number", v[0])
	}
	var val string
	if err := json.Unmarshal(v[1], &val); err != nil {
		return rpoint{}, fmt.Errorf("point value %s is not a string", v[1])
	}
	ms, err := secondsToMillis(num.String())
	if err != nil {
		return rpoint{}, err
	}
	return rpoint{t: ms, v: val}, nil
}

// secondsToMillis parses "1700000000" or "1700000000.123" exactly.
func secondsToMillis(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || len(frac) > 3 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	ms := int64(0)
	if frac != "" {
		f, err := strconv.ParseInt((frac + "00")[:3], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad time %q", s)
		}
		ms = f
	}
	return sec*1000 + ms, nil
}

func relMillis(sec float64) int64 { return t0*1000 + int64(math.Round(sec*1000)) }

// onGrid checks that a matrix point of a range query lies on one of its
// (aligned) steps.
func onGrid(t int64, r request) error {
	if r.instant || r.step == "" || len(r.params) > 0 {
		return nil
	}
	step, err := strconv.ParseFloat(r.step, 64)
	if err != nil {
		return nil
	}
	steps := alignedSteps(r.start, r.end, step)
	if !slices.Contains(steps, t*1e6) {
		return fmt.Errorf("matrix point at %d ms is not on a step of [%d, %d] by %v s", t, steps[0]/1e6, steps[len(steps)-1]/1e6, step)
	}
	return nil
}

// render writes a result as the corpus files do:
//
//	streams                       matrix                    vector            scalar 2
//	{app="a"}                     {app="a"} 10:1 20:2       {app="a"} 2
//	  12 line text                                                            error 400 message
//	    sm {trace_id="x"}
//	    parsed {level="info"}
//
// Times are seconds after t0 (fractions as needed); entries of a stream in
// the answer's order; values exactly as the answer spells them.
func render(r result) string {
	var b strings.Builder
	if r.status != 200 {
		fmt.Fprintf(&b, "error %d %s\n", r.status, r.errMsg)
		return b.String()
	}
	switch r.typ {
	case "scalar":
		fmt.Fprintf(&b, "scalar %s\n", r.scalar)
		return b.String()
	case "streams":
		b.WriteString("streams\n")
		for _, s := range r.streams {
			b.WriteString(s.labels + "\n")
			for _, e := range s.entries {
				fmt.Fprintf(&b, "  %s %s\n", relSeconds(e.ts-t0*1e9, 9), e.line)
				if e.sm != "" {
					fmt.Fprintf(&b, "    sm %s\n", e.sm)
				}
				if e.parsed != "" {
					fmt.Fprintf(&b, "    parsed %s\n", e.parsed)
				}
			}
		}
	case "matrix":
		b.WriteString("matrix\n")
		for _, s := range r.series {
			b.WriteString(s.labels)
			for _, p := range s.points {
				fmt.Fprintf(&b, " %s:%s", relSeconds(p.t-t0*1000, 3), p.v)
			}
			b.WriteString("\n")
		}
	case "vector":
		b.WriteString("vector\n")
		for _, s := range r.series {
			fmt.Fprintf(&b, "%s %s\n", s.labels, s.points[0].v)
		}
	default:
		fmt.Fprintf(&b, "%s\n", r.typ)
	}
	return b.String()
}

// relSeconds formats n units of 10^-digits seconds as seconds, without
// trailing zeros: relSeconds(1500, 3) = "1.5".
func relSeconds(n int64, digits int) string {
	neg := n < 0
	if neg {
		n = -n
	}
	unit := int64(math.Pow10(digits))
	s := strconv.FormatInt(n/unit, 10)
	if frac := n % unit; frac != 0 {
		f := fmt.Sprintf("%0*d", digits, frac)
		s += "." + strings.TrimRight(f, "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// sameApprox compares two results, the values of matrix and vector points
// within a relative 1e-9 (reference computations may sum in another
// order than the engine), everything else exactly.
func sameApprox(want, got result) bool {
	if want.status != got.status || want.errMsg != got.errMsg || want.typ != got.typ ||
		len(want.series) != len(got.series) || render(result{typ: "streams", streams: want.streams}) != render(result{typ: "streams", streams: got.streams}) {
		return false
	}
	if want.typ == "scalar" {
		return closeEnough(want.scalar, got.scalar)
	}
	for i := range want.series {
		w, g := want.series[i], got.series[i]
		if w.labels != g.labels || len(w.points) != len(g.points) {
			return false
		}
		for j := range w.points {
			if w.points[j].t != g.points[j].t || !closeEnough(w.points[j].v, g.points[j].v) {
				return false
			}
		}
	}
	return true
}

func closeEnough(a, b string) bool {
	if a == b {
		return true
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.IsNaN(x) && math.IsNaN(y)
	}
	return math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y))
}

// formatValue spells a sample value as Loki does (Prometheus' formatting).
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
