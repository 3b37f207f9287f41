package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

// realLines returns the records of a real sshd log (testdata/logs).
func realLines(b testing.TB) []string {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "logs", "OpenSSH_2k.log"))
	if err != nil {
		b.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(raw), "\r\n"), "\r\n")
}

// benchResult is a 5000-entry log result (the default max entries per
// query) over real lines, newest first, spread over five streams. With
// metadata, every entry carries a level and a third of them a trace id, so
// the default encoding splits the streams.
func benchResult(b testing.TB, metadata bool) logql.Result {
	lines := realLines(b)
	const n = 5000
	streams := make([]logql.Stream, 5)
	for i := range streams {
		streams[i].Labels = labels.FromStrings("job", "sshd", "host", "node-"+string(rune('a'+i)), "service_name", "sshd")
	}
	levels := []string{"info", "warn", "error"}
	for i := 0; i < n; i++ {
		e := logproto.Entry{Timestamp: 1795448496e9 - int64(i)*1e6, Line: lines[i%len(lines)]}
		if metadata {
			e.StructuredMetadata = []logproto.LabelAdapter{{Name: "detected_level", Value: levels[i%3]}}
			if i%3 == 0 {
				e.StructuredMetadata = append(e.StructuredMetadata, logproto.LabelAdapter{Name: "trace_id", Value: "abc123"})
			}
		}
		s := &streams[i%len(streams)]
		s.Entries = append(s.Entries, e)
	}
	return logql.Result{Type: logql.ValueStreams, Streams: streams}
}

func BenchmarkEncodeStreams(b *testing.B) {
	for _, bc := range []struct {
		name       string
		metadata   bool
		categorize bool
	}{
		{"5000/plain", false, false},
		{"5000/metadata-merged", true, false},
		{"5000/metadata-categorized", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			res := benchResult(b, bc.metadata)
			out, err := appendQueryResponse(nil, &res, logproto.Backward, bc.categorize)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				buf := getBuffer()
				*buf, err = appendQueryResponse(*buf, &res, logproto.Backward, bc.categorize)
				if err != nil {
					b.Fatal(err)
				}
				putBuffer(buf)
			}
		})
	}
}

// BenchmarkQueryRangeHandler serves a 5000-entry answer through the whole
// HTTP handler: parameter parsing, encoding, and gzip when asked for.
func BenchmarkQueryRangeHandler(b *testing.B) {
	for _, gz := range []bool{false, true} {
		name := "identity"
		if gz {
			name = "gzip"
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b, nil)
			f.engine.res = benchResult(b, true)
			r := httptest.NewRequest(http.MethodGet, "/loki/api/v1/query_range?query=%7Bjob%3D%22sshd%22%7D&limit=5000&start=1795444896&end=1795448496", nil)
			h := f.api.Handler()
			w := &discardWriter{header: http.Header{}}
			h.ServeHTTP(w, r)
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
			b.SetBytes(w.n) // MB/s of uncompressed JSON, in both cases
			if gz {
				r.Header.Set("Accept-Encoding", "gzip")
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, r)
			}
			b.ReportMetric(float64(w.n), "body-bytes")
		})
	}
}

// BenchmarkPushBody reads and gunzips a 1 MB push body (real lines) with
// the pooled buffers; decoding belongs to logproto and is left out.
func BenchmarkPushBody(b *testing.B) {
	var raw bytes.Buffer
	for _, l := range realLines(b) {
		raw.WriteString(l)
		raw.WriteByte('\n')
		if raw.Len() > 1<<20 {
			break
		}
	}
	for raw.Len() < 1<<20 {
		raw.Write(raw.Bytes()[:min(raw.Len(), 1<<20-raw.Len())])
	}
	for _, enc := range []string{"", "gzip"} {
		name := "identity"
		body := raw.String()
		if enc == "gzip" {
			name = "gzip"
			body = gzipped(b, body)
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b, nil)
			f.api.decoders = pushDecoders{json: func(data []byte, req *logproto.PushRequest) error {
				req.Streams = append(req.Streams[:0], logproto.Stream{Labels: `{a="b"}`})
				return nil
			}}
			h := f.api.Handler()
			w := &discardWriter{header: http.Header{}}
			b.SetBytes(int64(raw.Len()))
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/loki/api/v1/push", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				if enc != "" {
					r.Header.Set("Content-Encoding", enc)
				}
				w.reset()
				h.ServeHTTP(w, r)
				if w.status != http.StatusNoContent {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

// discardWriter is a ResponseWriter that counts and drops the body.
type discardWriter struct {
	header http.Header
	status int
	n      int64
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(s int)   { w.status = s }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += int64(len(p))
	return len(p), nil
}
func (w *discardWriter) reset() {
	clear(w.header)
	w.status, w.n = 0, 0
}
