package api

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	const def = int64(42)
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "", want: def},
		// Integers: up to 1e10 are seconds, above are nanoseconds.
		{in: "0", want: 0},
		{in: "1700000000", want: 1700000000 * 1e9},
		{in: "4000000000", want: 4000000000 * 1e9}, // Grafana's health check: year 2096
		{in: "10000000000", want: math.MaxInt64},   // exactly 1e10: still seconds (clamped)
		{in: "10000000001", want: 10000000001},     // 11 digits: nanoseconds
		{in: "1700000000123456789", want: 1700000000123456789},
		{in: "-5", want: -5e9},
		{in: "9999999999", want: math.MaxInt64}, // seconds beyond int64 ns clamp
		// Floats: seconds with the fraction rounded to milliseconds.
		{in: "1700000000.5", want: 1700000000500000000},
		{in: "1700000000.1234", want: 1700000000123000000},
		{in: "1700000000.9996", want: 1700000001000000000},
		{in: "1.5e3", want: 1500 * 1e9},
		{in: "-1.5", want: -1500000000},
		{in: "1700000000123456789.0", want: 1700000000123456768}, // > 1e10: nanoseconds (float precision)
		// RFC3339.
		{in: "2026-11-23T15:41:36Z", want: time.Date(2026, 11, 23, 15, 41, 36, 0, time.UTC).UnixNano()},
		{in: "2025-11-18T05:20:48.538Z", want: time.Date(2025, 11, 18, 5, 20, 48, 538e6, time.UTC).UnixNano()},
		{in: "2026-11-23T16:41:36.000000001+01:00", want: time.Date(2026, 11, 23, 15, 41, 36, 1, time.UTC).UnixNano()},
		{in: "9999-01-01T00:00:00Z", want: math.MaxInt64},
		{in: "0001-01-01T00:00:00Z", want: math.MinInt64},
		// Errors carry strconv's text, as in Loki.
		{in: "abc", wantErr: `strconv.ParseInt: parsing "abc": invalid syntax`},
		{in: "1.2.3", wantErr: `strconv.ParseFloat: parsing "1.2.3": invalid syntax`},
		{in: "1e3", wantErr: `strconv.ParseInt: parsing "1e3": invalid syntax`},
		{in: "NaN.", wantErr: `strconv.ParseFloat: parsing "NaN.": invalid syntax`},
		{in: "1e400.0", wantErr: `strconv.ParseFloat: parsing "1e400.0": invalid syntax`},
		{in: "1.0e300", wantErr: "floating point timestamp exceeds integer range"},
		{in: "99999999999999999999", wantErr: `strconv.ParseInt: parsing "99999999999999999999": value out of range`},
	}
	for _, tc := range tests {
		got, err := parseTimestamp(tc.in, def)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("parseTimestamp(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseTimestamp(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSecondsOrDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "60", want: time.Minute},
		{in: "0.5", want: 500 * time.Millisecond},
		{in: "2000ms", want: 2 * time.Second},
		{in: "1m30s", want: 90 * time.Second},
		{in: "1d", want: 24 * time.Hour},
		{in: "0", want: 0},
		{in: "-10", want: -10 * time.Second},
		{in: "abc", wantErr: `cannot parse "abc" to a valid duration`},
		{in: "1.5h", wantErr: `cannot parse "1.5h" to a valid duration`},
		{in: "1e300", wantErr: `cannot parse "1e300" to a valid duration. It overflows int64`},
	}
	for _, tc := range tests {
		got, err := parseSecondsOrDuration(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("parseSecondsOrDuration(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != int64(tc.want) {
			t.Errorf("parseSecondsOrDuration(%q) = %v, %v; want %v", tc.in, time.Duration(got), err, tc.want)
		}
	}
}

func TestDefaultStep(t *testing.T) {
	for _, tc := range []struct {
		span time.Duration
		want time.Duration
	}{
		{0, time.Second}, {time.Minute, time.Second}, {time.Hour, 14 * time.Second},
		{250 * time.Second, time.Second}, {24 * time.Hour, 345 * time.Second},
	} {
		if got := defaultStep(0, int64(tc.span)); got != int64(tc.want) {
			t.Errorf("defaultStep(%v) = %v, want %v", tc.span, time.Duration(got), tc.want)
		}
	}
}

func formRequest(values url.Values) *http.Request {
	return &http.Request{Form: values}
}

// Every parameter rule of query_range, with Loki's messages (the samples
// in testdata/loki-samples/errors hold the real ones).
func TestParseRangeParams(t *testing.T) {
	a := newFixture(t, nil).api
	end := testNow
	hour := int64(time.Hour)
	tests := []struct {
		name    string
		form    string
		want    rangeParams
		wantErr string
	}{
		{
			name: "defaults",
			form: "query=q",
			want: rangeParams{query: "q", start: end - hour, end: end, step: 14e9, limit: 100},
		},
		{
			name: "since counts back from end",
			form: "since=30m&end=1795448000",
			want: rangeParams{start: 1795448000e9 - hour/2, end: 1795448000e9, step: 7e9, limit: 100},
		},
		{
			name: "future end counts back from now",
			form: "end=4000000000",
			want: rangeParams{start: end - hour, end: 4000000000e9, step: int64(math.Floor(float64(4000000000e9-(end-hour))/1e9/250)) * 1e9, limit: 100},
		},
		{
			name: "explicit everything",
			form: "start=1795440000&end=1795448000&limit=5&direction=FORWARD&step=60&interval=2m",
			want: rangeParams{start: 1795440000e9, end: 1795448000e9, step: 60e9, interval: 120e9, limit: 5, direction: 1},
		},
		{
			name: "grafana step in ms",
			form: "start=1795440000000000000&end=1795448000000000000&step=2000ms",
			want: rangeParams{start: 1795440000e9, end: 1795448000e9, step: 2e9, limit: 100},
		},
		{name: "end equal to start", form: "start=100&end=100", want: rangeParams{start: 100e9, end: 100e9, step: 1e9, limit: 100}},
		{name: "end before start", form: "start=200&end=100", wantErr: sampleBody(t, "query-end-before-start")},
		{name: "bad direction", form: "direction=sideways", wantErr: sampleBody(t, "query-bad-direction")},
		{name: "bad step", form: "step=abc", wantErr: sampleBody(t, "query-bad-step")},
		{name: "zero step", form: "step=0", wantErr: "zero or negative query resolution step widths are not accepted. Try a positive integer"},
		{name: "negative step", form: "step=-5", wantErr: "zero or negative query resolution step widths are not accepted. Try a positive integer"},
		{name: "too many points", form: "start=0&end=11001&step=1", wantErr: sampleBody(t, "query-too-many-points")},
		{name: "just enough points", form: "start=0&end=11000&step=1", want: rangeParams{start: 0, end: 11000e9, step: 1e9, limit: 100}},
		{name: "zero limit", form: "limit=0", wantErr: "limit must be a positive value"},
		{name: "negative limit", form: "limit=-3", wantErr: "limit must be a positive value"},
		{name: "huge limit", form: "limit=4294967296", wantErr: "limit value 4294967296 is out of range [0, 4294967295]"},
		{name: "bad limit", form: "limit=x", wantErr: `strconv.Atoi: parsing "x": invalid syntax`},
		{name: "bad start", form: "start=yesterday", wantErr: `could not parse 'start' parameter: strconv.ParseInt: parsing "yesterday": invalid syntax`},
		{name: "bad end", form: "end=1.x", wantErr: `could not parse 'end' parameter: strconv.ParseFloat: parsing "1.x": invalid syntax`},
		{name: "bad since", form: "since=abc", wantErr: `could not parse 'since' parameter: not a valid duration string: "abc"`},
		{name: "negative interval", form: "interval=-1", wantErr: "interval must be >= 0"},
		{name: "bad interval", form: "interval=x", wantErr: `cannot parse "x" to a valid duration`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			values, err := url.ParseQuery(tc.form)
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.parseRangeParams(formRequest(values), testNow)
			if tc.wantErr != "" {
				var he *httpError
				if err == nil || err.Error() != tc.wantErr || !errors.As(err, &he) || he.status != http.StatusBadRequest {
					t.Fatalf("error = %v, want 400 %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func sampleBody(t *testing.T, name string) string {
	t.Helper()
	return strings.TrimSuffix(string(readSample(t, "errors/"+name+".body")), "\n")
}

func TestParseInstantParams(t *testing.T) {
	tests := []struct {
		form    string
		want    instantParams
		wantErr string
	}{
		{form: "query=vector(1)%2Bvector(1)&time=4000000000&direction=backward", want: instantParams{query: "vector(1)+vector(1)", ts: 4000000000e9, limit: 100}},
		{form: "", want: instantParams{ts: testNow, limit: 100}},
		{form: "time=1795449874.663&limit=7&direction=Forward", want: instantParams{ts: 1795449874663e6, limit: 7, direction: 1}},
		{form: "time=soon", wantErr: `strconv.ParseInt: parsing "soon": invalid syntax`},
		{form: "limit=0", wantErr: "limit must be a positive value"},
		{form: "direction=up", wantErr: "invalid direction 'up'"},
	}
	for _, tc := range tests {
		values, _ := url.ParseQuery(tc.form)
		got, err := parseInstantParams(formRequest(values), testNow)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%q: error = %v, want %q", tc.form, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.form, got, err, tc.want)
		}
	}
}

func TestQueryLimits(t *testing.T) {
	l := newDefaultLimits()
	for _, tc := range []struct {
		query   string
		limit   uint32
		wantErr string
	}{
		{`{a="b"}`, 5000, ""},
		{`{a="b"} |= "x"`, 100000, sampleBody(t, "query-limit-too-big")},
		{`({a="b"} | json)`, 5001, "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)"},
		{`count_over_time({a="b"}[5m])`, 100000, ""}, // metric queries have no entries limit
		{`sum(rate({a="b"}[1m])) > 2`, 100000, ""},
		{`{a="b"`, 100000, "parse error at line 1, col 7: syntax error: unexpected $end, expecting } or ,"},
		{`{a="b"`, 100, ""}, // within the limit the engine reports the parse error
	} {
		err := checkEntriesLimit(l, tc.query, tc.limit)
		if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
			t.Errorf("checkEntriesLimit(%q, %d) = %v, want %q", tc.query, tc.limit, err, tc.wantErr)
		}
		if err != nil {
			if status, _ := statusAndMessage(err); status != http.StatusBadRequest {
				t.Errorf("checkEntriesLimit(%q, %d): status %d", tc.query, tc.limit, status)
			}
		}
	}
	if err := checkQueryLength(l, 0, int64(721*time.Hour)); err != nil {
		t.Errorf("721h: %v", err)
	}
	if err := checkQueryLength(l, 0, 1e9*1e9); err == nil || err.Error() != sampleBody(t, "labels-empty-range") {
		t.Errorf("1e9 s: %v", err)
	}
	// Whole milliseconds are compared, as in Loki.
	if err := checkQueryLength(l, 1, int64(721*time.Hour)+999999); err != nil {
		t.Errorf("721h plus sub-millisecond: %v", err)
	}
	if err := checkQueryLength(l, math.MinInt64, math.MaxInt64); err == nil {
		t.Error("full int64 range accepted")
	}
	unlimited := newDefaultLimits()
	unlimited.MaxQueryLength, unlimited.MaxEntriesLimitPerQuery = 0, 0
	if err := checkQueryLength(unlimited, math.MinInt64, math.MaxInt64); err != nil {
		t.Errorf("disabled length limit: %v", err)
	}
	if err := checkEntriesLimit(unlimited, `{a="b"}`, math.MaxUint32); err != nil {
		t.Errorf("disabled entries limit: %v", err)
	}
}

func TestParseSeriesGroups(t *testing.T) {
	for _, tc := range []struct {
		form string
		want []string
	}{
		{"", nil},
		{"match[]={}", nil},
		{"match={ }", nil},
		{`match[]={a="b"}&match={c="d"}&match[]={a="b"}`, []string{`{a="b"}`, `{c="d"}`}},
		{`match[]={}&match={a="b"}`, []string{`{a="b"}`, `{}`}},
	} {
		values, _ := url.ParseQuery(tc.form)
		if got := parseSeriesGroups(formRequest(values)); !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.form, got, tc.want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 11000: "11,000", 1234567: "1,234,567", -1000: "-1,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSaturatingArithmetic(t *testing.T) {
	const maxI, minI = math.MaxInt64, math.MinInt64
	for _, tc := range []struct {
		name     string
		got      int64
		want     int64
		in1, in2 int64
	}{
		{"add", satAdd(1, 2), 3, 1, 2},
		{"add overflow", satAdd(maxI, 1), maxI, maxI, 1},
		{"add underflow", satAdd(minI, -1), minI, minI, -1},
		{"sub", satSub(5, 7), -2, 5, 7},
		{"sub overflow", satSub(maxI, -1), maxI, maxI, -1},
		{"sub min", satSub(0, minI), maxI, 0, minI},
		{"sub min from negative", satSub(-1, minI), maxI, -1, minI},
		{"sub underflow", satSub(minI, 1), minI, minI, 1},
		{"mul", satMul(-3, 4), -12, -3, 4},
		{"mul overflow", satMul(1e10, 1e10), maxI, 1e10, 1e10},
		{"mul negative overflow", satMul(-1e10, 1e10), minI, -1e10, 1e10},
		{"mul min by -1", satMul(minI, -1), maxI, minI, -1},
		{"floorDiv", floorDiv(-1, 1000), -1, -1, 1000},
		{"floorDiv exact", floorDiv(-2000, 1000), -2, -2000, 1000},
		{"floorDiv positive", floorDiv(1999, 1000), 1, 1999, 1000},
	} {
		if tc.got != tc.want {
			t.Errorf("%s(%d, %d) = %d, want %d", tc.name, tc.in1, tc.in2, tc.got, tc.want)
		}
	}
}
