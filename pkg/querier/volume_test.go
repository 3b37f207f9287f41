package querier

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/storage"
)

// volStream is one stream of a volume fixture: chunks in the store and
// entries in the ingesters' memory.
type volStream struct {
	lbls    labels.Labels
	chunks  []storage.ChunkVolume
	entries []logproto.Entry // in time order
}

// volSource serves the fixture as the store (StreamVolumes) or as the
// ingesters (SelectLogs), applying matchers and ranges like the real ones.
type volSource struct {
	streams  []volStream
	matchers [][]*labels.Matcher // what StreamVolumes was asked
	selected [][2]int64          // ranges SelectLogs was asked
}

func matchAll(lbls labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lbls.Get(m.Name)) {
			return false
		}
	}
	return true
}

func (s *volSource) StreamVolumes(_ context.Context, _ string, from, through int64, ms []*labels.Matcher) ([]storage.StreamVolume, error) {
	s.matchers = append(s.matchers, ms)
	var out []storage.StreamVolume
	for _, st := range s.streams {
		if !matchAll(st.lbls, ms) {
			continue
		}
		v := storage.StreamVolume{Labels: st.lbls}
		for _, c := range st.chunks {
			if c.From < through && c.Through >= from {
				v.Chunks = append(v.Chunks, c)
			}
		}
		if len(v.Chunks) > 0 {
			out = append(out, v)
		}
	}
	return out, nil
}

func (s *volSource) SelectLogs(_ context.Context, _ string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	if len(p.Matchers) == 0 {
		// As remote ingesters do, refuse a selector matching everything.
		return nil, errors.New("queries require at least one regexp or equality matcher")
	}
	s.selected = append(s.selected, [2]int64{p.Start, p.End})
	var its []iter.EntryIterator
	for _, st := range s.streams {
		if !matchAll(st.lbls, p.Matchers) {
			continue
		}
		var es []iter.StreamEntry
		for _, e := range st.entries {
			if e.Timestamp >= p.Start && e.Timestamp < p.End {
				es = append(es, iter.StreamEntry{Entry: e, Labels: st.lbls, Hash: st.lbls.Hash()})
			}
		}
		its = append(its, iter.NewSliceIterator(es))
	}
	return iter.NewMergeIterator(its, logproto.Forward), nil
}

// volIngesters serves a fixture as ingesters that do not report volumes,
// so the querier counts their entries.
type volIngesters struct{ *volSource }

// StreamVolumes hides volSource's: volIngesters is not a StreamVolumer.
func (volIngesters) StreamVolumes(struct{}) {}

func (s *volSource) LabelNames(context.Context, string, int64, int64, []*labels.Matcher) ([]string, error) {
	return nil, nil
}

func (s *volSource) LabelValues(context.Context, string, string, int64, int64, []*labels.Matcher) ([]string, error) {
	return nil, nil
}

func (s *volSource) Series(_ context.Context, _ string, _, _ int64, groups [][]*labels.Matcher) ([]labels.Labels, error) {
	var out []labels.Labels
	for _, st := range s.streams {
		if len(groups) == 0 || slices.ContainsFunc(groups, func(ms []*labels.Matcher) bool { return matchAll(st.lbls, ms) }) {
			out = append(out, st.lbls)
		}
	}
	return out, nil
}

// lines returns n entries of size bytes each, one per ms from ts.
func lines(ts int64, n, size int) []logproto.Entry {
	out := make([]logproto.Entry, n)
	for i := range out {
		out[i] = logproto.Entry{Timestamp: ts + int64(i)*int64(time.Millisecond), Line: strings.Repeat("x", size)}
	}
	return out
}

// formatVolumes prints a bucket's volumes as "name=bytes" in order.
func formatVolumes(vs []logproto.Volume) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s=%d", v.Name, v.Bytes)
	}
	return strings.Join(parts, " ")
}

const sec = int64(time.Second)

