package conformance

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// This file is the plain reference semantics the generated cases are
// checked against: written from Loki's documentation, sharing no code with
// the engine. Each helper does one documented thing the obvious way.

// refCase is a query whose answer is computed by the reference code.
type refCase struct {
	name   string
	req    request
	want   result
	approx bool // compare sample values within 1e-9 (sums in another order)
}

// refEntry is one log entry as the reference sees it: its labels (stream
// labels, service_name, parsed labels), time and line.
type refEntry struct {
	labels map[string]string
	ts     int64
	line   string
}

var (
	realOnce sync.Once
	realData map[string][]refEntry // by app, in push order
	realErr  error
)

// realEntries returns the entries of the real logs of app, each with the
// labels it is stored under (service_name added from app, as Loki does).
func realEntries(t testing.TB, app string) []refEntry {
	t.Helper()
	realOnce.Do(func() {
		realData = map[string][]refEntry{}
		for _, f := range realFiles {
			lines, err := readReal(f)
			if err != nil {
				realErr = err
				return
			}
			for _, l := range lines {
				lb := maps.Clone(l.labels)
				lb["service_name"] = lb["app"]
				realData[lb["app"]] = append(realData[lb["app"]], refEntry{labels: lb, ts: l.ts, line: l.line})
			}
		}
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	out := realData[app]
	if len(out) == 0 {
		t.Fatalf("no real entries for app %q", app)
	}
	return out
}

func lstr(m map[string]string) string {
	clean := map[string]string{}
	for k, v := range m {
		if v != "" {
			clean[k] = v
		}
	}
	return labels.FromMap(clean).String()
}

// expectStreams is a log query's answer: the limit newest (backward) or
// oldest (forward) entries, grouped by label set, streams sorted by their
// label text, entries in the query's direction.
func expectStreams(es []refEntry, backward bool, limit int) result {
	sorted := slices.Clone(es)
	slices.SortStableFunc(sorted, func(a, b refEntry) int {
		if backward {
			return cmp.Compare(b.ts, a.ts)
		}
		return cmp.Compare(a.ts, b.ts)
	})
	if len(sorted) > limit {
		sorted = sorted[:limit]
	}
	byKey := map[string]*rstream{}
	for _, e := range sorted {
		k := lstr(e.labels)
		s, ok := byKey[k]
		if !ok {
			s = &rstream{labels: k}
			byKey[k] = s
		}
		s.entries = append(s.entries, rentry{ts: e.ts, line: e.line})
	}
	res := result{status: 200, typ: "streams"}
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		res.streams = append(res.streams, *byKey[k])
	}
	return res
}

// ---- line filters ----

// refPatternMatch is the |> line filter with a pattern of literals and
// <_>, as Loki's pattern filter tests a line: each literal is found after the
// previous one (the first one anywhere in the line); a capture is never
// empty, so a literal must not follow the previous one directly; a pattern
// ending with a literal must end the line, one ending with <_> must leave
// something for it.
func refPatternMatch(pattern, line string) bool {
	parts := strings.Split(pattern, "<_>")
	pos := 0
	for i, lit := range parts {
		if lit == "" {
			continue
		}
		j := strings.Index(line[pos:], lit)
		if j < 0 || i > 0 && j == 0 {
			return false
		}
		pos += j + len(lit)
	}
	if parts[len(parts)-1] != "" {
		return pos == len(line)
	}
	return pos < len(line)
}

// refPatternCapture applies a pattern with named captures the documented
// way: literals are found left to right, a capture takes the text up to the
// next literal (or the rest of the line when it is last). It returns the
// named captures, or false when a literal is missing.
func refPatternCapture(pattern, line string) (map[string]string, bool) {
	type tok struct {
		lit  string
		name string
		cap  bool
	}
	var toks []tok
	for p := pattern; p != ""; {
		i := strings.Index(p, "<")
		j := strings.Index(p, ">")
		if i < 0 || j < i {
			toks = append(toks, tok{lit: p})
			break
		}
		if i > 0 {
			toks = append(toks, tok{lit: p[:i]})
		}
		toks = append(toks, tok{name: p[i+1 : j], cap: true})
		p = p[j+1:]
	}
	out := map[string]string{}
	pos := 0
	for i, t := range toks {
		if !t.cap {
			if i == 0 {
				if !strings.HasPrefix(line, t.lit) {
					return nil, false
				}
				pos = len(t.lit)
			}
			continue
		}
		var val string
		if i == len(toks)-1 {
			val, pos = line[pos:], len(line)
		} else {
			next := toks[i+1].lit
			j := strings.Index(line[pos:], next)
			if j < 0 {
				return nil, false
			}
			val = line[pos : pos+j]
			pos += j + len(next)
		}
		if t.name != "_" {
			out[t.name] = val
		}
	}
	return out, true
}

// ---- metric evaluation ----

// refSample is one sample extracted from an entry.
type refSample struct {
	labels map[string]string
	ts     int64
	v      float64
}

type refVec []struct {
	labels map[string]string
	v      float64
}

// rangeAt evaluates a range function at time t (ns) over the window
// (t-rng, t] of every series. Series without samples in the window are
// absent.
func rangeAt(samples []refSample, fn string, param float64, rng, t int64) refVec {
	bySeries := map[string][]refSample{}
	for _, s := range samples {
		if s.ts > t-rng && s.ts <= t {
			k := lstr(s.labels)
			bySeries[k] = append(bySeries[k], s)
		}
	}
	var out refVec
	for _, k := range slices.Sorted(maps.Keys(bySeries)) {
		ss := bySeries[k]
		slices.SortStableFunc(ss, func(a, b refSample) int { return cmp.Compare(a.ts, b.ts) })
		vals := make([]float64, len(ss))
		for i, s := range ss {
			vals[i] = s.v
		}
		secs := float64(rng) / 1e9
		var v float64
		switch fn {
		case "count_over_time":
			v = float64(len(vals))
		case "rate":
			v = sum(vals) / secs
		case "sum_over_time", "bytes_over_time":
			v = sum(vals)
		case "bytes_rate":
			v = sum(vals) / secs
		case "avg_over_time":
			v = sum(vals) / float64(len(vals))
		case "min_over_time":
			v = slices.Min(vals)
		case "max_over_time":
			v = slices.Max(vals)
		case "first_over_time":
			v = vals[0]
		case "last_over_time":
			v = vals[len(vals)-1]
		case "stdvar_over_time":
			v = variance(vals)
		case "stddev_over_time":
			v = math.Sqrt(variance(vals))
		case "quantile_over_time":
			v = quantile(param, vals)
		default:
			panic("no reference for " + fn)
		}
		out = append(out, struct {
			labels map[string]string
			v      float64
		}{ss[0].labels, v})
	}
	return out
}

func sum(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += v
	}
	return s
}

