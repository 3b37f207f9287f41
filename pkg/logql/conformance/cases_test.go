package conformance

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// referenceCases generates the queries over the real logs whose answers the
// reference code computes.
func referenceCases(t testing.TB) []refCase {
	t.Helper()
	var out []refCase
	out = append(out, filterCases(t)...)
	out = append(out, limitCases(t)...)
	out = append(out, parserCases(t)...)
	out = append(out, rangeCases(t)...)
	out = append(out, aggregationCases(t)...)
	out = append(out, unwrapCases(t)...)
	return out
}

// realStart and realEnd bound every query over the real logs (seconds
// after t0): the real entries sit in [1000, 1600].
const (
	realStart = 990
	realEnd   = 1700
)

func selectorFor(app string) string { return fmt.Sprintf(`{app=%q}`, app) }

// ---- line filters ----

type filterSpec struct {
	app  string
	expr string // the pipeline after the selector
	keep func(line string) bool
}

func contains(s string) func(string) bool {
	return func(l string) bool { return strings.Contains(l, s) }
}

func not(f func(string) bool) func(string) bool { return func(l string) bool { return !f(l) } }

func all(fs ...func(string) bool) func(string) bool {
	return func(l string) bool {
		for _, f := range fs {
			if !f(l) {
				return false
			}
		}
		return true
	}
}

func anyOf(fs ...func(string) bool) func(string) bool {
	return func(l string) bool {
		for _, f := range fs {
			if f(l) {
				return true
			}
		}
		return false
	}
}

func matches(re string) func(string) bool {
	r := regexp.MustCompile(re)
	return func(l string) bool { return r.MatchString(l) }
}

func patternMatch(p string) func(string) bool {
	return func(l string) bool { return refPatternMatch(p, l) }
}

// ipv4Runs and ipv6Runs are the candidate addresses of a line as Loki's
// documentation describes the ip() line filter: a run of digits and dots
// starting with a digit, or a run of hex digits, colons and dots.
var (
	ipv4Runs = regexp.MustCompile(`[0-9][0-9.]*`)
	ipv6Runs = regexp.MustCompile(`[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*`)
)

// lineHasIP reports whether one of the addresses written in line is inside
// the given address, CIDR or a-b range.
func lineHasIP(spec string) func(string) bool {
	in := ipSpec(spec)
	return func(l string) bool {
		for _, re := range []*regexp.Regexp{ipv4Runs, ipv6Runs} {
			for _, tok := range re.FindAllString(l, -1) {
				if a, err := netip.ParseAddr(tok); err == nil && in(a) {
					return true
				}
			}
		}
		return false
	}
}

func ipSpec(spec string) func(netip.Addr) bool {
	if p, err := netip.ParsePrefix(spec); err == nil {
		return p.Contains
	}
	if lo, hi, ok := strings.Cut(spec, "-"); ok {
		a, b := netip.MustParseAddr(lo), netip.MustParseAddr(hi)
		return func(x netip.Addr) bool { return x.Compare(a) >= 0 && x.Compare(b) <= 0 }
	}
	a := netip.MustParseAddr(spec)
	return func(x netip.Addr) bool { return x == a }
}

