package distributor

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

// recorder is a Pusher that keeps what it is given.
type recorder struct{ reqs []logproto.PushRequest }

func (r *recorder) Push(_ context.Context, _ string, req *logproto.PushRequest) error {
	r.reqs = append(r.reqs, *req)
	return nil
}

func (r *recorder) streams() []logproto.Stream {
	var out []logproto.Stream
	for _, req := range r.reqs {
		out = append(out, req.Streams...)
	}
	return out
}

func defaultLimits() validation.Limits {
	var l validation.Limits
	l.RegisterFlags(flag.NewFlagSet("", flag.PanicOnError))
	return l
}

var testNow = time.Date(2026, 11, 23, 15, 42, 25, 0, time.UTC)

func newTestDistributor(t *testing.T, mod func(*validation.Limits)) (*Distributor, *recorder) {
	t.Helper()
	l := defaultLimits()
	if mod != nil {
		mod(&l)
	}
	rec := &recorder{}
	d := New(validation.NewOverrides(l, nil), rec, nil, prometheus.NewRegistry())
	d.now = func() time.Time { return testNow }
	return d, rec
}

func entry(ts time.Time, line string, sm ...logproto.LabelAdapter) logproto.Entry {
	return logproto.Entry{Timestamp: ts.UnixNano(), Line: line, StructuredMetadata: sm}
}

func TestServiceNameAndCanonicalLabels(t *testing.T) {
	for _, tc := range []struct {
		labels, want string
	}{
		{`{job="e"}`, `{job="e", service_name="e"}`},
		{`{app="api", job="smoke"}`, `{app="api", job="smoke", service_name="api"}`},
		{`{service="svc", app="api"}`, `{app="api", service="svc", service_name="svc"}`},
		{`{service_name="mine", app="api"}`, `{app="api", service_name="mine"}`},
		{`{}`, `{service_name="unknown_service"}`},
		{`{env="prod"}`, `{env="prod", service_name="unknown_service"}`},
		{`{ k8s_container_name = "c", empty="" }`, `{k8s_container_name="c", service_name="c"}`},
	} {
		d, rec := newTestDistributor(t, nil)
		err := d.Push(context.Background(), "fake", &logproto.PushRequest{Streams: []logproto.Stream{
			{Labels: tc.labels, Entries: []logproto.Entry{entry(testNow, "x")}},
		}})
		if err != nil {
			t.Fatalf("%s: %v", tc.labels, err)
		}
		got := rec.streams()
		if len(got) != 1 || got[0].Labels != tc.want {
			t.Errorf("%s: pushed %+v, want labels %s", tc.labels, got, tc.want)
		}
	}
}

