package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Metric queries over the real logs are evaluated on [metricStart,
// metricEnd] (seconds after t0).
const (
	metricStart = 1000
	metricEnd   = 1600
)

// samplesOf extracts one sample per entry that passes keep, with value(e).
func samplesOf(es []refEntry, keep func(refEntry) (refEntry, bool), value func(refEntry) (float64, bool)) []refSample {
	var out []refSample
	for _, e := range es {
		pe, ok := keep(e)
		if !ok {
			continue
		}
		v, ok := value(pe)
		if !ok {
			continue
		}
		out = append(out, refSample{labels: pe.labels, ts: pe.ts, v: v})
	}
	return out
}

func keepAll(e refEntry) (refEntry, bool) { return e, true }

func keepLine(f func(string) bool) func(refEntry) (refEntry, bool) {
	return func(e refEntry) (refEntry, bool) { return e, f(e.line) }
}

func countValue(refEntry) (float64, bool)   { return 1, true }
func bytesValue(e refEntry) (float64, bool) { return float64(len(e.line)), true }

func durSeconds(s string) float64 {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d.Seconds()
}

func rangeCases(t testing.TB) []refCase {
	var out []refCase
	type rs struct {
		rng  string
		step float64
	}
	grid := []rs{{"10s", 30}, {"30s", 60}, {"1m", 30}, {"5m", 60}, {"90s", 45}}
	fns := []string{"count_over_time", "rate", "bytes_over_time", "bytes_rate"}
	for _, app := range []string{"sshd", "httpd", "hdfs"} {
		es := realEntries(t, app)
		for gi, g := range grid {
			for fi, fn := range fns {
				if (gi+fi)%2 == 1 && g.rng != "1m" {
					continue // half of the grid is enough, all of 1m
				}
				value := countValue
				if strings.HasPrefix(fn, "bytes") {
					value = bytesValue
				}
				samples := samplesOf(es, keepAll, value)
				rng := int64(durSeconds(g.rng) * 1e9)
				f := func(t int64) refVec { return rangeAt(samples, fn, 0, rng, t) }
				out = append(out, refCase{
					name:   fmt.Sprintf("range/%s/%s/%s", app, fn, g.rng),
					req:    request{query: fmt.Sprintf("%s(%s[%s])", fn, selectorFor(app), g.rng), start: metricStart, end: metricEnd, step: fmt.Sprint(g.step)},
					want:   expectMatrix(f, metricStart, metricEnd, g.step),
					approx: true,
				})
			}
		}
		// Instant queries, including times between entries and off the second.
		for _, sec := range []float64{1200, 1499, 1600, 1234.567, 999} {
			for _, fn := range []string{"count_over_time", "bytes_rate"} {
				value := countValue
				if fn == "bytes_rate" {
					value = bytesValue
				}
				samples := samplesOf(es, keepAll, value)
				rng := int64(60e9)
				f := func(t int64) refVec { return rangeAt(samples, fn, 0, rng, t) }
				out = append(out, refCase{
					name:   fmt.Sprintf("instant/%s/%s/%v", app, fn, sec),
					req:    request{query: fmt.Sprintf("%s(%s[1m])", fn, selectorFor(app)), instant: true, at: sec},
					want:   expectVector(f, sec),
					approx: true,
				})
			}
		}
	}
	// Filters before the range, offsets.
	filtered := []struct {
		fn, app, filter, rng string
		keep                 func(string) bool
		offset               string
	}{
		{"count_over_time", "sshd", `|= "Failed password"`, "1m", contains("Failed password"), ""},
		{"rate", "sshd", `|~ "Invalid user (admin|test)"`, "2m", matches(`Invalid user (admin|test)`), ""},
		{"rate", "httpd", `|~ "\" 404 "`, "5m", matches(`" 404 `), ""},
		{"bytes_over_time", "hdfs", `|= "WARN"`, "5m", contains("WARN"), ""},
		{"count_over_time", "sshd", ``, "1m", func(string) bool { return true }, "5m"},
		{"bytes_over_time", "httpd", `!= "Mozilla"`, "2m", not(contains("Mozilla")), "30s"},
		{"count_over_time", "hdfs", `|= "INFO"`, "30s", contains("INFO"), "1m"},
	}
	for i, fc := range filtered {
		value := countValue
		if strings.HasPrefix(fc.fn, "bytes") {
			value = bytesValue
		}
		samples := samplesOf(realEntries(t, fc.app), keepLine(fc.keep), value)
		rng := int64(durSeconds(fc.rng) * 1e9)
		var off int64
		q := fmt.Sprintf("%s(%s %s [%s])", fc.fn, selectorFor(fc.app), fc.filter, fc.rng)
		if fc.offset != "" {
			off = int64(durSeconds(fc.offset) * 1e9)
			q = fmt.Sprintf("%s(%s %s [%s] offset %s)", fc.fn, selectorFor(fc.app), fc.filter, fc.rng, fc.offset)
		}
		f := func(t int64) refVec { return rangeAt(samples, fc.fn, 0, rng, t-off) }
		out = append(out, refCase{
			name:   fmt.Sprintf("range/filtered/%02d", i),
			req:    request{query: q, start: metricStart, end: metricEnd, step: "60"},
			want:   expectMatrix(f, metricStart, metricEnd, 60),
			approx: true,
		})
	}
	return out
}

func apacheParsed(e refEntry) (refEntry, bool) {
	return parsed(e, patternCaptures(apachePattern, e.line)), true
}

func hdfsParsed(e refEntry) (refEntry, bool) {
	return parsed(e, patternCaptures(hdfsPattern, e.line)), true
}

const (
	apacheQ = `| pattern "<ip> - - [<_>] \"<method> <path> <_>\" <status> <size> <_>"`
	hdfsQ   = `| pattern "<date> <time> <pid> <level> <component>: <_>"`
)

func aggregationCases(t testing.TB) []refCase {
	var out []refCase
	httpd := samplesOf(realEntries(t, "httpd"), keepAll, countValue)
	rate1m := func(t int64) refVec { return rangeAt(httpd, "rate", 0, 60e9, t) }
	for _, op := range []string{"sum", "avg", "min", "max", "count", "stddev", "stdvar"} {
		for gi, grouping := range []struct {
			q       string
			by      []string
			without bool
		}{{"", nil, false}, {" by (app)", []string{"app"}, false}, {" without (shard)", []string{"shard"}, true}} {
			f := func(t int64) refVec { return aggregate(op, grouping.by, grouping.without, rate1m(t)) }
			q := fmt.Sprintf(`%s%s (rate({app="httpd"}[1m]))`, op, grouping.q)
			if gi == 2 {
				// grouping after the argument
				q = fmt.Sprintf(`%s(rate({app="httpd"}[1m]))%s`, op, grouping.q)
			}
			out = append(out, refCase{
				name:   fmt.Sprintf("agg/%s/%d", op, gi),
				req:    request{query: q, start: metricStart, end: metricEnd, step: "60"},
				want:   expectMatrix(f, metricStart, metricEnd, 60),
				approx: true,
			})
		}
	}
	// Grouping by parsed labels.
	parsedHTTP := samplesOf(realEntries(t, "httpd"), apacheParsed, countValue)
	parsedHDFS := samplesOf(realEntries(t, "hdfs"), hdfsParsed, countValue)
	grouped := []struct {
		q       string
		samples []refSample
		rng     int64
		op      string
		by      []string
		without bool
	}{
		{`sum by (method) (count_over_time({app="httpd"} ` + apacheQ + ` [5m]))`, parsedHTTP, 300e9, "sum", []string{"method"}, false},
		{`sum by (status) (count_over_time({app="httpd"} ` + apacheQ + ` [5m]))`, parsedHTTP, 300e9, "sum", []string{"status"}, false},
		{`sum by (method, status) (count_over_time({app="httpd"} ` + apacheQ + ` [2m]))`, parsedHTTP, 120e9, "sum", []string{"method", "status"}, false},
		{`count by (status) (count_over_time({app="httpd"} ` + apacheQ + ` [5m]))`, parsedHTTP, 300e9, "count", []string{"status"}, false},
		{`sum by (level) (count_over_time({app="hdfs"} ` + hdfsQ + ` [2m]))`, parsedHDFS, 120e9, "sum", []string{"level"}, false},
		{`max by (level) (count_over_time({app="hdfs"} ` + hdfsQ + ` [1m]))`, parsedHDFS, 60e9, "max", []string{"level"}, false},
		{`sum without (date, time, pid, component) (count_over_time({app="hdfs"} ` + hdfsQ + ` [1m]))`, parsedHDFS, 60e9, "sum", []string{"date", "time", "pid", "component"}, true},
	}
	for i, g := range grouped {
		f := func(t int64) refVec {
			return aggregate(g.op, g.by, g.without, rangeAt(g.samples, "count_over_time", 0, g.rng, t))
		}
		out = append(out, refCase{
			name:   fmt.Sprintf("agg/grouped/%02d", i),
			req:    request{query: g.q, start: metricStart, end: metricEnd, step: "60"},
			want:   expectMatrix(f, metricStart, metricEnd, 60),
			approx: true,
		})
	}
	// topk / bottomk at an instant, with k moved off any tie.
	byIP := func(t int64) refVec {
		return aggregate("sum", []string{"ip"}, false, rangeAt(parsedHTTP, "count_over_time", 0, 600e9, t))
	}
	for i, tk := range []struct {
		op  string
		k   int
		sec float64
	}{{"topk", 3, 1600}, {"topk", 5, 1300}, {"bottomk", 2, 1600}} {
		v := byIP(at(tk.sec))
		k := tieFreeK(v, tk.k, tk.op == "topk")
		f := func(int64) refVec { return topk(v, k, tk.op == "topk") }
		out = append(out, refCase{
			name: fmt.Sprintf("agg/%s/%d", tk.op, i),
			req:  request{query: fmt.Sprintf(`%s(%d, sum by (ip) (count_over_time({app="httpd"} %s [10m])))`, tk.op, k, apacheQ), instant: true, at: tk.sec},
			want: expectVector(f, tk.sec),
		})
	}
	// Binary operations between aggregations.
	sshd := samplesOf(realEntries(t, "sshd"), keepAll, countValue)
	bin := []struct {
		q string
		f func(t int64) refVec
	}{
		{`sum(count_over_time({app="httpd"}[1m])) / sum(count_over_time({app="sshd"}[1m]))`, func(t int64) refVec {
			a := aggregate("sum", nil, false, rangeAt(httpd, "count_over_time", 0, 60e9, t))
			b := aggregate("sum", nil, false, rangeAt(sshd, "count_over_time", 0, 60e9, t))
			if len(a) == 0 || len(b) == 0 {
				return nil
			}
			a[0].v /= b[0].v
			return a
		}},
		{`sum by (shard) (count_over_time({app="httpd"}[1m])) * 2`, func(t int64) refVec {
			v := aggregate("sum", []string{"shard"}, false, rangeAt(httpd, "count_over_time", 0, 60e9, t))
			for i := range v {
				v[i].v *= 2
			}
			return v
		}},
		{`sum by (shard) (count_over_time({app="httpd"}[1m])) > 29`, func(t int64) refVec {
			v := aggregate("sum", []string{"shard"}, false, rangeAt(httpd, "count_over_time", 0, 60e9, t))
			var out refVec
			for _, s := range v {
				if s.v > 29 {
					out = append(out, s)
				}
			}
			return out
		}},
		{`sum by (shard) (count_over_time({app="httpd"}[1m])) > bool 29`, func(t int64) refVec {
			v := aggregate("sum", []string{"shard"}, false, rangeAt(httpd, "count_over_time", 0, 60e9, t))
			for i := range v {
				v[i].v = b2f(v[i].v > 29)
			}
			return v
		}},
	}
	for i, b := range bin {
		out = append(out, refCase{
			name:   fmt.Sprintf("agg/binary/%02d", i),
			req:    request{query: b.q, start: metricStart, end: metricEnd, step: "60"},
			want:   expectMatrix(b.f, metricStart, metricEnd, 60),
			approx: true,
		})
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// tieFreeK returns the smallest k' ≥ k where the k'-th and (k'+1)-th values
// differ, so which series topk keeps is defined.
func tieFreeK(v refVec, k int, desc bool) int {
	vals := make([]float64, len(v))
	for i, s := range v {
		vals[i] = s.v
	}
	slices.Sort(vals)
	if desc {
		slices.Reverse(vals)
	}
	for k < len(vals) && vals[k-1] == vals[k] {
		k++
	}
	return k
}

func topk(v refVec, k int, desc bool) refVec {
	s := slices.Clone(v)
	slices.SortStableFunc(s, func(a, b struct {
		labels map[string]string
		v      float64
	}) int {
		if desc {
			return cmpFloat(b.v, a.v)
		}
		return cmpFloat(a.v, b.v)
	})
	if len(s) > k {
		s = s[:k]
	}
	return s
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func unwrapCases(t testing.TB) []refCase {
	var out []refCase
	pid := func(e refEntry) (float64, bool) { return num(e.labels["pid"]) }
	dropPid := func(e refEntry) (refEntry, bool) {
		pe, _ := hdfsParsed(e)
		if pe.labels["pid"] == "" {
			return pe, false
		}
		return pe, true
	}
	// The unwrapped label leaves the series labels.
	withoutPid := func(ss []refSample) []refSample {
		out := make([]refSample, len(ss))
		for i, s := range ss {
			lb := map[string]string{}
			for k, v := range s.labels {
				if k != "pid" {
					lb[k] = v
				}
			}
			out[i] = refSample{labels: lb, ts: s.ts, v: s.v}
		}
		return out
	}
	samples := withoutPid(samplesOf(realEntries(t, "hdfs"), dropPid, pid))
	byLevel := func(ss []refSample) []refSample {
		out := make([]refSample, len(ss))
		for i, s := range ss {
			out[i] = refSample{labels: map[string]string{"level": s.labels["level"]}, ts: s.ts, v: s.v}
		}
		return out
	}
	grouped := byLevel(samples)
	type uc struct {
		fn    string
		param float64
		rng   string
	}
	for i, u := range []uc{
		{"avg_over_time", 0, "1m"}, {"min_over_time", 0, "5m"}, {"max_over_time", 0, "2m"},
		{"first_over_time", 0, "1m"}, {"last_over_time", 0, "5m"}, {"stdvar_over_time", 0, "2m"},
		{"stddev_over_time", 0, "5m"}, {"quantile_over_time", 0.5, "2m"}, {"quantile_over_time", 0.9, "5m"},
		{"quantile_over_time", 0.25, "1m"}, {"avg_over_time", 0, "30s"},
	} {
		rng := int64(durSeconds(u.rng) * 1e9)
		prefix := u.fn + "("
		if u.fn == "quantile_over_time" {
			prefix += strconv.FormatFloat(u.param, 'f', -1, 64) + ", "
		}
		f := func(t int64) refVec { return rangeAt(grouped, u.fn, u.param, rng, t) }
		out = append(out, refCase{
			name:   fmt.Sprintf("unwrap/hdfs/%02d/%s", i, u.fn),
			req:    request{query: fmt.Sprintf(`%s{app="hdfs"} %s | unwrap pid [%s]) by (level)`, prefix, hdfsQ, u.rng), start: metricStart, end: metricEnd, step: "60"},
			want:   expectMatrix(f, metricStart, metricEnd, 60),
			approx: true,
		})
		if i < 4 {
			// Without grouping: every label but pid.
			g := func(t int64) refVec { return rangeAt(samples, u.fn, u.param, rng, t) }
			out = append(out, refCase{
				name:   fmt.Sprintf("unwrap/hdfs/%02d/%s/nogroup", i, u.fn),
				req:    request{query: fmt.Sprintf(`%s{app="hdfs"} %s | unwrap pid [%s])`, prefix, hdfsQ, u.rng), start: metricStart, end: metricEnd, step: "60"},
				want:   expectMatrix(g, metricStart, metricEnd, 60),
				approx: true,
			})
		}
	}
	for i, fn := range []string{"sum_over_time", "rate"} {
		f := func(t int64) refVec {
			return aggregate("sum", []string{"level"}, false, rangeAt(samples, fn, 0, 120e9, t))
		}
		out = append(out, refCase{
			name:   fmt.Sprintf("unwrap/hdfs/sum/%d", i),
			req:    request{query: fmt.Sprintf(`sum by (level) (%s({app="hdfs"} %s | unwrap pid [2m]))`, fn, hdfsQ), start: metricStart, end: metricEnd, step: "60"},
			want:   expectMatrix(f, metricStart, metricEnd, 60),
			approx: true,
		})
	}
	// Apache sizes: "-" fails to convert and is filtered by __error__="".
	size := func(conv string) func(refEntry) (float64, bool) {
		return func(e refEntry) (float64, bool) {
			n, err := strconv.ParseUint(e.labels["size"], 10, 64)
			return float64(n), err == nil
		}
	}
	apacheNoSize := func(e refEntry) (refEntry, bool) {
		pe, _ := apacheParsed(e)
		lb := map[string]string{}
		for k, v := range pe.labels {
			if k != "size" {
				lb[k] = v
			}
		}
		return refEntry{labels: lb, ts: pe.ts, line: pe.line}, pe.labels["size"] != ""
	}
	var sizes []refSample
	for _, e := range realEntries(t, "httpd") {
		pe, _ := apacheParsed(e)
		v, ok := size("")(pe)
		ne, has := apacheNoSize(e)
		if !ok || !has {
			continue
		}
		sizes = append(sizes, refSample{labels: ne.labels, ts: ne.ts, v: v})
	}
	for i, q := range []struct {
		q       string
		fn, op  string
		by      []string
		rng     int64
		isRange bool
	}{
		{`sum by (shard) (sum_over_time({app="httpd"} ` + apacheQ + ` | unwrap bytes(size) | __error__="" [5m]))`, "sum_over_time", "sum", []string{"shard"}, 300e9, false},
		{`max by (method) (max_over_time({app="httpd"} ` + apacheQ + ` | unwrap size | __error__="" [5m]))`, "max_over_time", "max", []string{"method"}, 300e9, false},
		{`sum by (status) (rate({app="httpd"} ` + apacheQ + ` | unwrap size | __error__="" [2m]))`, "rate", "sum", []string{"status"}, 120e9, false},
		{`avg by (shard) (avg_over_time({app="httpd"} ` + apacheQ + ` | unwrap bytes(size) | __error__="" [1m]))`, "avg_over_time", "avg", []string{"shard"}, 60e9, false},
	} {
		f := func(t int64) refVec { return aggregate(q.op, q.by, false, rangeAt(sizes, q.fn, 0, q.rng, t)) }
		out = append(out, refCase{
			name:   fmt.Sprintf("unwrap/httpd/%02d", i),
			req:    request{query: q.q, start: metricStart, end: metricEnd, step: "60"},
			want:   expectMatrix(f, metricStart, metricEnd, 60),
			approx: true,
		})
	}
	return out
}

// ---- json over nginx status snapshots ----

// jsonPath reads a value the way `| json l="a.b"` documents: strings
// unescaped, numbers and booleans as written, objects and arrays as their
// JSON text, null and missing paths as "".
func jsonPath(line string, path ...string) string {
	var cur json.RawMessage = json.RawMessage(line)
	for _, p := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cur, &m); err != nil {
			return ""
		}
		v, ok := m[p]
		if !ok {
			return ""
		}
		cur = v
	}
	cur = bytes.TrimSpace(cur)
	if len(cur) > 0 && cur[0] == '"' {
		var s string
		_ = json.Unmarshal(cur, &s)
		return s
	}
	if string(cur) == "null" {
		return ""
	}
	return string(cur)
}

func jsonCases(t testing.TB) []refCase {
	es := realEntries(t, "nginx")
	var out []refCase
	var kept []refEntry
	for _, e := range es {
		ex := map[string]string{
			"address": jsonPath(e.line, "address"),
			"pid":     jsonPath(e.line, "pid"),
			"active":  jsonPath(e.line, "connections", "active"),
			"total":   jsonPath(e.line, "requests", "total"),
			"hg_req":  jsonPath(e.line, "server_zones", "hg.nginx.org", "requests"),
		}
		pe := parsed(e, ex)
		pe.line = fmt.Sprintf("%s %s %s %s %s", ex["address"], ex["pid"], ex["active"], ex["total"], ex["hg_req"])
		kept = append(kept, pe)
	}
	out = append(out, refCase{
		name: "json/nginx/params",
		req: request{query: `{app="nginx"} | json address, pid, active="connections.active", total="requests.total", hg_req="server_zones[\"hg.nginx.org\"].requests"` +
			` | line_format "{{.address}} {{.pid}} {{.active}} {{.total}} {{.hg_req}}"`, start: realStart, end: realEnd, limit: 100},
		want: expectStreams(kept, true, 100),
	})
	// A numeric filter on an extracted field.
	kept = nil
	for _, e := range es {
		a := jsonPath(e.line, "connections", "active")
		v, ok := num(a)
		if !ok || v < 3 {
			continue
		}
		kept = append(kept, parsed(e, map[string]string{"conns": a}))
	}
	out = append(out, refCase{
		name: "json/nginx/filter",
		req:  request{query: `{app="nginx"} | json conns="connections.active" | conns >= 3`, start: realStart, end: realEnd, limit: 100, direction: "forward"},
		want: expectStreams(kept, false, 100),
	})
	// A metric over an extracted number.
	var samples []refSample
	for _, e := range es {
		if v, ok := num(jsonPath(e.line, "connections", "active")); ok {
			samples = append(samples, refSample{labels: e.labels, ts: e.ts, v: v})
		}
	}
	f := func(t int64) refVec { return rangeAt(samples, "max_over_time", 0, 120e9, t) }
	out = append(out, refCase{
		name:   "json/nginx/unwrap",
		req:    request{query: `max_over_time({app="nginx"} | json active="connections.active" | unwrap active [2m])`, start: metricStart, end: metricEnd, step: "60"},
		want:   expectMatrix(f, metricStart, metricEnd, 60),
		approx: true,
	})
	return out
}