func TestVolumeAggregation(t *testing.T) {
	api1 := labels.FromStrings("app", "api", "env", "prod", "pod", "p1")
	api2 := labels.FromStrings("app", "api", "env", "dev", "pod", "p2")
	web := labels.FromStrings("app", "web", "env", "prod")
	store := &volSource{streams: []volStream{
		{lbls: api1, chunks: []storage.ChunkVolume{{From: 10 * sec, Through: 19 * sec, Bytes: 1000}}},
		{lbls: api2, chunks: []storage.ChunkVolume{{From: 10 * sec, Through: 19 * sec, Bytes: 300}}},
		{lbls: web, chunks: []storage.ChunkVolume{{From: 10 * sec, Through: 19 * sec, Bytes: 500}}},
	}}
	ing := volIngesters{&volSource{streams: []volStream{{lbls: web, entries: lines(30*sec, 4, 100)}}}}

	for _, tc := range []struct {
		name    string
		query   string
		targets []string
		by      string
		limit   int
		want    string
	}{
		// The selector's label names are the grouping.
		{"by matcher names", `{app=~".+"}`, nil, "", 0, `{app="api"}=1300 {app="web"}=900`},
		{"two matchers", `{app=~".+", env="prod"}`, nil, "", 0, `{app="api", env="prod"}=1000 {app="web", env="prod"}=900`},
		// "{}" keeps every label.
		{"match any", `{}`, nil, "", 0, `{app="api", env="prod", pod="p1"}=1000 {app="web", env="prod"}=900 {app="api", env="dev", pod="p2"}=300`},
		// Targets replace the grouping and require the label.
		{"target labels", `{app=~".+"}`, []string{"pod"}, "", 0, `{pod="p1"}=1000 {pod="p2"}=300`},
		{"target in selector", `{env="prod"}`, []string{"env"}, "", 0, `{env="prod"}=1900`},
		// By labels, every label name of a stream receives its bytes.
		{"by labels", `{app=~".+"}`, nil, logproto.AggregateByLabels, 0, `app=2200 env=2200 pod=1300`},
		{"by labels, targets", `{app=~".+"}`, []string{"pod"}, logproto.AggregateByLabels, 0, `pod=1300`},
		// Limit keeps the largest; ties go by name.
		{"limit", `{}`, nil, "", 2, `{app="api", env="prod", pod="p1"}=1000 {app="web", env="prod"}=900`},
		{"nothing matches", `{app="none"}`, nil, "", 0, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := New(Config{}, ing, store, nil)
			buckets, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{
				Start: 0, End: 60 * sec, Query: tc.query, TargetLabels: tc.targets, AggregateBy: tc.by, Limit: tc.limit,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(buckets) != 1 || buckets[0].Start != 0 || buckets[0].End != 60*sec || buckets[0].Time != 60*sec {
				t.Fatalf("buckets %+v, want one [0, 60s) at 60s", buckets)
			}
			if got := formatVolumes(buckets[0].Volumes); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestVolumeLabelsOfAggregates(t *testing.T) {
	store := &volSource{streams: []volStream{{lbls: labels.FromStrings("app", "api", "pod", "p1"),
		chunks: []storage.ChunkVolume{{From: 1, Through: 2, Bytes: 7}}}}}
	q := New(Config{}, volIngesters{&volSource{}}, store, nil)
	for _, tc := range []struct{ by, want string }{
		{logproto.AggregateBySeries, `{app="api"}`},
		{logproto.AggregateByLabels, `{app=""}`},
	} {
		b, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{Start: 0, End: 10, Query: `{app="api"}`, TargetLabels: []string{"app"}, AggregateBy: tc.by})
		if err != nil {
			t.Fatal(err)
		}
		if len(b[0].Volumes) != 1 || b[0].Volumes[0].Labels.String() != tc.want {
			t.Errorf("%s: %+v, want labels %s", tc.by, b[0].Volumes, tc.want)
		}
	}
}

func TestVolumeTargetsAddMatchers(t *testing.T) {
	store := &volSource{}
	q := New(Config{}, volIngesters{&volSource{}}, store, nil)
	if _, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{Start: 0, End: 10, Query: `{app="a"}`, TargetLabels: []string{"app", "pod"}}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(store.matchers[0]); got != `[app="a" pod=~".+"]` {
		t.Errorf("store asked for %s", got)
	}
	if _, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{Start: 0, End: 10, Query: `{}`}); err != nil {
		t.Fatal(err)
	}
	if len(store.matchers[1]) != 0 {
		t.Errorf("{} asked with matchers %v", store.matchers[1])
	}
}

func TestVolumeIngesterEntriesNotDoubleCounted(t *testing.T) {
	lbls := labels.FromStrings("app", "a")
	// The store holds a chunk of [10s, 12s]; the ingester still holds those
	// entries (retained after the flush) and newer ones.
	flushed := lines(10*sec, 3, 10) // 10s, 10.001s, 10.002s: inside the chunk
	fresh := lines(20*sec, 5, 7)
	store := &volSource{streams: []volStream{{lbls: lbls, chunks: []storage.ChunkVolume{{From: 10 * sec, Through: 12 * sec, Bytes: 30}}}}}
	ing := volIngesters{&volSource{streams: []volStream{{lbls: lbls, entries: append(append([]logproto.Entry{}, flushed...), fresh...)}}}}
	q := New(Config{}, ing, store, nil)
	b, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{Start: 0, End: 60 * sec, Query: `{app="a"}`})
	if err != nil {
		t.Fatal(err)
	}
	if got := formatVolumes(b[0].Volumes); got != `{app="a"}=65` { // 30 stored + 5×7 in memory
		t.Errorf("got %s, want {app=\"a\"}=65", got)
	}
}

func TestVolumeIngestersThatReportVolumes(t *testing.T) {
	lbls := labels.FromStrings("app", "a")
	store := &volSource{streams: []volStream{{lbls: lbls, chunks: []storage.ChunkVolume{{From: 10 * sec, Through: 12 * sec, Bytes: 30}}}}}
	// An ingester that reports its unflushed chunks is trusted as is and
	// never asked for entries.
	ing := &volSource{streams: []volStream{{lbls: lbls, chunks: []storage.ChunkVolume{{From: 20 * sec, Through: 22 * sec, Bytes: 12}}}}}
	q := New(Config{}, ing, store, nil)
	b, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{Start: 0, End: 60 * sec, Query: `{app="a"}`})
	if err != nil {
		t.Fatal(err)
	}
	if got := formatVolumes(b[0].Volumes); got != `{app="a"}=42` || len(ing.selected) != 0 {
		t.Errorf("got %s (entries asked %v), want {app=\"a\"}=42 from chunks alone", got, ing.selected)
	}
}

