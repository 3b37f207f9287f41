package otlp

import (
	"encoding/hex"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/validation"
)

const testNow = int64(1_800_000_000_000_000_000)

type kv = logproto.LabelAdapter

// res adds a ResourceLogs with the given string attributes and returns its
// first scope's records.
func res(ld plog.Logs, attrs ...string) plog.LogRecordSlice {
	rl := ld.ResourceLogs().AppendEmpty()
	for i := 0; i+1 < len(attrs); i += 2 {
		rl.Resource().Attributes().PutStr(attrs[i], attrs[i+1])
	}
	return rl.ScopeLogs().AppendEmpty().LogRecords()
}

// rec appends a record with a time and a string body.
func rec(s plog.LogRecordSlice, ts int64, body string) plog.LogRecord {
	lr := s.AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(ts))
	lr.Body().SetStr(body)
	return lr
}

// marshal encodes ld in format f.
func marshal(t testing.TB, ld plog.Logs, f Format) []byte {
	t.Helper()
	er := plogotlp.NewExportRequestFromLogs(ld)
	var b []byte
	var err error
	if f == JSON {
		b, err = er.MarshalJSON()
	} else {
		b, err = er.MarshalProto()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeBoth decodes ld sent as protobuf and as JSON, checks that both give
// the same request and returns it.
func decodeBoth(t *testing.T, d *Decoder, ld plog.Logs, opts Options) *logproto.PushRequest {
	t.Helper()
	var fromProto, fromJSON logproto.PushRequest
	if err := d.Decode(marshal(t, ld, Protobuf), Protobuf, opts, &fromProto); err != nil {
		t.Fatalf("protobuf: %v", err)
	}
	if err := d.Decode(marshal(t, ld, JSON), JSON, opts, &fromJSON); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	if !reflect.DeepEqual(fromProto, fromJSON) {
		t.Fatalf("protobuf and JSON differ:\nprotobuf %+v\nJSON     %+v", fromProto, fromJSON)
	}
	return &fromProto
}

func TestDecodeMapping(t *testing.T) {
	discover := Options{DiscoverServiceName: validation.DefaultServiceNameLabels, Now: testNow}
	traceID := pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	spanID := pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}

	for _, tc := range []struct {
		name  string
		cfg   *Config // nil: DefaultConfig
		opts  Options
		build func(ld plog.Logs)
		want  []logproto.Stream
	}{{
		name: "every field",
		opts: discover,
		build: func(ld plog.Logs) {
			rl := ld.ResourceLogs().AppendEmpty()
			ra := rl.Resource().Attributes()
			ra.PutStr("service.name", "checkout")
			ra.PutStr("host.name", "node-1")
			ra.PutStr("k8s.pod.name", "checkout-7d9f")
			ra.PutInt("process.pid", 4242)
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("io.opentelemetry.auth")
			sl.Scope().SetVersion("1.2.0")
			sl.Scope().SetDroppedAttributesCount(3)
			sl.Scope().Attributes().PutStr("library.language", "go")
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(1_700_000_000_000_000_001)
			lr.SetObservedTimestamp(1_700_000_000_500_000_000)
			lr.SetSeverityNumber(plog.SeverityNumberWarn2)
			lr.SetSeverityText("Warning")
			lr.SetDroppedAttributesCount(2)
			lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
			lr.SetTraceID(traceID)
			lr.SetSpanID(spanID)
			lr.SetEventName("user.login")
			lr.Body().SetStr("login failed for user 42")
			la := lr.Attributes()
			la.PutStr("http.method", "POST")
			la.PutInt("http.status_code", 401)
			la.PutBool("retry", true)
			la.PutDouble("duration", 0.25)
			nested := la.PutEmptyMap("user")
			nested.PutStr("id", "42")
			nested.PutEmptyMap("geo").PutStr("country.code", "NO")
			la.PutEmptySlice("tags").FromRaw([]any{"a", int64(1)})
			la.PutEmptyBytes("blob").FromRaw([]byte{0xde, 0xad})
			la.PutStr("event_name", "shadowed by the record's field")
		},
		want: []logproto.Stream{{
			Labels: `{k8s_pod_name="checkout-7d9f", service_name="checkout"}`,
			Entries: []logproto.Entry{{
				Timestamp: 1_700_000_000_000_000_001,
				Line:      "login failed for user 42",
				StructuredMetadata: []kv{
					{Name: "http_method", Value: "POST"},
					{Name: "http_status_code", Value: "401"},
					{Name: "retry", Value: "true"},
					{Name: "duration", Value: "0.25"},
					{Name: "user_id", Value: "42"},
					{Name: "user_geo_country_code", Value: "NO"},
					{Name: "tags", Value: `["a",1]`},
					{Name: "blob", Value: "3q0="},
					{Name: "observed_timestamp", Value: "1700000000500000000"},
					{Name: "severity_number", Value: "14"},
					{Name: "severity_text", Value: "Warning"},
					{Name: "dropped_attributes_count", Value: "2"},
					{Name: "flags", Value: "1"},
					{Name: "trace_id", Value: "5b8efff798038103d269b633813fc60c"},
					{Name: "span_id", Value: "eee19b7ec3c1b174"},
					{Name: "event_name", Value: "user.login"},
					{Name: "host_name", Value: "node-1"},
					{Name: "process_pid", Value: "4242"},
					{Name: "library_language", Value: "go"},
					{Name: "scope_name", Value: "io.opentelemetry.auth"},
					{Name: "scope_version", Value: "1.2.0"},
					{Name: "scope_dropped_attributes_count", Value: "3"},
				},
			}},
		}},
	}, {
		name: "service_name from the first discoverable index label, in attribute order",
		opts: discover,
		build: func(ld plog.Logs) {
			rec(res(ld, "k8s.namespace.name", "shop", "k8s.job.name", "migrate", "k8s.container.name", "db"), 5, "a")
		},
		want: []logproto.Stream{{
			Labels:  `{k8s_container_name="db", k8s_job_name="migrate", k8s_namespace_name="shop", service_name="migrate"}`,
			Entries: []logproto.Entry{{Timestamp: 5, Line: "a"}},
		}},
	}, {
		name: "an empty service.name counts as none",
		opts: discover,
		build: func(ld plog.Logs) {
			rec(res(ld, "service.name", "", "host.name", "h"), 5, "a")
		},
		want: []logproto.Stream{{
			Labels:  `{service_name="unknown_service"}`,
			Entries: []logproto.Entry{{Timestamp: 5, Line: "a", StructuredMetadata: []kv{{Name: "host_name", Value: "h"}}}},
		}},
	}, {
		name: "no discovery: no service_name added",
		opts: Options{Now: testNow},
		build: func(ld plog.Logs) {
			rec(res(ld, "k8s.container.name", "db"), 5, "a")
			rec(res(ld), 6, "b")
		},
		want: []logproto.Stream{
			{Labels: `{k8s_container_name="db"}`, Entries: []logproto.Entry{{Timestamp: 5, Line: "a"}}},
			{Labels: `{}`, Entries: []logproto.Entry{{Timestamp: 6, Line: "b"}}},
		},
	}, {
		name: "timestamp from the observed time, then from now",
		opts: discover,
		build: func(ld plog.Logs) {
			s := res(ld, "service.name", "s")
			lr := s.AppendEmpty()
			lr.SetObservedTimestamp(77)
			lr.Body().SetStr("observed only")
			s.AppendEmpty().Body().SetStr("no time at all")
		},
		want: []logproto.Stream{{
			Labels: `{service_name="s"}`,
			Entries: []logproto.Entry{
				{Timestamp: 77, Line: "observed only"},
				{Timestamp: testNow, Line: "no time at all"},
			},
		}},
	}, {
		name: "bodies of every type",
		opts: discover,
		build: func(ld plog.Logs) {
			s := res(ld, "service.name", "s")
			s.AppendEmpty().Body().SetInt(42)
			s.AppendEmpty().Body().SetBool(false)
			s.AppendEmpty().Body().SetDouble(1.5)
			m := s.AppendEmpty().Body().SetEmptyMap()
			m.PutStr("msg", "<hi> & bye")
			m.PutInt("n", 1)
			s.AppendEmpty().Body().SetEmptySlice().FromRaw([]any{"x", true})
			s.AppendEmpty().Body().SetEmptyBytes().FromRaw([]byte("hi"))
			s.AppendEmpty() // empty body
		},
		want: []logproto.Stream{{
			Labels: `{service_name="s"}`,
			Entries: []logproto.Entry{
				{Timestamp: testNow, Line: "42"},
				{Timestamp: testNow, Line: "false"},
				{Timestamp: testNow, Line: "1.5"},
				{Timestamp: testNow, Line: `{"msg":"<hi> & bye","n":1}`},
				{Timestamp: testNow, Line: `["x",true]`},
				{Timestamp: testNow, Line: "aGk="},
				{Timestamp: testNow, Line: ""},
			},
		}},
	}, {
		name: "resources with the same labels share a stream; empty resources give none",
		opts: discover,
		build: func(ld plog.Logs) {
			rec(res(ld, "service.name", "a", "host.name", "h1"), 1, "a1")
			res(ld, "service.name", "empty")
			rec(res(ld, "service.name", "b"), 2, "b1")
			rec(res(ld, "service.name", "a", "host.name", "h2"), 3, "a2")
		},
		want: []logproto.Stream{
			{Labels: `{service_name="a"}`, Entries: []logproto.Entry{
				{Timestamp: 1, Line: "a1", StructuredMetadata: []kv{{Name: "host_name", Value: "h1"}}},
				{Timestamp: 3, Line: "a2", StructuredMetadata: []kv{{Name: "host_name", Value: "h2"}}},
			}},
			{Labels: `{service_name="b"}`, Entries: []logproto.Entry{{Timestamp: 2, Line: "b1"}}},
		},
	}, {
		name: "index labels: sanitised, map values flattened, the last of one name wins, empty values dropped",
		cfg:  &Config{IndexLabelAttributes: []string{"team.name", "team_name", "cloud", "zone", "9lives"}},
		opts: Options{Now: testNow},
		build: func(ld plog.Logs) {
			rl := ld.ResourceLogs().AppendEmpty()
			ra := rl.Resource().Attributes()
			ra.PutStr("team.name", "first")
			ra.PutStr("team_name", "second")
			ra.PutEmptyMap("cloud").PutStr("region", "eu-north-1")
			ra.PutStr("zone", "")
			ra.PutInt("9lives", 9)
			rec(rl.ScopeLogs().AppendEmpty().LogRecords(), 1, "x")
		},
		want: []logproto.Stream{{
			Labels:  `{cloud_region="eu-north-1", key_9lives="9", team_name="second"}`,
			Entries: []logproto.Entry{{Timestamp: 1, Line: "x"}},
		}},
	}, {
		name: "severity text alone, unknown severity numbers kept as numbers",
		opts: discover,
		build: func(ld plog.Logs) {
			s := res(ld, "service.name", "s")
			rec(s, 1, "a").SetSeverityText("INFO")
			rec(s, 2, "b").SetSeverityNumber(plog.SeverityNumber(30))
		},
		want: []logproto.Stream{{
			Labels: `{service_name="s"}`,
			Entries: []logproto.Entry{
				{Timestamp: 1, Line: "a", StructuredMetadata: []kv{{Name: "severity_text", Value: "INFO"}}},
				{Timestamp: 2, Line: "b", StructuredMetadata: []kv{{Name: "severity_number", Value: "30"}}},
			},
		}},
	}, {
		name: "scope without a name: only its attributes",
		opts: discover,
		build: func(ld plog.Logs) {
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("service.name", "s")
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().Attributes().PutStr("otel.scope.kind", "x")
			rec(sl.LogRecords(), 1, "a")
			sl2 := rl.ScopeLogs().AppendEmpty()
			sl2.Scope().SetName("second")
			rec(sl2.LogRecords(), 2, "b")
		},
		want: []logproto.Stream{{
			Labels: `{service_name="s"}`,
			Entries: []logproto.Entry{
				{Timestamp: 1, Line: "a", StructuredMetadata: []kv{{Name: "otel_scope_kind", Value: "x"}}},
				{Timestamp: 2, Line: "b", StructuredMetadata: []kv{{Name: "scope_name", Value: "second"}}},
			},
		}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				cfg = *tc.cfg
			}
			ld := plog.NewLogs()
			tc.build(ld)
			got := decodeBoth(t, NewDecoder(cfg), ld, tc.opts)
			if !reflect.DeepEqual(got.Streams, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", dump(got.Streams), dump(tc.want))
			}
		})
	}
}

