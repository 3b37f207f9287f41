package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

type fakeVolumes struct {
	mu      sync.Mutex
	reqs    []logproto.VolumeRequest
	buckets []logproto.VolumeBucket
	err     error
}

func (f *fakeVolumes) Volume(_ context.Context, _ string, r logproto.VolumeRequest) ([]logproto.VolumeBucket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r)
	return f.buckets, f.err
}

func newVolumeFixture(t *testing.T, buckets ...logproto.VolumeBucket) (*fixture, *fakeVolumes) {
	t.Helper()
	f := newFixture(t, nil)
	v := &fakeVolumes{buckets: buckets}
	f.api = New(f.api.cfg, Deps{Volumes: v}, nil, nil, nil)
	f.api.now = func() int64 { return testNow }
	return f, v
}

func seriesVolume(ls string, bytes uint64) logproto.Volume {
	lbls, err := syntax.ParseMatchers(ls, false)
	if err != nil {
		panic(err)
	}
	b := labels.NewScratchBuilder(len(lbls))
	for _, m := range lbls {
		b.Add(m.Name, m.Value)
	}
	b.Sort()
	set := b.Labels()
	return logproto.Volume{Name: set.String(), Labels: set, Bytes: bytes}
}

func TestVolumeParams(t *testing.T) {
	sel := "query=%7Bjob%3D%22smoke%22%7D"
	hour := int64(time.Hour)
	for _, tc := range []struct {
		target string
		want   logproto.VolumeRequest
	}{
		{"/loki/api/v1/index/volume?" + sel, logproto.VolumeRequest{Start: testNow - hour, End: testNow, Query: `{job="smoke"}`, AggregateBy: "series", Limit: 100}},
		{"/loki/api/v1/index/volume?" + sel + "&limit=0&aggregateBy=labels&targetLabels=app,pod&start=1795444985&end=1795448585",
			logproto.VolumeRequest{Start: 1795444985e9, End: 1795448585e9, Query: `{job="smoke"}`, AggregateBy: "labels", TargetLabels: []string{"app", "pod"}, Limit: 100}},
		{"/loki/api/v1/index/volume?" + sel + "&limit=30&since=10m",
			logproto.VolumeRequest{Start: testNow - int64(10*time.Minute), End: testNow, Query: `{job="smoke"}`, AggregateBy: "series", Limit: 30}},
		{"/loki/api/v1/index/volume_range?" + sel + "&start=1795444985&end=1795448585&step=60",
			logproto.VolumeRequest{Start: 1795444985e9, End: 1795448585e9, Step: 60e9, Query: `{job="smoke"}`, AggregateBy: "series", Limit: 100}},
		// The default step of a range, as for query_range.
		{"/loki/api/v1/index/volume_range?" + sel,
			logproto.VolumeRequest{Start: testNow - hour, End: testNow, Step: 14e9, Query: `{job="smoke"}`, AggregateBy: "series", Limit: 100}},
		// Bounds in milliseconds, start rounded down and end up (logcli
		// sends nanoseconds; Loki answered at 1795448585.682).
		{"/loki/api/v1/index/volume?" + sel + "&start=1795444985681837599&end=1795448585681837599",
			logproto.VolumeRequest{Start: 1795444985681e6, End: 1795448585682e6, Query: `{job="smoke"}`, AggregateBy: "series", Limit: 100}},
	} {
		f, v := newVolumeFixture(t)
		if w := f.request(http.MethodGet, tc.target, nil); w.Code != http.StatusOK {
			t.Errorf("%s: %d %s", tc.target, w.Code, w.Body.String())
			continue
		}
		if !reflect.DeepEqual(v.reqs[0], tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.target, v.reqs[0], tc.want)
		}
	}
	// The parameters may come in a form body.
	f, v := newVolumeFixture(t)
	w := f.request(http.MethodPost, "/loki/api/v1/index/volume", strings.NewReader(sel+"&targetLabels=app"), "Content-Type: application/x-www-form-urlencoded")
	if w.Code != http.StatusOK || len(v.reqs) != 1 || v.reqs[0].Query != `{job="smoke"}` || len(v.reqs[0].TargetLabels) != 1 {
		t.Errorf("POST: %d %s %+v", w.Code, w.Body.String(), v.reqs)
	}
}