func TestVolumeBucketsAndProrating(t *testing.T) {
	lbls := labels.FromStrings("app", "a")
	// A chunk spanning [5s, 15s) holds 1000 bytes, spread over buckets by
	// its time share; entries in memory fall at 25s and 31s.
	store := &volSource{streams: []volStream{{lbls: lbls, chunks: []storage.ChunkVolume{{From: 5 * sec, Through: 15*sec - 1, Bytes: 1000}}}}}
	ing := volIngesters{&volSource{streams: []volStream{{lbls: lbls, entries: []logproto.Entry{
		{Timestamp: 25 * sec, Line: "abcd"}, {Timestamp: 31 * sec, Line: "ef"},
	}}}}}
	q := New(Config{}, ing, store, nil)
	// Step 10s from 3s to 33s: buckets [3,10) [10,20) [20,30) [30,33).
	b, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{Start: 3 * sec, End: 33 * sec, Step: 10 * sec, Query: `{app="a"}`})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		start, end, time int64
		vols             string
	}{
		{3 * sec, 10 * sec, 10*sec - int64(time.Millisecond), `{app="a"}=500`}, // [5s,10s) is half the chunk
		{10 * sec, 20 * sec, 20*sec - int64(time.Millisecond), `{app="a"}=500`},
		{20 * sec, 30 * sec, 30*sec - int64(time.Millisecond), `{app="a"}=4`},
		{30 * sec, 33 * sec, 33 * sec, `{app="a"}=2`},
	}
	if len(b) != len(want) {
		t.Fatalf("%d buckets, want %d: %+v", len(b), len(want), b)
	}
	for i, w := range want {
		if b[i].Start != w.start || b[i].End != w.end || b[i].Time != w.time || formatVolumes(b[i].Volumes) != w.vols {
			t.Errorf("bucket %d: [%d, %d) at %d: %s; want [%d, %d) at %d: %s", i,
				b[i].Start, b[i].End, b[i].Time, formatVolumes(b[i].Volumes), w.start, w.end, w.time, w.vols)
		}
	}
}