func dump(streams []logproto.Stream) string {
	var b strings.Builder
	for _, s := range streams {
		b.WriteString(s.Labels + "\n")
		for _, e := range s.Entries {
			b.WriteString("  " + e.Line + "\n")
			for _, p := range e.StructuredMetadata {
				b.WriteString("    " + p.Name + "=" + p.Value + "\n")
			}
		}
	}
	return b.String()
}

func TestDecodeAppendsToRequest(t *testing.T) {
	ld := plog.NewLogs()
	rec(res(ld, "service.name", "s"), 1, "new")
	req := logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{job="old"}`}}}
	if err := NewDecoder(DefaultConfig()).Decode(marshal(t, ld, Protobuf), Protobuf, Options{}, &req); err != nil {
		t.Fatal(err)
	}
	if len(req.Streams) != 2 || req.Streams[0].Labels != `{job="old"}` || req.Streams[1].Entries[0].Line != "new" {
		t.Fatalf("got %+v", req.Streams)
	}
}

func TestDecodeEmpty(t *testing.T) {
	d := NewDecoder(DefaultConfig())
	for _, tc := range []struct {
		name string
		f    Format
		body string
	}{
		{"empty protobuf", Protobuf, ""},
		{"empty JSON object", JSON, "{}"},
		{"resources without records", JSON, `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeLogs":[{"logRecords":[]}]}]}`},
	} {
		var req logproto.PushRequest
		if err := d.Decode([]byte(tc.body), tc.f, Options{DiscoverServiceName: []string{"app"}}, &req); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if len(req.Streams) != 0 {
			t.Errorf("%s: %d streams, want none", tc.name, len(req.Streams))
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	d := NewDecoder(DefaultConfig())
	for _, tc := range []struct {
		name string
		f    Format
		body string
		want error
	}{
		{"truncated protobuf", Protobuf, "\x0a\x05\x0a", ErrMalformed},
		{"wrong wire type", Protobuf, "\x0d\x00\x00\x00\x00", ErrMalformed},
		{"not JSON", JSON, "streams", ErrMalformed},
		{"JSON of the wrong shape", JSON, `{"resourceLogs":{}}`, ErrMalformed},
		{"no format", 0, "", ErrUnsupportedContentType},
		{"JSON nested too deep", JSON, `{"resourceLogs":` + strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth) + "}", ErrMalformed},
	} {
		var req logproto.PushRequest
		err := d.Decode([]byte(tc.body), tc.f, Options{}, &req)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestCheckJSONDepth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		fail bool
	}{
		{`{"a":[{"b":1}]}`, 3, false},
		{`{"a":[{"b":1}]}`, 2, true},
		{`{"a":"[[[[[{{{{"}`, 1, false},
		{`{"a":"\"[[["}`, 1, false},
		{`[[],[],[],[]]`, 2, false},
		{`]]]]{{`, 2, false}, // malformed, left to the decoder
		{`]]]]{{{`, 2, true}, // stray closers do not hide depth
	} {
		err := checkJSONDepth([]byte(tc.in), tc.max)
		if (err != nil) != tc.fail || err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s max %d: %v", tc.in, tc.max, err)
		}
	}
}

