package index

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

const (
	apiDev  = `{app="api", env="dev", pod="api-2"}`
	apiProd = `{app="api", env="prod", pod="api-1"}`
	webProd = `{app="web", env="prod"}`
	webCore = `{app="web", team="core"}`
	batch   = `{job="batch"}`
)

func fixture(t testing.TB) *Reader {
	return build(t,
		testSeries{labels.FromStrings("app", "api", "env", "prod", "pod", "api-1"), []ChunkRef{ref(100, 200), ref(300, 400)}},
		testSeries{labels.FromStrings("app", "api", "env", "dev", "pod", "api-2"), []ChunkRef{ref(150, 250)}},
		testSeries{labels.FromStrings("app", "web", "env", "prod"), []ChunkRef{ref(0, 50), ref(500, 600)}},
		testSeries{labels.FromStrings("app", "web", "team", "core"), []ChunkRef{ref(1000, 1000)}},
		testSeries{labels.FromStrings("job", "batch"), []ChunkRef{ref(200, 300)}},
	)
}

type m3 struct {
	typ         labels.MatchType
	name, value string
}

const (
	eq  = labels.MatchEqual
	neq = labels.MatchNotEqual
	re  = labels.MatchRegexp
	nre = labels.MatchNotRegexp
)

func matchers(t testing.TB, ms []m3) []*labels.Matcher {
	out := make([]*labels.Matcher, len(ms))
	for i, m := range ms {
		out[i] = matcher(t, m.typ, m.name, m.value)
	}
	return out
}

