package loadgen

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skald-logs/skald/pkg/logproto"
)

// receiver is a push endpoint that decodes bodies with Skald's decoders and
// keeps what it accepted.
type receiver struct {
	mu      sync.Mutex
	pushes  int
	failN   int // refuse every failN-th push (0: none)
	streams map[string][]logproto.Entry
	tenants map[string]int
	errs    []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	var req logproto.PushRequest
	switch ct := r.Header.Get("Content-Type"); ct {
	case "application/x-protobuf":
		err = logproto.DecodeSnappyPushRequest(body, &req)
	case "application/json":
		err = logproto.UnmarshalJSONPushRequest(body, &req)
	default:
		err = errors.New("content type " + ct)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.pushes++
	if err != nil {
		rc.errs = append(rc.errs, err.Error())
		http.Error(w, err.Error(), 400)
		return
	}
	if rc.failN > 0 && rc.pushes%rc.failN == 0 {
		http.Error(w, "refused on purpose", http.StatusInternalServerError)
		return
	}
	rc.tenants[r.Header.Get("X-Scope-OrgID")]++
	for _, s := range req.Streams {
		for _, e := range s.Entries {
			e.Line = strings.Clone(e.Line)
			rc.streams[s.Labels] = append(rc.streams[s.Labels], e)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func newReceiver(failN int) (*receiver, *httptest.Server) {
	rc := &receiver{failN: failN, streams: map[string][]logproto.Entry{}, tenants: map[string]int{}}
	return rc, httptest.NewServer(rc)
}

func TestRunDeliversEverything(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		format                    Format
		streams, batch, senders   int
		lines                     int64
		rate                      float64
		wantPushesMin, wantPushes int
	}{
		{"protobuf", FormatProtobuf, 10, 100, 2, 5000, 0, 50, 50},
		{"json", FormatJSON, 10, 100, 3, 5000, 0, 50, 52},
		{"more streams than a batch", FormatProtobuf, 50, 7, 2, 1000, 0, 143, 144},
		{"paced", FormatProtobuf, 4, 50, 2, 400, 20000, 8, 8},
		{"more senders than streams", FormatProtobuf, 2, 10, 5, 100, 0, 10, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, srv := newReceiver(0)
			defer srv.Close()
			w := mustWorkload(t, WorkloadConfig{Streams: tc.streams, Lines: tc.lines, LineSize: 120, Span: time.Hour})
			cfg := DefaultRunConfig(srv.URL + "/loki/api/v1/push")
			cfg.Format, cfg.BatchSize, cfg.Concurrency, cfg.Rate, cfg.Tenant = tc.format, tc.batch, tc.senders, tc.rate, "t1"
			res, err := Run(context.Background(), cfg, w)
			if err != nil {
				t.Fatal(err)
			}
			if res.Failures != 0 || len(rc.errs) != 0 {
				t.Fatalf("failures %d %v, server errors %v", res.Failures, res.Errors, rc.errs)
			}
			if res.Lines != tc.lines || res.Pushes < tc.wantPushesMin || res.Pushes > tc.wantPushes || len(res.Latencies) != res.Pushes {
				t.Errorf("lines %d pushes %d latencies %d", res.Lines, res.Pushes, len(res.Latencies))
			}
			if rc.tenants["t1"] != res.Pushes {
				t.Errorf("tenants %v", rc.tenants)
			}
			var raw int64
			for s, st := range w.Streams() {
				lines, tss := allLines(w, s)
				got := rc.streams[st.Labels]
				if len(got) != len(lines) {
					t.Fatalf("stream %s: %d entries, want %d", st.Labels, len(got), len(lines))
				}
				for j := range got {
					// Each stream arrives whole and in order.
					if got[j].Timestamp != tss[j] || got[j].Line != lines[j] {
						t.Fatalf("stream %s entry %d: %d %q, want %d %q", st.Labels, j, got[j].Timestamp, got[j].Line, tss[j], lines[j])
					}
					raw += int64(len(lines[j]))
				}
			}
			if res.Bytes != raw || res.WireBytes <= 0 {
				t.Errorf("bytes %d, want %d; wire %d", res.Bytes, raw, res.WireBytes)
			}
			if res.Percentile(50) > res.Percentile(99) || res.Percentile(99) > res.Max() || res.Max() <= 0 {
				t.Errorf("latencies p50 %v p99 %v max %v", res.Percentile(50), res.Percentile(99), res.Max())
			}
		})
	}
}

func TestRunCountsFailures(t *testing.T) {
	rc, srv := newReceiver(4)
	defer srv.Close()
	w := mustWorkload(t, WorkloadConfig{Streams: 4, Lines: 2000, LineSize: 100, Span: time.Hour})
	cfg := DefaultRunConfig(srv.URL)
	cfg.BatchSize, cfg.Concurrency = 100, 1
	res, err := Run(context.Background(), cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushes != 20 || res.Failures != 5 || res.Lines != 1500 {
		t.Errorf("pushes %d failures %d lines %d", res.Pushes, res.Failures, res.Lines)
	}
	if len(res.Errors) != 5 || !strings.Contains(res.Errors[0], "500 Internal Server Error: refused on purpose") {
		t.Errorf("errors %q", res.Errors)
	}
	var kept int
	for _, es := range rc.streams {
		kept += len(es)
	}
	if kept != 1500 {
		t.Errorf("server kept %d lines", kept)
	}
	if !strings.Contains(res.String(), "failed pushes: 5") {
		t.Errorf("summary:\n%s", res)
	}
}

func TestRunUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	w := mustWorkload(t, WorkloadConfig{Streams: 1, Lines: 10, LineSize: 100, Span: time.Hour})
	cfg := DefaultRunConfig(url)
	cfg.BatchSize = 5
	res, err := Run(context.Background(), cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failures != 2 || res.Lines != 0 || len(res.Errors) != 2 {
		t.Errorf("failures %d lines %d errors %q", res.Failures, res.Lines, res.Errors)
	}
}

func TestRunCancelled(t *testing.T) {
	_, srv := newReceiver(0)
	defer srv.Close()
	w := mustWorkload(t, WorkloadConfig{Streams: 2, Lines: 1000, LineSize: 100, Span: time.Hour})
	cfg := DefaultRunConfig(srv.URL)
	cfg.BatchSize, cfg.Rate = 10, 1 // one line a second: the run would take long
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, cfg, w)
	if !errors.Is(err, context.Canceled) || res == nil || res.Lines == 1000 {
		t.Errorf("cancelled run: %v, %+v", err, res)
	}
}

func TestRunConfigErrors(t *testing.T) {
	w := mustWorkload(t, WorkloadConfig{Streams: 1, Lines: 10, LineSize: 100, Span: time.Hour})
	for _, cfg := range []RunConfig{
		{URL: "", Concurrency: 1, BatchSize: 1},
		{URL: "http://x", Concurrency: 0, BatchSize: 1},
		{URL: "http://x", Concurrency: 1, BatchSize: 0},
		{URL: "http://x", Concurrency: 1, BatchSize: 1, Rate: -1},
	} {
		if _, err := Run(context.Background(), cfg, w); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

func TestPercentile(t *testing.T) {
	r := &Result{}
	if r.Percentile(50) != 0 || r.LinesPerSecond() != 0 {
		t.Error("empty result")
	}
	for i := 1; i <= 200; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{50: 100, 99: 198, 100: 200, 0.1: 1, 99.9: 200} {
		if got := r.Percentile(p); got != want {
			t.Errorf("p%v = %d, want %d", p, got, want)
		}
	}
	r.Lines, r.Bytes, r.Elapsed = 1000, 2e6, 2*time.Second
	if r.LinesPerSecond() != 500 || r.MBPerSecond() != 1 {
		t.Errorf("rates %v %v", r.LinesPerSecond(), r.MBPerSecond())
	}
}