// JSON carries the ids as hex and may name fields in snake case; both
// spellings of OTLP/JSON decode to the same entry.
func TestDecodeJSONSpellings(t *testing.T) {
	const camel = `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
	  "scopeLogs":[{"scope":{"name":"s"},"logRecords":[{"timeUnixNano":"1700000000000000000","severityNumber":17,
	  "severityText":"ERROR","body":{"stringValue":"boom"},"traceId":"5b8efff798038103d269b633813fc60c",
	  "spanId":"eee19b7ec3c1b174","attributes":[{"key":"n","value":{"intValue":"7"}}]}]}]}]}`
	const snake = `{"resource_logs":[{"resource":{"attributes":[{"key":"service.name","value":{"string_value":"api"}}]},
	  "scope_logs":[{"scope":{"name":"s"},"log_records":[{"time_unix_nano":1700000000000000000,"severity_number":"SEVERITY_NUMBER_ERROR",
	  "severity_text":"ERROR","body":{"string_value":"boom"},"trace_id":"5b8efff798038103d269b633813fc60c",
	  "span_id":"eee19b7ec3c1b174","attributes":[{"key":"n","value":{"int_value":7}}]}]}]}]}`
	want := []logproto.Stream{{Labels: `{service_name="api"}`, Entries: []logproto.Entry{{
		Timestamp: 1_700_000_000_000_000_000,
		Line:      "boom",
		StructuredMetadata: []kv{
			{Name: "n", Value: "7"},
			{Name: "severity_number", Value: "17"},
			{Name: "severity_text", Value: "ERROR"},
			{Name: "trace_id", Value: "5b8efff798038103d269b633813fc60c"},
			{Name: "span_id", Value: "eee19b7ec3c1b174"},
			{Name: "scope_name", Value: "s"},
		},
	}}}}
	d := NewDecoder(DefaultConfig())
	for name, body := range map[string]string{"camelCase": camel, "snake_case": snake} {
		var req logproto.PushRequest
		if err := d.Decode([]byte(body), JSON, Options{}, &req); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(req.Streams, want) {
			t.Errorf("%s: got\n%s\nwant\n%s", name, dump(req.Streams), dump(want))
		}
	}
}