func TestVolumeAsksIngestersOnlyForRecentRanges(t *testing.T) {
	now := time.Unix(100000, 0)
	ing := &volSource{}
	q := New(Config{QueryIngestersWithin: time.Hour}, volIngesters{ing}, &volSource{}, nil)
	q.now = func() time.Time { return now }
	old := now.Add(-2 * time.Hour).UnixNano()
	if _, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{Start: old - sec, End: old, Query: `{a="b"}`}); err != nil {
		t.Fatal(err)
	}
	if len(ing.selected) != 0 {
		t.Errorf("ingesters asked for an old range: %v", ing.selected)
	}
	if _, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{Start: old, End: now.UnixNano(), Query: `{a="b"}`}); err != nil {
		t.Fatal(err)
	}
	if want := [2]int64{now.Add(-time.Hour).UnixNano(), now.UnixNano()}; len(ing.selected) != 1 || ing.selected[0] != want {
		t.Errorf("ingesters asked %v, want %v", ing.selected, want)
	}
}

func TestCoverSelectors(t *testing.T) {
	for _, tc := range []struct {
		series []labels.Labels
		want   string
	}{
		{nil, "[]"},
		{[]labels.Labels{labels.FromStrings("app", "a", "job", "j"), labels.FromStrings("app", "b")}, `[[app=~".+"]]`},
		{[]labels.Labels{
			labels.FromStrings("job", "j1", "x", "1"), labels.FromStrings("job", "j2"), labels.FromStrings("pod", "p"),
			labels.FromStrings("pod", "q", "x", "2"), labels.FromStrings("zone", "z"),
		}, `[[job=~".+"] [pod=~".+"] [zone=~".+"]]`},
	} {
		if got := fmt.Sprint(coverSelectors(tc.series)); got != tc.want {
			t.Errorf("coverSelectors(%v) = %s, want %s", tc.series, got, tc.want)
		}
	}
}

func TestVolumeMatchAnyCountsEachStreamOnce(t *testing.T) {
	a := labels.FromStrings("app", "a", "job", "j")
	b := labels.FromStrings("app", "b")
	c := labels.FromStrings("job", "k")
	ing := volIngesters{&volSource{streams: []volStream{
		{lbls: a, entries: lines(sec, 2, 10)}, {lbls: b, entries: lines(sec, 1, 7)}, {lbls: c, entries: lines(sec, 3, 1)},
	}}}
	q := New(Config{}, ing, &volSource{}, nil)
	bs, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{Start: 0, End: 60 * sec, Query: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	if got := formatVolumes(bs[0].Volumes); got != `{app="a", job="j"}=20 {app="b"}=7 {job="k"}=3` {
		t.Errorf("got %s", got)
	}
	if len(ing.selected) != 2 { // {app=~".+"} then {job=~".+"}
		t.Errorf("%d selects, want 2", len(ing.selected))
	}
}

func TestVolumeErrors(t *testing.T) {
	q := New(Config{}, volIngesters{&volSource{}}, &volSource{}, nil)
	_, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{Query: `{a="b"}`, AggregateBy: "pods"})
	if !errors.Is(err, logql.ErrBadRequest) || err.Error() != "invalid aggregation option" {
		t.Errorf("bad aggregateBy: %v", err)
	}
	if _, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{Query: `{a=~".*"}`}); err == nil {
		t.Error("a selector matching everything was accepted")
	}
	if _, err := q.Volume(context.Background(), "t", logproto.VolumeRequest{Query: ``}); err == nil {
		t.Error("an empty selector was accepted")
	}
	noVolumes := New(Config{}, volIngesters{&volSource{}}, &source{}, nil)
	if _, err := noVolumes.Volume(context.Background(), "t", logproto.VolumeRequest{Query: `{a="b"}`}); !errors.Is(err, ErrVolumeUnsupported) {
		t.Errorf("store without volumes: %v", err)
	}
}

