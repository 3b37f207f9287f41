package api

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/golang/snappy"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

// decoderLog records which decoder saw which bytes.
type decoderLog struct {
	mu    sync.Mutex
	calls []string
}

func (d *decoderLog) add(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, s)
}

// fakeDecoders stand in for logproto's decoders: the payload is one log
// line ("empty" gives no streams, "bad…" an error), and the snappy decoder
// really undoes snappy, so corrupt input fails as it does in Loki.
func fakeDecoders(log *decoderLog) pushDecoders {
	dec := func(kind string) func([]byte, *logproto.PushRequest) error {
		return func(b []byte, req *logproto.PushRequest) error {
			log.add(kind + ":" + string(b))
			switch {
			case string(b) == "empty":
				return nil
			case strings.HasPrefix(string(b), "bad"):
				return errors.New("cannot decode " + string(b))
			}
			req.Streams = []logproto.Stream{{Labels: `{job="e"}`, Entries: []logproto.Entry{{Timestamp: 1, Line: string(b)}}}}
			return nil
		}
	}
	return pushDecoders{
		snappyProto: func(b []byte, req *logproto.PushRequest) error {
			d, err := snappy.Decode(nil, b)
			if err != nil {
				return err
			}
			return dec("proto")(d, req)
		},
		json:       dec("json"),
		legacyJSON: dec("legacy"),
	}
}