func filterCases(t testing.TB) []refCase {
	specs := []filterSpec{
		{"sshd", `|= "Failed password"`, contains("Failed password")},
		{"sshd", `!= "preauth"`, not(contains("preauth"))},
		{"sshd", `|= "Invalid user" != "admin"`, all(contains("Invalid user"), not(contains("admin")))},
		{"sshd", `|~ "Failed password for (invalid user )?root"`, matches(`Failed password for (invalid user )?root`)},
		{"sshd", `!~ "sshd\\[2420[0-9]\\]"`, not(matches(`sshd\[2420[0-9]\]`))},
		{"sshd", `|~ "(?i)received DISCONNECT"`, matches(`(?i)received DISCONNECT`)},
		{"sshd", `|= "Accepted" or "Received disconnect"`, anyOf(contains("Accepted"), contains("Received disconnect"))},
		{"sshd", `|= "authentication failure" or "Connection closed" or "Did not receive"`, anyOf(contains("authentication failure"), contains("Connection closed"), contains("Did not receive"))},
		{"sshd", `|= ip("173.234.31.186")`, lineHasIP("173.234.31.186")},
		{"sshd", `|= ip("112.95.230.0/24")`, lineHasIP("112.95.230.0/24")},
		{"sshd", `|= ip("103.99.0.100-103.99.0.130")`, lineHasIP("103.99.0.100-103.99.0.130")},
		{"sshd", `!= ip("173.234.31.186")`, not(lineHasIP("173.234.31.186"))},
		{"sshd", `|> "<_> Invalid user <_> from <_>"`, patternMatch("<_> Invalid user <_> from <_>")},
		{"sshd", `!> "<_>[preauth]"`, not(patternMatch("<_>[preauth]"))},
		{"sshd", `|> "<_>: Failed password for <_> from <_> port <_> ssh2"`, patternMatch("<_>: Failed password for <_> from <_> port <_> ssh2")},
		{"sshd", `|= ""`, func(string) bool { return true }},
		{"sshd", `|= "Failed" |~ "port 4[0-9]+" != "root"`, all(contains("Failed"), matches(`port 4[0-9]+`), not(contains("root")))},
		{"sshd", `|~ "[0-9]{5} ssh2$"`, matches(`[0-9]{5} ssh2$`)},
		{"sshd", "|= `pam_unix(sshd:auth)`", contains("pam_unix(sshd:auth)")},
		{"sshd", `|~ "user=(root|admin)"`, matches(`user=(root|admin)`)},
		{"httpd", `|= "GET"`, contains("GET")},
		{"httpd", `|= "\"GET /images/"`, contains(`"GET /images/`)},
		{"httpd", `|~ "\" (4|5)[0-9]{2} "`, matches(`" (4|5)[0-9]{2} `)},
		{"httpd", `!= "Mozilla"`, not(contains("Mozilla"))},
		{"httpd", `|= ".png" or ".jpg" or ".gif"`, anyOf(contains(".png"), contains(".jpg"), contains(".gif"))},
		{"httpd", `|= ip("83.149.9.0/24")`, lineHasIP("83.149.9.0/24")},
		{"httpd", `!= ip("0.0.0.0/1")`, not(lineHasIP("0.0.0.0/1"))},
		{"httpd", `|> "<_> \"GET <_> HTTP/1.1\" 404 <_>"`, patternMatch(`<_> "GET <_> HTTP/1.1" 404 <_>`)},
		{"httpd", `|~ "(?i)googlebot|bingbot"`, matches(`(?i)googlebot|bingbot`)},
		{"httpd", `|= "semicomplete" != "presentations"`, all(contains("semicomplete"), not(contains("presentations")))},
		{"httpd", `|~ "^66\\."`, matches(`^66\.`)},
		{"httpd", `!~ ".*"`, not(matches(`.*`))},
		{"hdfs", `|= "WARN"`, contains("WARN")},
		{"hdfs", `|= "INFO" |= "PacketResponder"`, all(contains("INFO"), contains("PacketResponder"))},
		{"hdfs", `|~ "blk_-[0-9]+"`, matches(`blk_-[0-9]+`)},
		{"hdfs", `|= ip("10.251.0.0/16")`, lineHasIP("10.251.0.0/16")},
		{"hdfs", `!= "dfs.DataNode"`, not(contains("dfs.DataNode"))},
		{"hdfs", `|> "<_> INFO dfs.FSNamesystem: <_>"`, patternMatch("<_> INFO dfs.FSNamesystem: <_>")},
		{"hdfs", `|~ "size [0-9]+$" |= "addStoredBlock"`, all(matches(`size [0-9]+$`), contains("addStoredBlock"))},
		{"nginx", `|= "\"version\":6"`, contains(`"version":6`)},
	}
	var out []refCase
	for i, sp := range specs {
		var kept []refEntry
		for _, e := range realEntries(t, sp.app) {
			if sp.keep(e.line) {
				kept = append(kept, e)
			}
		}
		backward := i%2 == 0
		dir := "forward"
		if backward {
			dir = "backward"
		}
		out = append(out, refCase{
			name: fmt.Sprintf("filter/%02d", i),
			req:  request{query: selectorFor(sp.app) + " " + sp.expr, start: realStart, end: realEnd, limit: 1000, direction: dir},
			want: expectStreams(kept, backward, 1000),
		})
	}
	return out
}