func TestValidationMessages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*validation.Limits)
		labels string
		entry  logproto.Entry
		want   string
	}{
		{"too new", nil, `{job="e"}`, entry(testNow.Add(time.Hour), "x"),
			"entry for stream '{job=\"e\", service_name=\"e\"}' has timestamp too new: 2026-11-23T16:42:25Z"},
		{"too old", nil, `{job="e"}`, entry(testNow.Add(-8*24*time.Hour), "x"),
			"entry for stream '{job=\"e\", service_name=\"e\"}' has timestamp too old: 2026-11-15T15:42:25Z, oldest acceptable timestamp is: 2026-11-16T15:42:25Z"},
		{"bad label", nil, `{job-x="e"}`, entry(testNow, "x"), "couldn't parse labels: 1:5: parse error: unexpected character inside braces: '-'"},
		{"duplicate label", nil, `{job="e", job="f"}`, entry(testNow, "x"), "stream '{job=\"e\", job=\"f\"}' has duplicate label name: 'job'"},
		{"line too long", func(l *validation.Limits) { l.MaxLineSize = 4 }, `{job="e"}`, entry(testNow, "12345"),
			"Max entry size '4' bytes exceeded for stream '{job=\"e\", service_name=\"e\"}' while adding an entry with length '5' bytes"},
		{"too many labels", func(l *validation.Limits) { l.MaxLabelNamesPerSeries = 2 }, `{a="1", b="2", c="3"}`, entry(testNow, "x"),
			"entry for stream '{a=\"1\", b=\"2\", c=\"3\"}' has 3 label names; limit 2"},
		{"label value too long", func(l *validation.Limits) { l.MaxLabelValueLength = 5 }, `{job="longer"}`, entry(testNow, "x"),
			"stream '{job=\"longer\"}' has label value too long: 'longer'"},
		{"too much metadata", func(l *validation.Limits) { l.MaxStructuredMetadataEntries = 1 }, `{job="e"}`,
			entry(testNow, "x", logproto.LabelAdapter{Name: "a", Value: "1"}, logproto.LabelAdapter{Name: "b", Value: "2"}),
			"stream '{job=\"e\", service_name=\"e\"}' has too many structured metadata labels: '2', limit: '1'."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, rec := newTestDistributor(t, tc.mod)
			err := d.Push(context.Background(), "fake", &logproto.PushRequest{Streams: []logproto.Stream{
				{Labels: tc.labels, Entries: []logproto.Entry{tc.entry}},
				{Labels: `{job="good"}`, Entries: []logproto.Entry{entry(testNow, "kept")}},
			}})
			if !errors.Is(err, validation.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("message\n got %q\nwant prefix %q", err.Error(), tc.want)
			}
			// The valid stream of the same request is kept.
			got := rec.streams()
			if len(got) != 1 || got[0].Labels != `{job="good", service_name="good"}` || got[0].Entries[0].Line != "kept" {
				t.Errorf("valid part not forwarded: %+v", got)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	d, rec := newTestDistributor(t, func(l *validation.Limits) {
		l.IngestionRateMB = 1.0 / (1 << 20) // 1 byte/s
		l.IngestionBurstSizeMB = 8.0 / (1 << 20)
	})
	req := func() *logproto.PushRequest {
		return &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{job="e"}`, Entries: []logproto.Entry{entry(testNow, "12345")}}}}
	}
	if err := d.Push(context.Background(), "fake", req()); err != nil {
		t.Fatalf("first push within burst: %v", err)
	}
	err := d.Push(context.Background(), "fake", req())
	if !errors.Is(err, validation.ErrRateLimited) {
		t.Fatalf("second push: err = %v, want ErrRateLimited", err)
	}
	if !strings.HasPrefix(err.Error(), "Ingestion rate limit exceeded for user fake (limit: 1 bytes/sec) while attempting to ingest '1' lines totaling '") {
		t.Errorf("message %q", err.Error())
	}
	if n := len(rec.streams()); n != 1 {
		t.Errorf("%d streams forwarded, want only the first push's", n)
	}
}

func TestDetectedLevel(t *testing.T) {
	for _, tc := range []struct {
		labels string
		line   string
		sm     []logproto.LabelAdapter
		want   string
	}{
		{`{job="a", level="info"}`, "anything", nil, "info"},
		{`{job="a", level="WARNING"}`, "anything", nil, "warn"},
		{`{job="a", level="notice"}`, "anything", nil, "notice"},
		{`{job="a"}`, "x", []logproto.LabelAdapter{{Name: "severity", Value: "ERR"}}, "error"},
		{`{job="a"}`, "x", []logproto.LabelAdapter{{Name: "detected_level", Value: "Debug"}}, "debug"},
		{`{job="a"}`, `{"msg":"job done","dur_ms":120,"status":"ok"}`, nil, "unknown"},
		{`{job="a"}`, `{"msg":"job failed","dur_ms":340,"status":"err"}`, nil, "error"},
		{`{job="a"}`, `{"a":{"level":"fatal"}}`, nil, "fatal"},
		{`{job="a"}`, `{"level":"custom lvl"}`, nil, "unknown"},
		{`{job="a"}`, `ts=1 level=info msg="promtail line 1"`, nil, "info"},
		{`{job="a"}`, `ts=1 LEVEL=warn lvl=debug`, nil, "warn"},
		{`{job="a"}`, `ts=1 lvl=debug`, nil, "debug"},
		{`{job="a"}`, "GET /users 500 db timeout", nil, "unknown"},
		{`{job="a"}`, "2024 ERROR something failed", nil, "error"},
		{`{job="a"}`, "an errorless line with info", nil, "info"},
		{`{job="a"}`, "[WARN] disk almost full", nil, "warn"},
		{`{job="a"}`, "TRACE entering", nil, "trace"},
	} {
		d, rec := newTestDistributor(t, nil)
		if err := d.Push(context.Background(), "fake", &logproto.PushRequest{Streams: []logproto.Stream{
			{Labels: tc.labels, Entries: []logproto.Entry{entry(testNow, tc.line, tc.sm...)}},
		}}); err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, p := range rec.streams()[0].Entries[0].StructuredMetadata {
			if p.Name == LevelLabel {
				got = p.Value
			}
		}
		if got != tc.want {
			t.Errorf("%s %q %v: detected_level %q, want %q", tc.labels, tc.line, tc.sm, got, tc.want)
		}
	}
}

func TestMetadataSanitised(t *testing.T) {
	d, rec := newTestDistributor(t, nil)
	if err := d.Push(context.Background(), "fake", &logproto.PushRequest{Streams: []logproto.Stream{
		{Labels: `{job="a"}`, Entries: []logproto.Entry{entry(testNow, "x", logproto.LabelAdapter{Name: "trace.id", Value: "a\xffb"})}},
	}}); err != nil {
		t.Fatal(err)
	}
	sm := rec.streams()[0].Entries[0].StructuredMetadata
	if sm[0].Name != "trace_id" || sm[0].Value != "a\uFFFDb" {
		t.Errorf("metadata %+v not sanitised", sm)
	}
}

func BenchmarkPush(b *testing.B) {
	l := defaultLimits()
	l.IngestionRateMB, l.IngestionBurstSizeMB = 1<<20, 1<<20
	d := New(validation.NewOverrides(l, nil), discard{}, nil, nil)
	now := time.Now()
	var streams []logproto.Stream
	var bytes int64
	for s := 0; s < 20; s++ {
		st := logproto.Stream{Labels: `{job="bench", pod="pod-` + string(rune('a'+s)) + `"}`}
		for i := 0; i < 50; i++ {
			line := `ts=2024-01-01T00:00:00Z level=info msg="request served" path=/api/v1/items status=200 duration=12ms`
			st.Entries = append(st.Entries, logproto.Entry{Timestamp: now.UnixNano() + int64(i), Line: line})
			bytes += int64(len(line))
		}
		streams = append(streams, st)
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	for b.Loop() {
		req := logproto.PushRequest{Streams: streams}
		if err := d.Push(context.Background(), "fake", &req); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Push(context.Context, string, *logproto.PushRequest) error { return nil }