func gzipped(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func deflated(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw, _ := flate.NewWriter(&b, flate.DefaultCompression)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// unsized hides the length of a body, as a chunked upload does.
type unsized struct{ io.Reader }

func TestPush(t *testing.T) {
	snappyBody := string(snappy.Encode(nil, []byte("line one")))
	tests := []struct {
		name       string
		path       string
		body       io.Reader
		headers    []string
		limits     func(*Config)
		pushErr    error
		wantStatus int
		wantBody   string
		wantCall   string // decoder call, "" for none
	}{
		{name: "protobuf", body: strings.NewReader(snappyBody), headers: []string{"Content-Type: application/x-protobuf"},
			wantStatus: 204, wantCall: "proto:line one"},
		{name: "snappy content encoding passes through", body: strings.NewReader(snappyBody),
			headers: []string{"Content-Type: application/x-protobuf", "Content-Encoding: snappy"}, wantStatus: 204, wantCall: "proto:line one"},
		{name: "json", body: strings.NewReader("line two"), headers: []string{"Content-Type: application/json; charset=utf-8"},
			wantStatus: 204, wantCall: "json:line two"},
		{name: "gzip json", body: strings.NewReader(gzipped(t, "zipped")),
			headers: []string{"Content-Type: application/json", "Content-Encoding: gzip"}, wantStatus: 204, wantCall: "json:zipped"},
		{name: "gzip protobuf", body: strings.NewReader(gzipped(t, snappyBody)),
			headers: []string{"Content-Type: application/x-protobuf", "Content-Encoding: gzip"}, wantStatus: 204, wantCall: "proto:line one"},
		{name: "deflate json", body: strings.NewReader(deflated(t, "deflated")),
			headers: []string{"Content-Type: application/json", "Content-Encoding: deflate"}, wantStatus: 204, wantCall: "json:deflated"},
		{name: "unsized body", body: unsized{strings.NewReader("chunked")}, headers: []string{"Content-Type: application/json"},
			wantStatus: 204, wantCall: "json:chunked"},
		{name: "legacy json", path: "/api/prom/push", body: strings.NewReader("old"), headers: []string{"Content-Type: application/json"},
			wantStatus: 204, wantCall: "legacy:old"},
		{name: "legacy protobuf", path: "/api/prom/push", body: strings.NewReader(snappyBody),
			headers: []string{"Content-Type: application/x-protobuf"}, wantStatus: 204, wantCall: "proto:line one"},
		{name: "unknown content encoding", body: strings.NewReader("x"), headers: []string{"Content-Type: application/json", "Content-Encoding: br"},
			wantStatus: 400, wantBody: "Content-Encoding \"br\" not supported\n"},
		{name: "no content type", body: strings.NewReader("x"), wantStatus: 400, wantBody: "mime: no media type\n"},
		{name: "bad content type", body: strings.NewReader("x"), headers: []string{"Content-Type: ;;"},
			wantStatus: 400, wantBody: "mime: no media type\n"},
		{name: "json sent as text/plain is read as protobuf", body: strings.NewReader(`{"streams":[]}`),
			headers: []string{"Content-Type: text/plain"}, wantStatus: 400, wantBody: sampleRaw(t, "push-text-plain")},
		{name: "decoder error", body: strings.NewReader("bad json"), headers: []string{"Content-Type: application/json"},
			wantStatus: 400, wantBody: "cannot decode bad json\n", wantCall: "json:bad json"},
		{name: "corrupt gzip", body: strings.NewReader("this is not gzip at all"), headers: []string{"Content-Type: application/json", "Content-Encoding: gzip"},
			wantStatus: 400, wantBody: "gzip: invalid header\n"},
		{name: "no streams", body: strings.NewReader("empty"), headers: []string{"Content-Type: application/json"},
			wantStatus: 422, wantBody: sampleRaw(t, "push-empty-streams"), wantCall: "json:empty"},
		{name: "body over limit", body: strings.NewReader("0123456789"), headers: []string{"Content-Type: application/json"},
			limits: func(c *Config) { c.MaxRecvMsgSize = 9 }, wantStatus: 413, wantBody: "message size too large than max (10 vs 9)\n"},
		{name: "body at limit", body: strings.NewReader("0123456789"), headers: []string{"Content-Type: application/json"},
			limits: func(c *Config) { c.MaxRecvMsgSize = 10 }, wantStatus: 204, wantCall: "json:0123456789"},
		{name: "unsized body over limit", body: unsized{strings.NewReader(strings.Repeat("x", 100000))}, headers: []string{"Content-Type: application/json"},
			limits: func(c *Config) { c.MaxRecvMsgSize = 9 }, wantStatus: 413, wantBody: "message size too large than max (10 vs 9)\n"},
		{name: "gzip over decompressed limit", body: strings.NewReader(gzipped(t, strings.Repeat("a", 1000))),
			headers: []string{"Content-Type: application/json", "Content-Encoding: gzip"}, limits: func(c *Config) { c.MaxDecompressedSize = 999 },
			wantStatus: 413, wantBody: "decompressed message size too large than max (1000 vs 999)\n"},
		{name: "snappy over decompressed limit", body: strings.NewReader(string(snappy.Encode(nil, []byte(strings.Repeat("a", 1000))))),
			headers: []string{"Content-Type: application/x-protobuf"}, limits: func(c *Config) { c.MaxDecompressedSize = 999 },
			wantStatus: 413, wantBody: "decompressed message size too large than max (1000 vs 999)\n"},
		{name: "invalid entries", body: strings.NewReader("x"), headers: []string{"Content-Type: application/json"}, wantCall: "json:x",
			pushErr:    fmt.Errorf("%w: entry for stream '{job=\"e\"}' has timestamp too new: 2026-11-23T16:42:25Z", validation.ErrInvalid),
			wantStatus: 400, wantBody: "invalid push: entry for stream '{job=\"e\"}' has timestamp too new: 2026-11-23T16:42:25Z\n"},
		{name: "rate limited", body: strings.NewReader("x"), headers: []string{"Content-Type: application/json"}, wantCall: "json:x",
			pushErr: fmt.Errorf("ingestion rate limit exceeded: %w", validation.ErrRateLimited), wantStatus: 429,
			wantBody: "ingestion rate limit exceeded: rate limited\n"},
		{name: "pusher failure", body: strings.NewReader("x"), headers: []string{"Content-Type: application/json"}, wantCall: "json:x",
			pushErr: errors.New("quorum not reached"), wantStatus: 500, wantBody: "quorum not reached\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.limits)
			log := &decoderLog{}
			f.api.decoders = fakeDecoders(log)
			f.pusher.err = tc.pushErr
			path := tc.path
			if path == "" {
				path = "/loki/api/v1/push"
			}
			w := f.request(http.MethodPost, path, tc.body, tc.headers...)
			if w.Code != tc.wantStatus || w.Body.String() != tc.wantBody {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body.String(), tc.wantStatus, tc.wantBody)
			}
			if got := strings.Join(log.calls, ","); got != tc.wantCall {
				t.Errorf("decoder calls %q, want %q", got, tc.wantCall)
			}
			if tc.wantStatus == 204 {
				status, want := sampleHeaders(t, "push-response.headers")
				if w.Code != status || w.Header().Get("Content-Type") != want.Get("Content-Type") {
					t.Errorf("success: %d %v, Loki %d %v", w.Code, w.Header(), status, want)
				}
				if len(f.pusher.reqs) != 1 || f.pusher.tenants[0] != "fake" {
					t.Fatalf("pusher got %d requests, tenants %v", len(f.pusher.reqs), f.pusher.tenants)
				}
			} else {
				if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Errorf("error Content-Type %q", ct)
				}
				if tc.pushErr == nil && len(f.pusher.reqs) != 0 {
					t.Error("refused push reached the pusher")
				}
			}
		})
	}
}

