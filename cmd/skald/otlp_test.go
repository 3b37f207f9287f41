package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
)

// otlpEntry is one entry of a categorized query answer.
type otlpEntry struct {
	ts       int64
	line     string
	metadata map[string]string
}

// queryCategorized runs a log query asking, as Grafana does, for
// structured metadata apart from the stream labels, and returns the
// streams' labels and entries, oldest first.
func queryCategorized(t *testing.T, p *proc, query string, from, to int64) (streams []map[string]string, entries []otlpEntry) {
	t.Helper()
	params := url.Values{
		"query": {query}, "start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(to, 10)},
		"limit": {"100"}, "direction": {"forward"},
	}
	req, err := http.NewRequest(http.MethodGet, p.addr+"/loki/api/v1/query_range?"+params.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Loki-Response-Encoding-Flags", "categorize-labels")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query %s: %d %s", query, resp.StatusCode, body)
	}
	var r struct {
		Data struct {
			Result []struct {
				Stream map[string]string   `json:"stream"`
				Values [][]json.RawMessage `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	for _, s := range r.Data.Result {
		streams = append(streams, s.Stream)
		for _, v := range s.Values {
			var e otlpEntry
			var ts string
			var cat struct {
				StructuredMetadata map[string]string `json:"structuredMetadata"`
			}
			if len(v) != 3 || json.Unmarshal(v[0], &ts) != nil || json.Unmarshal(v[1], &e.line) != nil || json.Unmarshal(v[2], &cat) != nil {
				t.Fatalf("categorized value %s", v)
			}
			e.ts, _ = strconv.ParseInt(ts, 10, 64)
			e.metadata = cat.StructuredMetadata
			entries = append(entries, e)
		}
	}
	slices.SortFunc(entries, func(a, b otlpEntry) int { return int(a.ts - b.ts) })
	return streams, entries
}

// TestEndToEndOTLP pushes what the OpenTelemetry Collector's otlphttp
// exporter sends (a protobuf ExportLogsServiceRequest, gzip-compressed, to
// /otlp/v1/logs) and a JSON export, then reads them back through the query
// API: stream labels from the resource attributes, everything else as
// structured metadata, detected_level from the severity number.
func TestEndToEndOTLP(t *testing.T) {
	p := start(t, t.TempDir())
	base := time.Now().Add(-5 * time.Minute).UnixNano()
	traceID := pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "checkout")
	ra.PutStr("k8s.namespace.name", "shop")
	ra.PutStr("host.name", "node-1")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("checkout.http")
	for i, r := range []struct {
		severity plog.SeverityNumber
		text     string
		body     string
	}{
		{plog.SeverityNumberInfo, "INFO", "order 17 placed"},
		{plog.SeverityNumberWarn, "WARN", "payment retry 1 of 3"},
		{plog.SeverityNumberError, "", "payment failed"}, // no text: the number decides
	} {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(base + int64(i)*int64(time.Millisecond)))
		lr.SetSeverityNumber(r.severity)
		lr.SetSeverityText(r.text)
		lr.SetTraceID(traceID)
		lr.Body().SetStr(r.body)
		lr.Attributes().PutInt("order.id", 17)
	}
	raw, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	if code, body := p.do(http.MethodPost, "/otlp/v1/logs", "application/x-protobuf", "gzip", gz.Bytes()); code != http.StatusNoContent {
		t.Fatalf("protobuf export: %d %q", code, body)
	}

	// A JSON export from a resource without service.name: service_name is
	// discovered from k8s.container.name.
	jsonExport := `{"resourceLogs":[{"resource":{"attributes":[{"key":"k8s.container.name","value":{"stringValue":"db"}}]},
	  "scopeLogs":[{"logRecords":[{"timeUnixNano":"` + strconv.FormatInt(base+10, 10) + `","body":{"stringValue":"level=debug msg=\"vacuum done\""}}]}]}]}`
	if code, body := p.do(http.MethodPost, "/otlp/v1/logs", "application/json", "", []byte(jsonExport)); code != http.StatusNoContent {
		t.Fatalf("JSON export: %d %q", code, body)
	}

	from, to := base-int64(time.Minute), time.Now().Add(time.Minute).UnixNano()
	streams, entries := queryCategorized(t, p, `{service_name="checkout"}`, from, to)
	if want := []map[string]string{{"service_name": "checkout", "k8s_namespace_name": "shop"}}; !reflect.DeepEqual(streams, want) {
		t.Errorf("streams %v, want %v", streams, want)
	}
	common := map[string]string{
		"trace_id": "5b8efff798038103d269b633813fc60c", "order_id": "17", "host_name": "node-1", "scope_name": "checkout.http",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	want := []otlpEntry{
		{base, "order 17 placed", with("severity_number", "9", "severity_text", "INFO", "detected_level", "info")},
		{base + int64(time.Millisecond), "payment retry 1 of 3", with("severity_number", "13", "severity_text", "WARN", "detected_level", "warn")},
		{base + 2*int64(time.Millisecond), "payment failed", with("severity_number", "17", "detected_level", "error")},
	}
	if !reflect.DeepEqual(entries, want) {
		t.Errorf("entries\n%+v\nwant\n%+v", entries, want)
	}

	// The metadata filters like any structured metadata.
	if _, got := queryCategorized(t, p, `{service_name="checkout"} | detected_level="warn"`, from, to); len(got) != 1 || got[0].line != "payment retry 1 of 3" {
		t.Errorf("detected_level=warn: %+v", got)
	}
	if _, got := queryCategorized(t, p, `{k8s_namespace_name="shop"} | trace_id="5b8efff798038103d269b633813fc60c" | severity_number >= 13`, from, to); len(got) != 2 {
		t.Errorf("trace_id and severity_number filter: %+v", got)
	}

	streams, entries = queryCategorized(t, p, `{service_name="db"}`, from, to)
	if want := []map[string]string{{"service_name": "db", "k8s_container_name": "db"}}; !reflect.DeepEqual(streams, want) {
		t.Errorf("JSON export streams %v, want %v", streams, want)
	}
	if want := []otlpEntry{{base + 10, `level=debug msg="vacuum done"`, map[string]string{"detected_level": "debug"}}}; !reflect.DeepEqual(entries, want) {
		t.Errorf("JSON export entries %+v, want %+v", entries, want)
	}

	// Errors are a google.rpc.Status, as OTLP clients expect.
	code, body := p.do(http.MethodPost, "/otlp/v1/logs", "text/plain", "", raw)
	var st status.Status
	if err := proto.Unmarshal(body, &st); code != http.StatusBadRequest || err != nil || st.Message != "content type: text/plain is not supported" {
		t.Errorf("bad content type: %d %q (%v)", code, body, err)
	}
}
