package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

// otlpProtoBody encodes, with protowire, an ExportLogsServiceRequest of one
// resource (service.name=api, k8s.container.name=web, host.name=h1) with one
// record: time 1700000000000000000, severity 17 "ERROR", body "boom",
// attribute user.id="42". Field numbers are those of opentelemetry-proto.
func otlpProtoBody() []byte {
	str := func(s string) []byte { // AnyValue{string_value}
		return protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), s)
	}
	attr := func(k, v string) []byte { // KeyValue{key, value}
		b := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), k)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		return protowire.AppendBytes(b, str(v))
	}
	msg := func(dst []byte, field protowire.Number, m []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(dst, field, protowire.BytesType), m)
	}
	var resource []byte
	resource = msg(resource, 1, attr("service.name", "api"))
	resource = msg(resource, 1, attr("k8s.container.name", "web"))
	resource = msg(resource, 1, attr("host.name", "h1"))
	var record []byte
	record = protowire.AppendFixed64(protowire.AppendTag(record, 1, protowire.Fixed64Type), 1_700_000_000_000_000_000)
	record = protowire.AppendVarint(protowire.AppendTag(record, 2, protowire.VarintType), 17)
	record = protowire.AppendString(protowire.AppendTag(record, 3, protowire.BytesType), "ERROR")
	record = msg(record, 5, str("boom"))
	record = msg(record, 6, attr("user.id", "42"))
	scopeLogs := msg(nil, 2, record)
	resourceLogs := msg(msg(nil, 1, resource), 2, scopeLogs)
	return msg(nil, 1, resourceLogs)
}

const otlpJSONBody = `{"resourceLogs":[{"resource":{"attributes":[
  {"key":"service.name","value":{"stringValue":"api"}},
  {"key":"k8s.container.name","value":{"stringValue":"web"}},
  {"key":"host.name","value":{"stringValue":"h1"}}]},
  "scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000000000000","severityNumber":17,"severityText":"ERROR",
  "body":{"stringValue":"boom"},"attributes":[{"key":"user.id","value":{"stringValue":"42"}}]}]}]}]}`

// otlpWant is what both bodies push.
var otlpWant = []logproto.Stream{{
	Labels: `{k8s_container_name="web", service_name="api"}`,
	Entries: []logproto.Entry{{
		Timestamp: 1_700_000_000_000_000_000,
		Line:      "boom",
		StructuredMetadata: []logproto.LabelAdapter{
			{Name: "user_id", Value: "42"},
			{Name: "severity_number", Value: "17"},
			{Name: "severity_text", Value: "ERROR"},
			{Name: "host_name", Value: "h1"},
		},
	}},
}}

func encodeBody(t *testing.T, encoding string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch encoding {
	case "":
		return b
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zstd":
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	case "lz4":
		w = lz4.NewWriter(&buf)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOTLPPush(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, encoding string
		body                        []byte
	}{
		{"protobuf", "application/x-protobuf", "", otlpProtoBody()},
		{"protobuf gzip", "application/x-protobuf", "gzip", otlpProtoBody()},
		{"protobuf zstd", "application/x-protobuf", "zstd", otlpProtoBody()},
		{"protobuf lz4", "application/x-protobuf", "lz4", otlpProtoBody()},
		{"JSON", "application/json", "", []byte(otlpJSONBody)},
		{"JSON gzip with charset", "application/json; charset=utf-8", "gzip", []byte(otlpJSONBody)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.AuthEnabled = true })
			headers := []string{"Content-Type: " + tc.contentType, "X-Scope-OrgID: team-a"}
			if tc.encoding != "" {
				headers = append(headers, "Content-Encoding: "+tc.encoding)
			}
			w := f.request(http.MethodPost, "/otlp/v1/logs", bytes.NewReader(encodeBody(t, tc.encoding, tc.body)), headers...)
			if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
				t.Fatalf("got %d %q", w.Code, w.Body)
			}
			if len(f.pusher.reqs) != 1 || f.pusher.tenants[0] != "team-a" {
				t.Fatalf("pushes %d, tenants %v", len(f.pusher.reqs), f.pusher.tenants)
			}
			if got := f.pusher.reqs[0].Streams; !reflect.DeepEqual(got, otlpWant) {
				t.Errorf("pushed %+v\nwant   %+v", got, otlpWant)
			}
		})
	}
}

// With the tenant's limits at hand, service_name is discovered from the
// index labels as Loki does; records without a time get the request's.
func TestOTLPServiceNameDiscovery(t *testing.T) {
	f := newFixture(t, nil)
	f.api.deps.Limits = validation.NewOverrides(validation.Limits{DiscoverServiceName: []string{"k8s_container_name"}}, nil)
	body := `{"resourceLogs":[{"resource":{"attributes":[{"key":"k8s.container.name","value":{"stringValue":"web"}}]},
	  "scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"}}]}]},
	  {"scopeLogs":[{"logRecords":[{"body":{"stringValue":"y"}}]}]}]}`
	w := f.request(http.MethodPost, "/otlp/v1/logs", strings.NewReader(body), "Content-Type: application/json")
	if w.Code != http.StatusNoContent {
		t.Fatalf("got %d %q", w.Code, w.Body)
	}
	want := []logproto.Stream{
		{Labels: `{k8s_container_name="web", service_name="web"}`, Entries: []logproto.Entry{{Timestamp: testNow, Line: "x"}}},
		{Labels: `{service_name="unknown_service"}`, Entries: []logproto.Entry{{Timestamp: testNow, Line: "y"}}},
	}
	if got := f.pusher.reqs[0].Streams; !reflect.DeepEqual(got, want) {
		t.Errorf("pushed %+v\nwant   %+v", got, want)
	}
}