func TestVolumeBuckets(t *testing.T) {
	ms := int64(time.Millisecond)
	lastStep := int64(math.MaxInt64) - math.MaxInt64%(10*sec) // the last multiple of 10 s
	for _, tc := range []struct {
		start, end, step int64
		want             [][3]int64 // start, end, time
	}{
		{100, 200, 0, [][3]int64{{100, 200, 200}}},
		{0, 30 * sec, 10 * sec, [][3]int64{{0, 10 * sec, 10*sec - ms}, {10 * sec, 20 * sec, 20*sec - ms}, {20 * sec, 30 * sec, 30 * sec}}},
		{15 * sec, 25 * sec, 10 * sec, [][3]int64{{15 * sec, 20 * sec, 20*sec - ms}, {20 * sec, 25 * sec, 25 * sec}}},
		{-15 * sec, -5 * sec, 10 * sec, [][3]int64{{-15 * sec, -10 * sec, -10*sec - ms}, {-10 * sec, -5 * sec, -5 * sec}}},
		{5, 5, 10, [][3]int64{{5, 5, 5}}},
		// At the end of int64 time (the API clamps later times there) the
		// last bucket ends at the end instead of wrapping around.
		{math.MaxInt64 - 15*sec, math.MaxInt64, 10 * sec, [][3]int64{
			{math.MaxInt64 - 15*sec, lastStep, lastStep - ms},
			{lastStep, math.MaxInt64, math.MaxInt64}}},
	} {
		var got [][3]int64
		for _, b := range volumeBuckets(tc.start, tc.end, tc.step) {
			got = append(got, [3]int64{b.Start, b.End, b.Time})
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("buckets(%d, %d, %d) = %v, want %v", tc.start, tc.end, tc.step, got, tc.want)
		}
	}
}

// BenchmarkVolumeIngesterEntries counts 100,000 in-memory entries of 100
// streams into 60 buckets, half of them covered by stored chunks.
func BenchmarkVolumeIngesterEntries(b *testing.B) {
	var ing, store volSource
	var size int64
	for s := 0; s < 100; s++ {
		lbls := labels.FromStrings("app", fmt.Sprintf("app-%d", s%10), "pod", fmt.Sprintf("pod-%d", s))
		es := lines(0, 1000, 100)
		for i := range es {
			es[i].Timestamp = int64(i) * 60 * sec / 1000
		}
		size += 1000 * 100
		ing.streams = append(ing.streams, volStream{lbls: lbls, entries: es})
		store.streams = append(store.streams, volStream{lbls: lbls, chunks: []storage.ChunkVolume{{From: 0, Through: 30*sec - 1, Bytes: 50000}}})
	}
	q := New(Config{}, volIngesters{&ing}, &store, nil)
	req := logproto.VolumeRequest{Start: 0, End: 60 * sec, Step: sec, Query: `{app=~".+"}`, TargetLabels: []string{"app"}}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := q.Volume(context.Background(), "t", req); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVolumeIngesterEntriesMemory checks that counting the ingesters'
// entries takes memory for the buckets a stream has entries in, not for
// every bucket of every stream: 400 streams with one entry each over
// 11,000 buckets (the most a request may ask for) took 35 MB.
func TestVolumeIngesterEntriesMemory(t *testing.T) {
	var ing volSource
	for s := range 400 {
		lbls := labels.FromStrings("app", "a", "pod", fmt.Sprintf("pod-%d", s))
		ing.streams = append(ing.streams, volStream{lbls: lbls, entries: lines(int64(s)*sec, 1, 10)})
	}
	q := New(Config{}, volIngesters{&ing}, &volSource{}, nil)
	req := logproto.VolumeRequest{Start: 0, End: 11000 * sec, Step: sec, Query: `{app="a"}`}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b, err := q.Volume(context.Background(), "t", req)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 11000 || formatVolumes(b[7].Volumes) != `{app="a"}=10` || formatVolumes(b[400].Volumes) != "" {
		t.Fatalf("%d buckets; bucket 7: %s; bucket 400: %s", len(b), formatVolumes(b[7].Volumes), formatVolumes(b[400].Volumes))
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
		t.Errorf("%d MB allocated, want at most 8", n>>20)
	}
}