func TestSeriesMatchers(t *testing.T) {
	r := fixture(t)
	all := []string{apiDev, apiProd, webProd, webCore, batch}
	for _, tc := range []struct {
		name string
		ms   []m3
		want []string
	}{
		{"no matchers", nil, all},
		{"equal", []m3{{eq, "app", "api"}}, []string{apiDev, apiProd}},
		{"equal unknown value", []m3{{eq, "app", "nope"}}, nil},
		{"equal unknown name", []m3{{eq, "cluster", "x"}}, nil},
		{"equal empty", []m3{{eq, "team", ""}}, []string{apiDev, apiProd, webProd, batch}},
		{"equal empty unknown name", []m3{{eq, "cluster", ""}}, all},
		{"not equal", []m3{{neq, "env", "prod"}}, []string{apiDev, webCore, batch}},
		{"not equal empty", []m3{{neq, "env", ""}}, []string{apiDev, apiProd, webProd}},
		{"not equal unknown name", []m3{{neq, "cluster", "x"}}, all},
		{"not equal empty unknown name", []m3{{neq, "cluster", ""}}, nil},
		{"regexp", []m3{{re, "app", "a.*"}}, []string{apiDev, apiProd}},
		{"regexp is anchored", []m3{{re, "app", "pi"}}, nil},
		{"regexp set", []m3{{re, "pod", "api-1|api-3"}}, []string{apiProd}},
		{"regexp case insensitive", []m3{{re, "app", "(?i)API"}}, []string{apiDev, apiProd}},
		{"regexp matching empty", []m3{{re, "team", "core|"}}, all},
		{"regexp matching empty only", []m3{{re, "team", ""}}, []string{apiDev, apiProd, webProd, batch}},
		{"regexp any", []m3{{re, "app", ".*"}}, all},
		{"regexp non-empty", []m3{{re, "env", ".+"}}, []string{apiDev, apiProd, webProd}},
		{"regexp unknown name", []m3{{re, "cluster", ".+"}}, nil},
		{"not regexp", []m3{{nre, "app", "a.*"}}, []string{webProd, webCore, batch}},
		{"not regexp non-empty", []m3{{nre, "env", ".+"}}, []string{webCore, batch}},
		{"not regexp set", []m3{{nre, "env", "dev|prod"}}, []string{webCore, batch}},
		{"not regexp empty", []m3{{nre, "app", ""}}, []string{apiDev, apiProd, webProd, webCore}},
		{"not regexp any", []m3{{nre, "app", ".*"}}, nil},
		{"two equal", []m3{{eq, "app", "api"}, {eq, "env", "prod"}}, []string{apiProd}},
		{"contradicting equal", []m3{{eq, "app", "api"}, {eq, "app", "web"}}, nil},
		{"equal and not equal", []m3{{eq, "app", "web"}, {neq, "team", "core"}}, []string{webProd}},
		{"equal and regexp", []m3{{eq, "env", "prod"}, {re, "app", "w.*"}}, []string{webProd}},
		{"regexp and not equal", []m3{{re, "app", ".+"}, {neq, "env", "dev"}}, []string{apiProd, webProd, webCore}},
		{"only empty matchers", []m3{{eq, "job", ""}, {eq, "team", ""}}, []string{apiDev, apiProd, webProd}},
		{"regexp then not regexp", []m3{{re, "pod", "api-.*"}, {nre, "env", "d.*"}}, []string{apiProd}},
		{"all four types", []m3{{eq, "app", "api"}, {neq, "pod", "api-9"}, {re, "env", "prod|dev"}, {nre, "env", "dev"}}, []string{apiProd}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, s := range collect(t, r, matchers(t, tc.ms), math.MinInt64, math.MaxInt64) {
				got = append(got, s.lbls)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSeriesTimeRange(t *testing.T) {
	lbls := labels.FromStrings("app", "x")
	r := build(t, testSeries{lbls, []ChunkRef{ref(100, 200), ref(300, 400), ref(350, 360), ref(500, 500)}})
	gaps := build(t, testSeries{lbls, []ChunkRef{ref(0, 1000), ref(100, 110), ref(200, 1000)}})
	gaps2 := build(t, testSeries{lbls, []ChunkRef{ref(0, 1000), ref(100, 110), ref(200, 499), ref(200, 500)}})
	for _, tc := range []struct {
		name          string
		r             *Reader
		from, through int64
		want          []ChunkRef
	}{
		{"through is exclusive", r, 0, 100, nil},
		{"first instant", r, 0, 101, []ChunkRef{ref(100, 200)}},
		{"from is inclusive", r, 200, 300, []ChunkRef{ref(100, 200)}},
		{"in a gap", r, 201, 300, nil},
		{"inside two", r, 355, 356, []ChunkRef{ref(300, 400), ref(350, 360)}},
		{"single instant chunk excluded", r, 401, 500, nil},
		{"single instant chunk included", r, 401, 501, []ChunkRef{ref(500, 500)}},
		{"empty range", r, 350, 350, nil},
		{"inverted range", r, 600, 100, nil},
		{"everything", r, math.MinInt64, math.MaxInt64, []ChunkRef{ref(100, 200), ref(300, 400), ref(350, 360), ref(500, 500)}},
		{"after everything", r, 501, math.MaxInt64, nil},
		{"not contiguous", gaps, 500, 600, []ChunkRef{ref(0, 1000), ref(200, 1000)}},
		{"contiguous tail", gaps, 105, 106, []ChunkRef{ref(0, 1000), ref(100, 110)}},
		{"not contiguous, last ends at from", gaps2, 500, 600, []ChunkRef{ref(0, 1000), ref(200, 500)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := collect(t, tc.r, nil, tc.from, tc.through)
			if len(tc.want) == 0 {
				if len(got) != 0 {
					t.Fatalf("got %v, want no series", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d series, want 1", len(got))
			}
			if got[0].fp != Fingerprint(lbls) {
				t.Errorf("fingerprint %x, want %x", got[0].fp, Fingerprint(lbls))
			}
			if !slices.Equal(got[0].refs, tc.want) {
				t.Errorf("refs %v, want %v", got[0].refs, tc.want)
			}
		})
	}
}

func TestSeriesCallbackError(t *testing.T) {
	r := fixture(t)
	stop := errors.New("stop")
	calls := 0
	err := r.Series(nil, math.MinInt64, math.MaxInt64, func(labels.Labels, uint64, []ChunkRef) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("err %v after %d calls, want stop after 1", err, calls)
	}
}

func TestLabelNamesAndValues(t *testing.T) {
	r := fixture(t)
	for _, tc := range []struct {
		name          string
		ms            []m3
		from, through int64
		names         []string
		envs          []string // values of "env"
	}{
		{"everything", nil, math.MinInt64, math.MaxInt64, []string{"app", "env", "job", "pod", "team"}, []string{"dev", "prod"}},
		{"selector", []m3{{eq, "app", "web"}}, math.MinInt64, math.MaxInt64, []string{"app", "env", "team"}, []string{"prod"}},
		{"empty match selector", []m3{{eq, "env", ""}}, math.MinInt64, math.MaxInt64, []string{"app", "job", "team"}, nil},
		{"time range", nil, 150, 151, []string{"app", "env", "pod"}, []string{"dev", "prod"}},
		{"time range and selector", []m3{{neq, "pod", "api-1"}}, 200, 301, []string{"app", "env", "job", "pod"}, []string{"dev"}},
		{"late", nil, 1000, 1001, []string{"app", "team"}, nil},
		{"no series", []m3{{eq, "app", "nope"}}, math.MinInt64, math.MaxInt64, nil, nil},
		{"no time", nil, 2000, 3000, nil, nil},
		{"empty range", nil, 150, 150, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := matchers(t, tc.ms)
			names, err := r.LabelNames(ms, tc.from, tc.through)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names, tc.names) {
				t.Errorf("names %q, want %q", names, tc.names)
			}
			envs, err := r.LabelValues("env", ms, tc.from, tc.through)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(envs, tc.envs) {
				t.Errorf("env values %q, want %q", envs, tc.envs)
			}
		})
	}
	if v, err := r.LabelValues("cluster", nil, math.MinInt64, math.MaxInt64); err != nil || v != nil {
		t.Errorf("values of an unknown name: %q, %v", v, err)
	}
}

func TestStats(t *testing.T) {
	r := build(t,
		testSeries{labels.FromStrings("app", "a"), []ChunkRef{
			{From: 0, Through: 99, Checksum: 1, Entries: 100, UncompressedBytes: 1000},
			{From: 100, Through: 199, Checksum: 2, Entries: 10, UncompressedBytes: 400},
		}},
		testSeries{labels.FromStrings("app", "b"), []ChunkRef{
			{From: 50, Through: 50, Checksum: 3, Entries: 7, UncompressedBytes: 70},
		}},
	)
	for _, tc := range []struct {
		name          string
		ms            []m3
		from, through int64
		want          Stats
	}{
		{"everything", nil, math.MinInt64, math.MaxInt64, Stats{Streams: 2, Chunks: 3, Entries: 117, Bytes: 1470}},
		{"one stream", []m3{{eq, "app", "a"}}, 0, 200, Stats{Streams: 1, Chunks: 2, Entries: 110, Bytes: 1400}},
		{"first half of a chunk", []m3{{eq, "app", "a"}}, 0, 50, Stats{Streams: 1, Chunks: 1, Entries: 50, Bytes: 500}},
		{"straddling two chunks", []m3{{eq, "app", "a"}}, 75, 125, Stats{Streams: 1, Chunks: 2, Entries: 25 + 2, Bytes: 250 + 100}},
		{"single instant chunk", []m3{{eq, "app", "b"}}, 50, 51, Stats{Streams: 1, Chunks: 1, Entries: 7, Bytes: 70}},
		{"nothing", nil, 200, 300, Stats{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Stats(matchers(t, tc.ms), tc.from, tc.through)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