func TestOTLPErrors(t *testing.T) {
	body := otlpProtoBody()
	gz := encodeBody(t, "gzip", body)
	for _, tc := range []struct {
		name       string
		mutate     func(*Config)
		headers    []string
		body       []byte
		pushErr    error
		wantStatus int
		wantMsg    string
	}{{
		name:    "unsupported encoding",
		headers: []string{"Content-Type: application/x-protobuf", "Content-Encoding: snappy"},
		body:    body, wantStatus: 400, wantMsg: "unsupported content encoding snappy: only gzip, lz4 and zstd are supported",
	}, {
		name:    "unsupported content type",
		headers: []string{"Content-Type: text/plain"},
		body:    body, wantStatus: 400, wantMsg: "content type: text/plain is not supported",
	}, {
		name: "no content type",
		body: body, wantStatus: 400, wantMsg: "content type:  is not supported",
	}, {
		name:    "JSON body sent as protobuf",
		headers: []string{"Content-Type: application/x-protobuf"},
		body:    []byte(otlpJSONBody), wantStatus: 400,
	}, {
		name:    "not gzip",
		headers: []string{"Content-Type: application/x-protobuf", "Content-Encoding: gzip"},
		body:    body, wantStatus: 400, wantMsg: "gzip: invalid header",
	}, {
		name:    "over the received size",
		mutate:  func(c *Config) { c.MaxRecvMsgSize = len(gz) - 1 },
		headers: []string{"Content-Type: application/x-protobuf", "Content-Encoding: gzip"},
		body:    gz, wantStatus: 413, wantMsg: fmt.Sprintf("message size too large than max (%d vs %d)", len(gz), len(gz)-1),
	}, {
		name:    "over the decompressed size",
		mutate:  func(c *Config) { c.MaxDecompressedSize = int64(len(body) - 1) },
		headers: []string{"Content-Type: application/x-protobuf", "Content-Encoding: gzip"},
		body:    gz, wantStatus: 413, wantMsg: fmt.Sprintf("decompressed message size too large than max (%d vs %d)", len(body), len(body)-1),
	}, {
		name:    "no records",
		headers: []string{"Content-Type: application/json"},
		body:    []byte(`{"resourceLogs":[]}`), wantStatus: 422, wantMsg: "error at least one valid stream is required for ingestion",
	}, {
		name:    "validation failure",
		headers: []string{"Content-Type: application/x-protobuf"},
		body:    body, pushErr: fmt.Errorf("%w: stream '{service_name=\"api\"}' has label value too long", validation.ErrInvalid),
		wantStatus: 400, wantMsg: "invalid push: stream '{service_name=\"api\"}' has label value too long",
	}, {
		name:    "rate limited",
		headers: []string{"Content-Type: application/x-protobuf"},
		body:    body, pushErr: fmt.Errorf("ingestion rate limit exceeded: %w", validation.ErrRateLimited),
		wantStatus: 429, wantMsg: "ingestion rate limit exceeded: rate limited",
	}, {
		name:    "internal error becomes 503, which clients retry",
		headers: []string{"Content-Type: application/x-protobuf"},
		body:    body, pushErr: errors.New("quorum not reached: 1 of 2 ingesters failed"),
		wantStatus: 503, wantMsg: "quorum not reached: 1 of 2 ingesters failed",
	}, {
		name:    "invalid UTF-8 in the message",
		headers: []string{"Content-Type: application/x-protobuf"},
		body:    body, pushErr: errors.New("bad \xff"),
		wantStatus: 503, wantMsg: "bad \uFFFD",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.mutate)
			f.pusher.err = tc.pushErr
			w := f.request(http.MethodPost, "/otlp/v1/logs", bytes.NewReader(tc.body), tc.headers...)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d (%q)", w.Code, tc.wantStatus, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/octet-stream" {
				t.Errorf("Content-Type %q", ct)
			}
			var st status.Status
			if err := proto.Unmarshal(w.Body.Bytes(), &st); err != nil {
				t.Fatalf("body is no google.rpc.Status: %v (%q)", err, w.Body)
			}
			if st.Code != 0 || st.Message == "" || tc.wantMsg != "" && st.Message != tc.wantMsg {
				t.Errorf("status {code %d, message %q}, want message %q", st.Code, st.Message, tc.wantMsg)
			}
			if tc.pushErr == nil && tc.wantStatus != 422 && len(f.pusher.reqs) != 0 {
				t.Errorf("a refused body was pushed")
			}
		})
	}
}

// The tenant is resolved before the handler, by the middleware that answers
// every route in plain text, as Loki's does.
func TestOTLPTenant(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AuthEnabled = true })
	w := f.request(http.MethodPost, "/otlp/v1/logs", bytes.NewReader(otlpProtoBody()), "Content-Type: application/x-protobuf")
	if w.Code != http.StatusUnauthorized || w.Body.String() != "no org id\n" {
		t.Errorf("no tenant: %d %q", w.Code, w.Body)
	}
	w = f.request(http.MethodPost, "/otlp/v1/logs", bytes.NewReader(otlpProtoBody()), "Content-Type: application/x-protobuf", "X-Scope-OrgID: a|b")
	if w.Code != http.StatusBadRequest {
		t.Errorf("two tenants: %d %q", w.Code, w.Body)
	}
	w = f.request(http.MethodGet, "/otlp/v1/logs", nil)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	if len(f.pusher.reqs) != 0 {
		t.Errorf("pushed %d requests", len(f.pusher.reqs))
	}
}