func TestVolumeParamErrors(t *testing.T) {
	sel := "query=%7Bjob%3D%22smoke%22%7D"
	for _, tc := range []struct{ target, body string }{
		{"/loki/api/v1/index/volume?" + sel + "&limit=-1", "limit must be a positive value"},
		{"/loki/api/v1/index/volume?" + sel + "&limit=x", `strconv.Atoi: parsing "x": invalid syntax`},
		{"/loki/api/v1/index/volume?" + sel + "&aggregateBy=pods", "invalid aggregation option"},
		{"/loki/api/v1/index/volume?" + sel + "&start=20&end=10", "end timestamp must not be before or equal to start time"},
		{"/loki/api/v1/index/volume?" + sel + "&direction=up", "invalid direction 'up'"},
		{"/loki/api/v1/index/volume_range?" + sel + "&start=0&end=100000&step=1", "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter"},
		{"/loki/api/v1/index/volume_range?" + sel + "&step=0", "zero or negative query resolution step widths are not accepted. Try a positive integer"},
		{"/loki/api/v1/index/volume?" + sel + "&start=0&end=3000000", "the query time range exceeds the limit (query length: 833h20m0s, limit: 30d1h)"},
	} {
		f, v := newVolumeFixture(t)
		w := f.request(http.MethodGet, tc.target, nil)
		if w.Code != http.StatusBadRequest || w.Body.String() != tc.body || len(v.reqs) != 0 {
			t.Errorf("%s: %d %q, want 400 %q", tc.target, w.Code, w.Body.String(), tc.body)
		}
	}
	// Errors from the querier map as usual: a bad selector is a 400.
	f, v := newVolumeFixture(t)
	_, v.err = syntax.ParseMatchers(`{job=~".*"}`, true)
	if w := f.request(http.MethodGet, "/loki/api/v1/index/volume?query=%7Bjob%3D~%22.*%22%7D", nil); w.Code != http.StatusBadRequest {
		t.Errorf("bad selector: %d %q", w.Code, w.Body.String())
	}
}

func TestVolumeMatchesLoki(t *testing.T) {
	s := int64(time.Second)
	for _, tc := range []struct {
		sample, target string
		bucket         logproto.VolumeBucket
	}{
		{"index-volume.json", "/loki/api/v1/index/volume?query=%7Bjob%3D%22smoke%22%7D",
			logproto.VolumeBucket{Time: 1795448556 * s, Volumes: []logproto.Volume{seriesVolume(`{job="smoke"}`, 362)}}},
		// One bucket of a range is a vector too, at the bucket's last ms.
		{"index-volume-range.json", "/loki/api/v1/index/volume_range?query=%7Bjob%3D%22smoke%22%7D",
			logproto.VolumeBucket{Time: 1795448520*s - int64(time.Millisecond), Volumes: []logproto.Volume{seriesVolume(`{job="smoke"}`, 362)}}},
		{"index-volume-aggregateBy-labels.json", "/loki/api/v1/index/volume?query=%7Bjob%3D%22smoke%22%7D&aggregateBy=labels",
			logproto.VolumeBucket{Time: 1795449096 * s, Volumes: []logproto.Volume{
				{Name: "app"}, {Name: "job"}, {Name: "level"}, {Name: "service_name"},
			}}},
	} {
		f, _ := newVolumeFixture(t, tc.bucket)
		w := f.request(http.MethodGet, tc.target, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.target, w.Code, w.Body.String())
		}
		compareWithSample(t, w.Body.Bytes(), tc.sample)
		_, h := sampleHeaders(t, "index-volume.headers")
		if w.Header().Get("Content-Type") != h.Get("Content-Type") {
			t.Errorf("Content-Type %q, Loki %q", w.Header().Get("Content-Type"), h.Get("Content-Type"))
		}
	}
}

func TestVolumeMatrix(t *testing.T) {
	s := int64(time.Second)
	f, _ := newVolumeFixture(t,
		logproto.VolumeBucket{Time: 60*s - int64(time.Millisecond), Volumes: []logproto.Volume{seriesVolume(`{app="b"}`, 10), seriesVolume(`{app="a"}`, 10)}},
		logproto.VolumeBucket{Time: 90 * s, Volumes: []logproto.Volume{seriesVolume(`{app="c"}`, 500), seriesVolume(`{app="a"}`, 7)}},
	)
	w := f.request(http.MethodGet, "/loki/api/v1/index/volume_range?query=%7Bapp%3D~%22.%2B%22%7D&start=0&end=90&step=60", nil)
	var r struct {
		Data struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Values [][]any           `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	// Ordered by first sample, largest first, then by label set; each
	// series has the samples of the buckets it appears in.
	got := fmt.Sprint(r.Data.ResultType, " ")
	for _, s := range r.Data.Result {
		got += fmt.Sprint(s.Metric, s.Values, " ")
	}
	want := "matrix map[app:c] [[90 500]] map[app:a] [[59.999 10] [90 7]] map[app:b] [[59.999 10]] "
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestRoundToMillis(t *testing.T) {
	const ms = int64(time.Millisecond)
	for _, tc := range []struct{ start, end, wantStart, wantEnd int64 }{
		{0, 0, 0, 0},
		{5 * ms, 7 * ms, 5 * ms, 7 * ms},
		{5*ms + 1, 7*ms + 1, 5 * ms, 8 * ms},
		{5*ms - 1, 7*ms - 1, 4 * ms, 7 * ms},
		{-5*ms - 1, -3*ms - 1, -6 * ms, -3 * ms},
		{-5*ms + 1, -3*ms + 1, -5 * ms, -2 * ms},
		// No overflow at the ends of the range: rounded toward zero.
		{math.MinInt64, math.MaxInt64, math.MinInt64 - math.MinInt64%ms, math.MaxInt64 - math.MaxInt64%ms},
	} {
		s, e := roundToMillis(tc.start, tc.end)
		if s != tc.wantStart || e != tc.wantEnd {
			t.Errorf("roundToMillis(%d, %d) = %d, %d, want %d, %d", tc.start, tc.end, s, e, tc.wantStart, tc.wantEnd)
		}
	}
}
