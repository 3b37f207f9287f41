package otlp

import (
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

// batch builds an export of n records spread over a few services, shaped
// like what the Collector's k8s and resource detection processors send:
// a dozen resource attributes, a named scope, a handful of record
// attributes, trace context and severity on every record.
func batch(n int) plog.Logs {
	ld := plog.NewLogs()
	const services = 4
	var records [services]plog.LogRecordSlice
	for s := range services {
		rl := ld.ResourceLogs().AppendEmpty()
		ra := rl.Resource().Attributes()
		ra.PutStr("service.name", fmt.Sprintf("svc-%d", s))
		ra.PutStr("service.namespace", "shop")
		ra.PutStr("service.version", "1.4.2")
		ra.PutStr("deployment.environment", "production")
		ra.PutStr("k8s.cluster.name", "eu-1")
		ra.PutStr("k8s.namespace.name", "shop")
		ra.PutStr("k8s.pod.name", fmt.Sprintf("svc-%d-7d9f8c-x2x4z", s))
		ra.PutStr("k8s.pod.uid", "0b8e9d1c-3c2e-4f4b-9a57-6f0c2f1d6e1a")
		ra.PutStr("k8s.node.name", "node-12")
		ra.PutStr("host.name", "node-12")
		ra.PutStr("os.type", "linux")
		ra.PutStr("telemetry.sdk.language", "go")
		ra.PutStr("telemetry.sdk.version", "1.38.0")
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("go.opentelemetry.io/contrib/bridges/otelslog")
		sl.Scope().SetVersion("0.13.0")
		records[s] = sl.LogRecords()
	}
	for i := range n {
		lr := records[i%services].AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i)*1_000_000))
		lr.SetObservedTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i)*1_000_000 + 500))
		lr.SetSeverityNumber(plog.SeverityNumber(9 + 4*(i%4)))
		lr.SetSeverityText([]string{"INFO", "WARN", "ERROR", "FATAL"}[i%4])
		lr.Body().SetStr(fmt.Sprintf("GET /api/v1/orders/%d 200 %dms user=%d", i, i%250, i%97))
		la := lr.Attributes()
		la.PutStr("http.request.method", "GET")
		la.PutStr("url.path", fmt.Sprintf("/api/v1/orders/%d", i))
		la.PutInt("http.response.status_code", 200)
		la.PutDouble("duration_ms", float64(i%250)+0.5)
		la.PutStr("code.function", "handleOrders")
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		for j := range tid {
			tid[j] = byte(i + j + 1)
		}
		for j := range sid {
			sid[j] = byte(i*3 + j + 1)
		}
		lr.SetTraceID(tid)
		lr.SetSpanID(sid)
		lr.SetFlags(1)
	}
	return ld
}

// checkRequest asserts what every decoded request satisfies: canonical,
// parseable stream labels, entries in every stream, and structured-metadata
// names that are label names (or the underscores-only names Skald keeps).
func checkRequest(t *testing.T, req *logproto.PushRequest) {
	t.Helper()
	for _, s := range req.Streams {
		if len(s.Entries) == 0 {
			t.Fatalf("stream %s has no entries", s.Labels)
		}
		lbls, err := logproto.ParseLabels(s.Labels)
		if err != nil {
			t.Fatalf("stream labels %q: %v", s.Labels, err)
		}
		if back := logproto.LabelsString(lbls); back != s.Labels {
			t.Fatalf("stream labels %q not canonical (%q)", s.Labels, back)
		}
		if lbls.Get(labelServiceName) == "" {
			t.Fatalf("stream %s has no service_name", s.Labels)
		}
		for _, e := range s.Entries {
			for _, p := range e.StructuredMetadata {
				if p.Name == "" || p.Name[0] >= '0' && p.Name[0] <= '9' {
					t.Fatalf("metadata name %q", p.Name)
				}
				for i := 0; i < len(p.Name); i++ {
					if c := p.Name[i]; !isAlnum(c) && c != '_' {
						t.Fatalf("metadata name %q", p.Name)
					}
				}
			}
		}
	}
}

func fuzzSeeds(f *testing.F, format Format) {
	small := plog.NewLogs()
	rec(res(small, "service.name", "s", "k8s.pod.name", "p"), 1, "line")
	f.Add(marshal(f, small, format))
	f.Add(marshal(f, batch(3), format))
	nested := plog.NewLogs()
	lr := rec(res(nested, "k8s.container.name", "c"), 0, "x")
	m := lr.Attributes().PutEmptyMap("a")
	m.PutEmptyMap("b.c").PutEmptySlice("d").AppendEmpty().SetEmptyMap().PutBool("e", true)
	lr.Body().SetEmptyMap().PutEmptyBytes("raw").FromRaw([]byte{0, 1, 2})
	f.Add(marshal(f, nested, format))
}

func fuzzDecode(t *testing.T, data []byte, format Format) {
	d := NewDecoder(DefaultConfig())
	var req logproto.PushRequest
	opts := Options{DiscoverServiceName: validation.DefaultServiceNameLabels, Now: testNow}
	if err := d.Decode(data, format, opts, &req); err != nil {
		return
	}
	checkRequest(t, &req)
}

func FuzzDecodeProtobuf(f *testing.F) {
	fuzzSeeds(f, Protobuf)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, data, Protobuf) })
}

func FuzzDecodeJSON(f *testing.F) {
	fuzzSeeds(f, JSON)
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"kvlistValue":{"values":[{"key":"","value":{}}]}}}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, data, JSON) })
}