func sampleRaw(t *testing.T, name string) string {
	t.Helper()
	return string(readSample(t, "errors/"+name+".body"))
}

// The body buffer is pooled: pushes that follow one another must each see
// their own bytes, including when a later body is shorter.
func TestPushBufferReuse(t *testing.T) {
	f := newFixture(t, nil)
	log := &decoderLog{}
	f.api.decoders = fakeDecoders(log)
	bodies := []string{strings.Repeat("long line ", 1000), "short", gzipped(t, "zipped one"), "tiny"}
	for _, b := range bodies {
		headers := []string{"Content-Type: application/json"}
		if strings.HasPrefix(b, "\x1f\x8b") {
			headers = append(headers, "Content-Encoding: gzip")
		}
		if w := f.request(http.MethodPost, "/loki/api/v1/push", strings.NewReader(b), headers...); w.Code != 204 {
			t.Fatalf("status %d %q", w.Code, w.Body.String())
		}
	}
	want := []string{bodies[0], "short", "zipped one", "tiny"}
	for i, r := range f.pusher.reqs {
		if got := r.Streams[0].Entries[0].Line; got != want[i] {
			t.Errorf("push %d saw %q, want %q", i, truncate(got, 40), truncate(want[i], 40))
		}
	}
}

func TestReadAllLimited(t *testing.T) {
	for _, tc := range []struct {
		name          string
		body          string
		contentLength int64
		limit         int64
		wantErr       string
	}{
		{"empty", "", 0, 10, ""},
		{"exact", "0123456789", 10, 10, ""},
		{"announced too large", "0123456789", 11, 10, "message size too large than max (11 vs 10)"},
		{"longer than announced", "0123456789abc", 5, 10, "message size too large than max (11 vs 10)"},
		{"shorter than announced", "01234", 100, 1000, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := getBuffer()
			defer putBuffer(buf)
			got, err := readAllLimited((*buf)[:0], unsized{strings.NewReader(tc.body)}, tc.contentLength, tc.limit, errMsgTooLarge)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.body {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

// Concurrent pushes and queries share the buffer and reader pools; each
// must see only its own bytes (run with -race).
func TestConcurrentRequests(t *testing.T) {
	f := newFixture(t, nil)
	f.meta.labels = []string{"app", "job"}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				line := fmt.Sprintf("goroutine %d push %d %s", g, i, strings.Repeat("x", i*97))
				body := fmt.Sprintf(`{"streams":[{"stream":{"g":"%d"},"values":[["%d",%q]]}]}`, g, i+1, line)
				headers := []string{"Content-Type: application/json"}
				if i%2 == 1 {
					body = gzipped(t, body)
					headers = append(headers, "Content-Encoding: gzip")
				}
				if w := f.request(http.MethodPost, "/loki/api/v1/push", strings.NewReader(body), headers...); w.Code != 204 {
					errs <- fmt.Sprintf("push: %d %q", w.Code, w.Body.String())
					return
				}
				if w := f.request(http.MethodGet, "/loki/api/v1/labels", nil); w.Body.String() != "{\"status\":\"success\",\"data\":[\"app\",\"job\"]}\n" {
					errs <- fmt.Sprintf("labels: %q", w.Body.String())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for i, r := range f.pusher.reqs {
		s := r.Streams[0]
		var g, n int
		if _, err := fmt.Sscanf(s.Entries[0].Line, "goroutine %d push %d", &g, &n); err != nil {
			t.Fatalf("push %d: line %q", i, truncate(s.Entries[0].Line, 40))
		}
		if s.Labels != fmt.Sprintf(`{g="%d"}`, g) || s.Entries[0].Timestamp != int64(n+1) ||
			s.Entries[0].Line != fmt.Sprintf("goroutine %d push %d %s", g, n, strings.Repeat("x", n*97)) {
			t.Errorf("push %d mixed up: %s %d %q", i, s.Labels, s.Entries[0].Timestamp, truncate(s.Entries[0].Line, 40))
		}
	}
	if len(f.pusher.reqs) != 200 {
		t.Errorf("%d pushes arrived, want 200", len(f.pusher.reqs))
	}
}