// The distributor appends detected_level to an entry's metadata; that must
// not write into the next entry's pairs, which share a backing array.
func TestMetadataSlicesAreCapped(t *testing.T) {
	ld := plog.NewLogs()
	s := res(ld, "service.name", "s", "host.name", "h")
	for i := range 300 {
		rec(s, int64(i+1), "x").Attributes().PutInt("i", int64(i))
	}
	var req logproto.PushRequest
	if err := NewDecoder(DefaultConfig()).Decode(marshal(t, ld, Protobuf), Protobuf, Options{}, &req); err != nil {
		t.Fatal(err)
	}
	entries := req.Streams[0].Entries
	for i := range entries {
		sm := entries[i].StructuredMetadata
		if len(sm) != cap(sm) {
			t.Fatalf("entry %d: len %d cap %d", i, len(sm), cap(sm))
		}
		entries[i].StructuredMetadata = append(sm, kv{Name: "detected_level", Value: "info"})
	}
	for i, e := range entries {
		want := []kv{{Name: "i", Value: strconv.Itoa(i)}, {Name: "host_name", Value: "h"}, {Name: "detected_level", Value: "info"}}
		if !reflect.DeepEqual(e.StructuredMetadata, want) {
			t.Fatalf("entry %d: %v", i, e.StructuredMetadata)
		}
	}
}