// ---- limits, direction, range bounds, selectors ----

func limitCases(t testing.TB) []refCase {
	type spec struct {
		sel        string
		apps       []string
		keep       func(refEntry) bool
		start, end float64
		limit      int
		backward   bool
	}
	allEntries := func(refEntry) bool { return true }
	specs := []spec{
		{`{app="sshd"}`, []string{"sshd"}, allEntries, realStart, realEnd, 10, true},
		{`{app="sshd"}`, []string{"sshd"}, allEntries, realStart, realEnd, 10, false},
		{`{app="sshd"}`, []string{"sshd"}, allEntries, realStart, realEnd, 1, true},
		{`{app="sshd"}`, []string{"sshd"}, allEntries, 1100, 1200, 1000, true},
		{`{app="sshd"}`, []string{"sshd"}, allEntries, 1100, 1101, 1000, false},
		{`{app="sshd"}`, []string{"sshd"}, allEntries, 1100.5, 1101.5, 1000, false},
		{`{app="httpd"}`, []string{"httpd"}, allEntries, realStart, realEnd, 7, true},
		{`{app="httpd"}`, []string{"httpd"}, allEntries, realStart, realEnd, 7, false},
		{`{app="httpd", shard="1"}`, []string{"httpd"}, func(e refEntry) bool { return e.labels["shard"] == "1" }, 1200, 1300, 1000, true},
		{`{app="httpd", shard!="1"}`, []string{"httpd"}, func(e refEntry) bool { return e.labels["shard"] != "1" }, 1200, 1300, 1000, false},
		{`{app=~"httpd|hdfs"}`, []string{"httpd", "hdfs"}, allEntries, 1500, 1600, 15, true},
		{`{source="loghub"}`, []string{"sshd", "hdfs"}, allEntries, realStart, realEnd, 20, true},
		{`{source="loghub"}`, []string{"sshd", "hdfs"}, allEntries, 1001, 1010, 100, false},
		{`{app="sshd", host=~"Lab.*"}`, []string{"sshd"}, allEntries, 1400, 1450, 5, true},
		{`{app!="sshd", source="loghub"}`, []string{"hdfs"}, allEntries, 1400, 1450, 100, true},
		{`{source="elastic", app!~"ng.*"}`, []string{"httpd"}, allEntries, 1590, 1600, 100, false},
		{`{app=~"ngin."}`, []string{"nginx"}, allEntries, realStart, realEnd, 3, true},
		{`{app="httpd"}`, []string{"httpd"}, allEntries, 1599, 1600, 100, true},
		{`{app="httpd"}`, []string{"httpd"}, allEntries, 1600, 1700, 100, true},
		{`{app="httpd"}`, []string{"httpd"}, allEntries, 2000, 3000, 100, true},
	}
	var out []refCase
	for i, sp := range specs {
		var kept []refEntry
		for _, app := range sp.apps {
			for _, e := range realEntries(t, app) {
				if e.ts >= at(sp.start) && e.ts < at(sp.end) && sp.keep(e) {
					kept = append(kept, e)
				}
			}
		}
		checkNoTieAtLimit(t, kept, sp.limit)
		dir := "forward"
		if sp.backward {
			dir = "backward"
		}
		out = append(out, refCase{
			name: fmt.Sprintf("limit/%02d", i),
			req:  request{query: sp.sel, start: sp.start, end: sp.end, limit: sp.limit, direction: dir},
			want: expectStreams(kept, sp.backward, sp.limit),
		})
	}
	return out
}

