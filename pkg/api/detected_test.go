package api

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

type fakeDetector struct {
	reqs   []logproto.DetectedLabelsRequest
	labels []logproto.DetectedLabel
}

func (f *fakeDetector) DetectedLabels(_ context.Context, _ string, r logproto.DetectedLabelsRequest) ([]logproto.DetectedLabel, error) {
	f.reqs = append(f.reqs, r)
	return f.labels, nil
}

func TestDetectedLabelsMatchesLoki(t *testing.T) {
	f := newFixture(t, nil)
	d := &fakeDetector{labels: []logproto.DetectedLabel{{Label: "app", Cardinality: 2}, {Label: "level", Cardinality: 2}, {Label: "service_name", Cardinality: 2}, {Label: "job", Cardinality: 1}}}
	f.api = New(f.api.cfg, Deps{Detector: d}, nil, nil, nil)
	f.api.now = func() int64 { return testNow }
	w := f.request(http.MethodGet, "/loki/api/v1/detected_labels?query=%7Bjob%3D%22smoke%22%7D&start=1795444985&end=1795448585", nil)
	if want := readSample(t, "detected-labels.json"); w.Body.String() != string(want) {
		t.Errorf("body %q\nLoki %q", w.Body.String(), want)
	}
	if _, h := sampleHeaders(t, "detected-labels.headers"); w.Header().Get("Content-Type") != h.Get("Content-Type") {
		t.Errorf("Content-Type %q", w.Header().Get("Content-Type"))
	}
	if want := (logproto.DetectedLabelsRequest{Start: 1795444985e9, End: 1795448585e9, Query: `{job="smoke"}`}); d.reqs[0] != want {
		t.Errorf("request %+v, want %+v", d.reqs[0], want)
	}
	d.labels = nil
	if w := f.request(http.MethodGet, "/loki/api/v1/detected_labels", nil); w.Body.String() != "{\"detectedLabels\":[]}\n" {
		t.Errorf("none: %q", w.Body.String())
	}
	if w := f.request(http.MethodGet, "/loki/api/v1/detected_labels?query=%7Bjob%3D~%22.*%22%7D", nil); w.Code != http.StatusBadRequest {
		t.Errorf("bad selector: %d %q", w.Code, w.Body.String())
	}
}

// workerStreams is the engine's answer behind Loki's detected-fields sample:
// the worker's JSON lines with their detected_level.
func workerStreams() []logql.Stream {
	return []logql.Stream{{
		Labels: labels.FromStrings("app", "worker", "job", "smoke", "service_name", "worker"),
		Entries: []logproto.Entry{
			{Timestamp: 1795448484000000000, Line: `{"msg":"job failed","dur_ms":340,"status":"err"}`,
				StructuredMetadata: []logproto.LabelAdapter{{Name: "detected_level", Value: "error"}}},
			{Timestamp: 1795448481000000000, Line: `{"msg":"job done","dur_ms":120,"status":"ok"}`,
				StructuredMetadata: []logproto.LabelAdapter{{Name: "detected_level", Value: "info"}}},
		},
	}}
}

type detectedFieldsBody struct {
	Fields []map[string]any `json:"fields"`
	Limit  *int             `json:"limit"`
	Values []string         `json:"values"`
}

func decodeFields(t *testing.T, b []byte) detectedFieldsBody {
	t.Helper()
	var d detectedFieldsBody
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	sort.Slice(d.Fields, func(i, j int) bool { return d.Fields[i]["label"].(string) < d.Fields[j]["label"].(string) })
	return d
}