// Strings from the arena stay intact while later ones fill its chunks.
func TestTextArena(t *testing.T) {
	var a textArena
	type made struct{ got, want string }
	var all []made
	for i := range 3000 {
		v := int64(i*7919 - 1_000_000)
		id := []byte{byte(i), byte(i >> 8), 0xff, 0}
		all = append(all,
			made{a.int(v), strconv.FormatInt(v, 10)},
			made{a.hex(id), hex.EncodeToString(id)},
			made{a.hex(nil), ""})
	}
	for i, m := range all {
		if m.got != m.want {
			t.Fatalf("string %d: %q, want %q", i, m.got, m.want)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"service.name", "service_name"},
		{"service_name", "service_name"},
		{"http.request.header.x-forwarded-for", "http_request_header_x_forwarded_for"},
		{"a..b", "a_b"},
		{"a__b", "a_b"},
		{"a._b", "a_b"},
		{"_private", "_private"},
		{"__private", "_private"},
		{"__meta__", "__meta__"},
		{"__me.ta__", "__me_ta__"},
		{"1st", "key_1st"},
		{"9", "key_9"},
		{"ünïcode", "_n_code"},
		{"日本", "_"},
		{"trailing.", "trailing_"},
		{"_", "_"},
		{"", ""},
	} {
		if got := normalizeName(tc.in); got != tc.want {
			t.Errorf("normalizeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"service.name", "a__b", "__x__", "1a", "ü", "_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := normalizeName(in)
		if in == "" {
			if got != "" {
				t.Fatalf("%q → %q", in, got)
			}
			return
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; !(isAlnum(c) || c == '_') {
				t.Fatalf("%q → %q: byte %q", in, got, c)
			}
		}
		if c := got[0]; c >= '0' && c <= '9' {
			t.Fatalf("%q → %q starts with a digit", in, got)
		}
		if again := normalizeName(got); again != got && !strings.HasPrefix(got, "__") {
			t.Fatalf("not idempotent: %q → %q → %q", in, got, again)
		}
	})
}