// checkNoTieAtLimit fails when the limit cuts between two entries of the
// same timestamp: which of them a store returns is then not defined.
func checkNoTieAtLimit(t testing.TB, es []refEntry, limit int) {
	if len(es) <= limit {
		return
	}
	for _, backward := range []bool{true, false} {
		s := expectStreams(es, backward, len(es))
		var ts []int64
		for _, st := range s.streams {
			for _, e := range st.entries {
				ts = append(ts, e.ts)
			}
		}
		slices.Sort(ts)
		if backward {
			slices.Reverse(ts)
		}
		if ts[limit-1] == ts[limit] {
			t.Fatalf("limit %d cuts a tie at %d", limit, ts[limit])
		}
	}
}

// ---- parsers and label filters over real logs ----

const apachePattern = `<ip> - - [<_>] "<method> <path> <_>" <status> <size> <_>`
const hdfsPattern = `<date> <time> <pid> <level> <component>: <_>`

var sshRegexp = regexp.MustCompile(`Failed password for (invalid user )?(?P<user>\S+) from (?P<ip>\S+) port (?P<port>\d+)`)

// parsed is an entry with the labels a parser stage added.
func parsed(e refEntry, extra map[string]string) refEntry {
	lb := maps.Clone(e.labels)
	for k, v := range extra {
		if _, clash := e.labels[k]; clash {
			k += "_extracted"
		}
		lb[k] = v
	}
	return refEntry{labels: lb, ts: e.ts, line: e.line}
}

func regexpCaptures(re *regexp.Regexp, line string) map[string]string {
	m := re.FindStringSubmatch(line)
	out := map[string]string{}
	if m == nil {
		return out
	}
	for i, n := range re.SubexpNames() {
		if n != "" {
			out[n] = m[i]
		}
	}
	return out
}

func patternCaptures(p, line string) map[string]string {
	m, _ := refPatternCapture(p, line)
	return m
}

