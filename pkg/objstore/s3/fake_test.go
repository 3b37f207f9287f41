package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/objstore"
	"github.com/skald-logs/skald/pkg/objstore/s3"
)

// fakeServer answers S3 requests from a script, for the behaviours a real
// server does not show on demand: ignored Range headers, 5xx answers.
type fakeServer struct {
	mu      sync.Mutex
	handler func(w http.ResponseWriter, r *http.Request, body []byte)
	bodies  [][]byte // bodies of the PUT requests received
	calls   int
}

func startFake(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, body []byte)) (*fakeServer, s3.Config) {
	f := &fakeServer{handler: handler}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading request body: %v", err)
		}
		f.mu.Lock()
		f.calls++
		if r.Method == http.MethodPut {
			f.bodies = append(f.bodies, body)
		}
		f.mu.Unlock()
		f.handler(w, r, body)
	}))
	t.Cleanup(srv.Close)
	return f, s3.Config{
		Endpoint:        srv.URL,
		Bucket:          "b",
		Region:          "us-east-1",
		AccessKeyID:     "id",
		SecretAccessKey: "secret",
		ForcePathStyle:  true,
		MaxAttempts:     3,
		MaxBackoff:      10 * time.Millisecond,
		RequestTimeout:  5 * time.Second,
	}
}

func TestServerIgnoresRange(t *testing.T) {
	const object = "0123456789"
	_, cfg := startFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Path != "/b/k" || r.Method != http.MethodGet {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", "10")
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		io.WriteString(w, object) // 200 and the whole object, whatever the Range
	})
	b := newBucket(t, cfg, nil)
	defer b.Close()
	tests := []struct {
		off, length int64
		want        string
	}{
		{3, 4, "3456"},
		{0, 10, object},
		{8, -1, "89"},
		{8, 100, "89"},
		{10, 5, ""},
		{20, -1, ""},
	}
	for _, tc := range tests {
		rc, err := b.GetRange(context.Background(), "k", tc.off, tc.length)
		if err != nil {
			t.Errorf("GetRange(%d, %d): %v", tc.off, tc.length, err)
			continue
		}
		if got := rc.(objstore.Sizer).Size(); got != int64(len(tc.want)) {
			t.Errorf("GetRange(%d, %d) Size = %d, want %d", tc.off, tc.length, got, len(tc.want))
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != tc.want {
			t.Errorf("GetRange(%d, %d) = %q, %v; want %q", tc.off, tc.length, got, err, tc.want)
		}
	}
}

// TestPutRetrySendsWholeBody fails the first attempt of a Put after the
// server has read the body: the retry must send the same body again.
func TestPutRetrySendsWholeBody(t *testing.T) {
	f, cfg := startFake(t, nil)
	f.handler = func(w http.ResponseWriter, r *http.Request, _ []byte) {
		f.mu.Lock()
		n := len(f.bodies)
		f.mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `<Error><Code>InternalError</Code><Message>try again</Message></Error>`)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
	reg := prometheus.NewRegistry()
	b := newBucket(t, cfg, reg)
	defer b.Close()
	data := bytes.Repeat([]byte("0123456789abcdef"), 10_000)
	readers := []struct {
		name string
		r    io.Reader
	}{
		{"seekable", bytes.NewReader(data)},
		{"read-only", io.MultiReader(bytes.NewReader(data))},
	}
	for _, rd := range readers {
		f.mu.Lock()
		f.bodies = nil
		f.mu.Unlock()
		if err := b.Put(context.Background(), "k", rd.r, int64(len(data))); err != nil {
			t.Fatalf("%s: Put: %v", rd.name, err)
		}
		f.mu.Lock()
		bodies := f.bodies
		f.mu.Unlock()
		if len(bodies) != 2 {
			t.Fatalf("%s: server got %d PUTs, want 2 (one failed, one retry)", rd.name, len(bodies))
		}
		for i, body := range bodies {
			if !bytes.Equal(body, data) {
				t.Errorf("%s: PUT %d carried %d bytes, want the %d bytes of the object", rd.name, i, len(body), len(data))
			}
		}
	}
	if got := requests(t, reg, "PutObject", "500"); got != 2 {
		t.Errorf("PutObject 500 answers = %v, want 2", got)
	}
	if got := requests(t, reg, "PutObject", "200"); got != 2 {
		t.Errorf("PutObject 200 answers = %v, want 2", got)
	}
}

func TestRetriesStopAtMaxAttempts(t *testing.T) {
	tests := []struct {
		status int
		code   string
		retry  bool
	}{
		{http.StatusInternalServerError, "InternalError", true},
		{http.StatusServiceUnavailable, "SlowDown", true},
		{http.StatusBadRequest, "InvalidArgument", false},
		{http.StatusNotFound, "NoSuchKey", false},
	}
	for _, tc := range tests {
		f, cfg := startFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.WriteHeader(tc.status)
			io.WriteString(w, "<Error><Code>"+tc.code+"</Code><Message>scripted</Message></Error>")
		})
		b := newBucket(t, cfg, nil)
		_, err := b.Get(context.Background(), "k")
		b.Close()
		if err == nil {
			t.Errorf("%s: Get succeeded", tc.code)
			continue
		}
		if got := errors.Is(err, objstore.ErrNotFound); got != (tc.code == "NoSuchKey") {
			t.Errorf("%s: Get error = %v; ErrNotFound: %v", tc.code, err, got)
		}
		if tc.code != "NoSuchKey" && !strings.Contains(err.Error(), tc.code) {
			t.Errorf("%s: Get error = %q, want it to name the code", tc.code, err)
		}
		want := 1
		if tc.retry {
			want = cfg.MaxAttempts
		}
		f.mu.Lock()
		calls := f.calls
		f.mu.Unlock()
		if calls != want {
			t.Errorf("%s: %d attempts, want %d", tc.code, calls, want)
		}
	}
}

// TestChunkedResponse serves objects without a Content-Length: readers must
// not claim a size they do not know.
func TestChunkedResponse(t *testing.T) {
	const object = "0123456789"
	_, cfg := startFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, object[:4])
		w.(http.Flusher).Flush() // no Content-Length: chunked
		io.WriteString(w, object[4:])
	})
	b := newBucket(t, cfg, nil)
	defer b.Close()
	ctx := context.Background()
	got, err := objstore.GetAll(ctx, b, "k")
	if err != nil || string(got) != object {
		t.Errorf("GetAll = %q, %v; want %q", got, err, object)
	}
	for _, tc := range []struct {
		off, length int64
		want        string
	}{{2, 3, "234"}, {7, -1, "789"}, {20, 3, ""}} {
		rc, err := b.GetRange(ctx, "k", tc.off, tc.length)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != tc.want {
			t.Errorf("GetRange(%d, %d) = %q, %v; want %q", tc.off, tc.length, got, err, tc.want)
		}
	}
}