func TestDetectedFieldsMatchesLoki(t *testing.T) {
	f := newFixture(t, nil)
	f.engine.res = logql.Result{Type: logql.ValueStreams, Streams: workerStreams()}
	w := f.request(http.MethodGet, "/loki/api/v1/detected_fields?query=%7Bapp%3D%22worker%22%7D&start=1795444985&end=1795448585", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
	want := readSample(t, "detected-fields.json")
	// Loki lists fields in map order; compare them as a set, and the rest
	// exactly.
	if got, lk := decodeFields(t, w.Body.Bytes()), decodeFields(t, want); !reflect.DeepEqual(got, lk) {
		t.Errorf("got  %+v\nLoki %+v", got, lk)
	}
	if got, lk := jsonObjectKeyOrder(t, w.Body.Bytes()), jsonObjectKeyOrder(t, want); !reflect.DeepEqual(got, lk) {
		t.Errorf("keys %v, Loki %v", got, lk)
	}
	if !strings.HasSuffix(w.Body.String(), "}\n") {
		t.Error("Loki ends the answer with a newline")
	}
	if _, h := sampleHeaders(t, "detected-fields.headers"); w.Header().Get("Content-Type") != h.Get("Content-Type") {
		t.Errorf("Content-Type %q", w.Header().Get("Content-Type"))
	}
	// The engine ran the log query for the newest line_limit entries.
	p := f.engine.last(t)
	if want := (logql.Params{Query: `{app="worker"}`, Start: 1795444985e9, End: 1795448585e9, Limit: 100, Direction: logproto.Backward}); p != want {
		t.Errorf("engine params %+v, want %+v", p, want)
	}
}

func TestDetectedFieldValues(t *testing.T) {
	f := newFixture(t, nil)
	f.engine.res = logql.Result{Type: logql.ValueStreams, Streams: workerStreams()}
	for _, tc := range []struct{ target, body string }{
		{"/loki/api/v1/detected_field/status/values?query=%7Bapp%3D%22worker%22%7D", `{"values":["err","ok"],"limit":1000}` + "\n"},
		{"/loki/api/v1/detected_field/detected_level/values?query=%7Bapp%3D%22worker%22%7D&limit=1", `{"values":["error"],"limit":1}` + "\n"},
		{"/loki/api/v1/detected_field/nope/values?query=%7Bapp%3D%22worker%22%7D", `{"values":[]}` + "\n"},
	} {
		if w := f.request(http.MethodGet, tc.target, nil); w.Code != http.StatusOK || w.Body.String() != tc.body {
			t.Errorf("%s: %d %q, want %q", tc.target, w.Code, w.Body.String(), tc.body)
		}
	}
	f.engine.res = logql.Result{Type: logql.ValueStreams}
	if w := f.request(http.MethodPost, "/loki/api/v1/detected_fields", strings.NewReader("query=%7Bapp%3D%22worker%22%7D&line_limit=7&field_limit=3"),
		"Content-Type: application/x-www-form-urlencoded"); w.Body.String() != "{\"fields\":[]}\n" || f.engine.last(t).Limit != 7 {
		t.Errorf("no fields: %q, line limit %d", w.Body.String(), f.engine.last(t).Limit)
	}
}

func TestDetectedFieldsParamErrors(t *testing.T) {
	sel := "query=%7Bapp%3D%22worker%22%7D"
	for _, tc := range []struct{ target, body string }{
		{"/loki/api/v1/detected_fields?" + sel + "&line_limit=0", "limit must be a positive value"},
		{"/loki/api/v1/detected_fields?" + sel + "&limit=-2", "limit must be a positive value"},
		{"/loki/api/v1/detected_fields?" + sel + "&field_limit=x", `strconv.ParseInt: parsing "x": invalid syntax`},
		{"/loki/api/v1/detected_fields?" + sel + "&line_limit=6000", "max entries limit per query exceeded, limit > max_entries_limit_per_query (6000 > 5000)"},
		{"/loki/api/v1/detected_fields?" + sel + "&step=0", "zero or negative query resolution step widths are not accepted. Try a positive integer"},
		{"/loki/api/v1/detected_fields?" + sel + "&start=20&end=10", "end timestamp must not be before or equal to start time"},
		{"/loki/api/v1/detected_fields?" + sel + "&start=0&end=100000&step=1", "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter"},
		{"/loki/api/v1/detected_fields?" + sel + "&step=1x", `cannot parse "1x" to a valid duration`},
		{"/loki/api/v1/detected_fields", "parse error : syntax error: unexpected $end"},
		{"/loki/api/v1/detected_fields?query=rate(%7Ba%3D%22b%22%7D%5B1m%5D)", "only log selector is supported"},
	} {
		f := newFixture(t, nil)
		w := f.request(http.MethodGet, tc.target, nil)
		if w.Code != http.StatusBadRequest || w.Body.String() != tc.body || len(f.engine.params) != 0 {
			t.Errorf("%s: %d %q, want 400 %q", tc.target, w.Code, w.Body.String(), tc.body)
		}
	}
}