// variance is the population variance, as Prometheus' stdvar_over_time.
func variance(vs []float64) float64 {
	mean := sum(vs) / float64(len(vs))
	var sq float64
	for _, v := range vs {
		sq += (v - mean) * (v - mean)
	}
	return sq / float64(len(vs))
}

// quantile interpolates linearly between the closest ranks, as Prometheus'
// quantile_over_time: rank φ·(n−1) of the sorted values.
func quantile(q float64, vs []float64) float64 {
	s := slices.Clone(vs)
	sort.Float64s(s)
	rank := q * float64(len(s)-1)
	lo := math.Floor(rank)
	hi := math.Ceil(rank)
	w := rank - lo
	return s[int(lo)]*(1-w) + s[int(hi)]*w
}

// aggregate is a vector aggregation (sum, avg, min, max, count, stddev,
// stdvar) grouped by the given labels (or all but them with without).
func aggregate(op string, by []string, without bool, v refVec) refVec {
	groups := map[string][]float64{}
	glabels := map[string]map[string]string{}
	for _, s := range v {
		g := map[string]string{}
		for k, val := range s.labels {
			if slices.Contains(by, k) != without {
				g[k] = val
			}
		}
		k := lstr(g)
		groups[k] = append(groups[k], s.v)
		glabels[k] = g
	}
	var out refVec
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		vals := groups[k]
		var r float64
		switch op {
		case "sum":
			r = sum(vals)
		case "avg":
			r = sum(vals) / float64(len(vals))
		case "min":
			r = slices.Min(vals)
		case "max":
			r = slices.Max(vals)
		case "count":
			r = float64(len(vals))
		case "stdvar":
			r = variance(vals)
		case "stddev":
			r = math.Sqrt(variance(vals))
		default:
			panic("no reference for " + op)
		}
		out = append(out, struct {
			labels map[string]string
			v      float64
		}{glabels[k], r})
	}
	return out
}

// evalFn computes the vector of a metric query at time t (ns).
type evalFn func(t int64) refVec

// alignedSteps are the evaluation times (Unix ns) of a range query over
// [start, end] (seconds after t0): start rounded down and end rounded up to
// a multiple of step (in Unix time), as Loki's query frontend aligns the
// metric queries it splits by time, then every step in between.
func alignedSteps(start, end, step float64) []int64 {
	s, e, st := at(start), at(end), int64(step*1e9+0.5)
	s -= s % st
	if m := e % st; m != 0 {
		e += st - m
	}
	var out []int64
	for t := s; t <= e; t += st {
		out = append(out, t)
	}
	return out
}

// expectMatrix evaluates f at every step of a range query and assembles
// the series, sorted by labels, as a range query answers.
func expectMatrix(f evalFn, start, end, step float64) result {
	bySeries := map[string]*rseries{}
	for _, t := range alignedSteps(start, end, step) {
		for _, s := range f(t) {
			key := lstr(s.labels)
			rs, ok := bySeries[key]
			if !ok {
				rs = &rseries{labels: key}
				bySeries[key] = rs
			}
			rs.points = append(rs.points, rpoint{t: t / 1e6, v: formatValue(s.v)})
		}
	}
	res := result{status: 200, typ: "matrix"}
	for _, k := range slices.Sorted(maps.Keys(bySeries)) {
		res.series = append(res.series, *bySeries[k])
	}
	return res
}

// expectVector evaluates f at one time, samples sorted by labels.
func expectVector(f evalFn, sec float64) result {
	res := result{status: 200, typ: "vector"}
	t := at(sec)
	v := f(t)
	slices.SortFunc(v, func(a, b struct {
		labels map[string]string
		v      float64
	}) int {
		return strings.Compare(lstr(a.labels), lstr(b.labels))
	})
	for _, s := range v {
		res.series = append(res.series, rseries{labels: lstr(s.labels), points: []rpoint{{t: t / 1e6, v: formatValue(s.v)}}})
	}
	return res
}

// TestReference runs the generated cases against the reference answers.
func TestReference(t *testing.T) {
	s := getStack(t)
	for _, c := range referenceCases(t) {
		t.Run(c.name, func(t *testing.T) {
			got := s.run(t, c.req)
			ok := render(got) == render(c.want)
			if !ok && c.approx {
				ok = sameApprox(c.want, got)
			}
			if !ok {
				t.Errorf("query: %s\n--- want\n%s--- got\n%s", c.req.query, clip(render(c.want)), clip(render(got)))
			}
		})
	}
}

func clip(s string) string {
	if len(s) > 6000 {
		return s[:6000] + fmt.Sprintf("… (%d bytes)\n", len(s))
	}
	return s
}