func num(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func parserCases(t testing.TB) []refCase {
	type spec struct {
		app   string
		expr  string
		parse func(refEntry) (refEntry, bool) // the entry after the pipeline; false: dropped
	}
	ssh := func(filter func(map[string]string) bool) func(refEntry) (refEntry, bool) {
		return func(e refEntry) (refEntry, bool) {
			if !strings.Contains(e.line, "Failed password") {
				return e, false
			}
			c := regexpCaptures(sshRegexp, e.line)
			ok := filter(c)
			return parsed(e, c), ok
		}
	}
	apache := func(filter func(map[string]string) bool, format func(map[string]string) string) func(refEntry) (refEntry, bool) {
		return func(e refEntry) (refEntry, bool) {
			c := patternCaptures(apachePattern, e.line)
			ok := filter(c)
			out := parsed(e, c)
			if format != nil {
				out.line = format(c)
			}
			return out, ok
		}
	}
	hdfs := func(filter func(map[string]string) bool) func(refEntry) (refEntry, bool) {
		return func(e refEntry) (refEntry, bool) {
			c := patternCaptures(hdfsPattern, e.line)
			ok := filter(c)
			return parsed(e, c), ok
		}
	}
	yes := func(map[string]string) bool { return true }
	// numCmp is a numeric label filter: a missing label drops the line; a
	// value that is not a number keeps it, with __error__=LabelFilterErr
	// and the conversion error in __error_details__.
	numCmp := func(label string, cmp func(float64) bool) func(map[string]string) bool {
		return func(c map[string]string) bool {
			s, present := c[label]
			if !present {
				return false
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				c["__error__"] = "LabelFilterErr"
				c["__error_details__"] = err.Error()
				return true
			}
			return cmp(v)
		}
	}
	const sshRe = `| regexp "Failed password for (invalid user )?(?P<user>\\S+) from (?P<ip>\\S+) port (?P<port>\\d+)"`
	const apacheP = `| pattern "<ip> - - [<_>] \"<method> <path> <_>\" <status> <size> <_>"`
	const hdfsP = `| pattern "<date> <time> <pid> <level> <component>: <_>"`
	specs := []spec{
		{"sshd", `|= "Failed password" ` + sshRe, ssh(yes)},
		{"sshd", `|= "Failed password" ` + sshRe + ` | user="root"`, ssh(func(c map[string]string) bool { return c["user"] == "root" })},
		{"sshd", `|= "Failed password" ` + sshRe + ` | port > 50000`, ssh(numCmp("port", func(v float64) bool { return v > 50000 }))},
		{"sshd", `|= "Failed password" ` + sshRe + ` | user=~"(admin|test).*"`, ssh(func(c map[string]string) bool {
			return regexp.MustCompile(`^(?:(admin|test).*)$`).MatchString(c["user"])
		})},
		{"sshd", `|= "Failed password" ` + sshRe + ` | ip = ip("5.188.0.0/16")`, ssh(func(c map[string]string) bool {
			a, err := netip.ParseAddr(c["ip"])
			return err == nil && netip.MustParsePrefix("5.188.0.0/16").Contains(a)
		})},
		{"sshd", `|= "Failed password" ` + sshRe + ` | user!="root", port <= 40000`, ssh(func(c map[string]string) bool {
			v, ok := num(c["port"])
			return c["user"] != "root" && ok && v <= 40000
		})},
		{"httpd", apacheP + ` | status >= 400`, apache(numCmp("status", func(v float64) bool { return v >= 400 }), nil)},
		{"httpd", apacheP + ` | method="GET", path=~"/(images|favicon).*"`, apache(func(c map[string]string) bool {
			return c["method"] == "GET" && regexp.MustCompile(`^(?:/(images|favicon).*)$`).MatchString(c["path"])
		}, nil)},
		{"httpd", apacheP + ` | size > 100000`, apache(numCmp("size", func(v float64) bool { return v > 100000 }), nil)},
		{"httpd", apacheP + ` | status != 200 and method = "GET" | path !~ "/presentations.*"`, apache(func(c map[string]string) bool {
			v, ok := num(c["status"])
			return ok && v != 200 && c["method"] == "GET" && !regexp.MustCompile(`^(?:/presentations.*)$`).MatchString(c["path"])
		}, nil)},
		{"httpd", apacheP + ` | status == 404 or status == 304`, apache(func(c map[string]string) bool {
			v, ok := num(c["status"])
			return ok && (v == 404 || v == 304)
		}, nil)},
		{"httpd", apacheP + ` | status >= 300 | line_format "{{.method}} {{.path}} {{.status}}"`, apache(numCmp("status", func(v float64) bool { return v >= 300 }),
			func(c map[string]string) string { return c["method"] + " " + c["path"] + " " + c["status"] })},
		{"httpd", apacheP + ` | ip =~ "66[.].*" | line_format "{{.ip | upper}} {{.size}}"`, apache(func(c map[string]string) bool { return strings.HasPrefix(c["ip"], "66.") },
			func(c map[string]string) string { return strings.ToUpper(c["ip"]) + " " + c["size"] })},
		{"hdfs", hdfsP + ` | level="WARN"`, hdfs(func(c map[string]string) bool { return c["level"] == "WARN" })},
		{"hdfs", hdfsP + ` | pid > 100 and level != "INFO"`, hdfs(func(c map[string]string) bool {
			v, ok := num(c["pid"])
			return ok && v > 100 && c["level"] != "INFO"
		})},
		{"hdfs", hdfsP + ` | component=~"dfs[.]FSNamesystem" or pid < 20`, hdfs(func(c map[string]string) bool {
			v, ok := num(c["pid"])
			return c["component"] == "dfs.FSNamesystem" || ok && v < 20
		})},
	}
	var out []refCase
	for i, sp := range specs {
		var kept []refEntry
		for _, e := range realEntries(t, sp.app) {
			if pe, ok := sp.parse(e); ok {
				kept = append(kept, pe)
			}
		}
		backward := i%2 == 1
		dir := "forward"
		if backward {
			dir = "backward"
		}
		out = append(out, refCase{
			name: fmt.Sprintf("parser/%02d", i),
			req:  request{query: selectorFor(sp.app) + " " + sp.expr, start: realStart, end: realEnd, limit: 1000, direction: dir},
			want: expectStreams(kept, backward, 1000),
		})
	}
	out = append(out, jsonCases(t)...)
	return out
}
