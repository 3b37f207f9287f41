package logproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/skald-logs/skald/pkg/logproto/pb"
)

// The protobuf fuzz test is differential: proto.Unmarshal into the
// generated types is the reference. Where the two are allowed to differ:
//   - the reference refuses strings that are not UTF-8, the decoder (like
//     Loki's gogoproto code) keeps them. The reference is then a variant of
//     push.proto with every string field declared as bytes;
//   - the decoder refuses timestamps Loki refuses (outside [0001, 10000) or
//     nanos outside [0, 1e9)), the reference has no such rule.

// bytesVariant is PushRequest with string fields declared as bytes.
var bytesVariant = sync.OnceValue(func() protoreflect.MessageDescriptor {
	fdp := protodesc.ToFileDescriptorProto(pb.File_logproto_push_proto)
	for _, m := range fdp.MessageType {
		for _, f := range m.Field {
			if f.GetType() == descriptorpb.FieldDescriptorProto_TYPE_STRING {
				f.Type = descriptorpb.FieldDescriptorProto_TYPE_BYTES.Enum()
			}
		}
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		panic(err)
	}
	return fd.Messages().ByName("PushRequest")
})

// fromReflect converts a decoded PushRequest message (generated or dynamic)
// to the request the decoder must produce; badTimestamp reports a
// timestamp the decoder must refuse.
func fromReflect(m protoreflect.Message) (req *PushRequest, badTimestamp bool) {
	field := func(m protoreflect.Message, n protoreflect.FieldNumber) (protoreflect.FieldDescriptor, protoreflect.Value) {
		fd := m.Descriptor().Fields().ByNumber(n)
		return fd, m.Get(fd)
	}
	str := func(m protoreflect.Message, n protoreflect.FieldNumber) string {
		fd, v := field(m, n)
		if fd.Kind() == protoreflect.BytesKind {
			return string(v.Bytes())
		}
		return v.String()
	}
	pairs := func(m protoreflect.Message, n protoreflect.FieldNumber) []LabelAdapter {
		_, v := field(m, n)
		var out []LabelAdapter
		for i := 0; i < v.List().Len(); i++ {
			p := v.List().Get(i).Message()
			out = append(out, LabelAdapter{Name: str(p, 1), Value: str(p, 2)})
		}
		return out
	}
	req = &PushRequest{}
	_, streams := field(m, 1)
	for i := 0; i < streams.List().Len(); i++ {
		sm := streams.List().Get(i).Message()
		_, hash := field(sm, 3)
		st := Stream{Labels: str(sm, 1), Hash: hash.Uint()}
		_, entries := field(sm, 2)
		for j := 0; j < entries.List().Len(); j++ {
			em := entries.List().Get(j).Message()
			e := Entry{Line: str(em, 2), StructuredMetadata: pairs(em, 3), Parsed: pairs(em, 4)}
			if fd, ts := field(em, 1); em.Has(fd) {
				_, sec := field(ts.Message(), 1)
				_, nsec := field(ts.Message(), 2)
				var ok bool
				if e.Timestamp, ok = referenceNanos(sec.Int(), nsec.Int()); !ok {
					badTimestamp = true
				}
			}
			st.Entries = append(st.Entries, e)
		}
		req.Streams = append(req.Streams, st)
	}
	return req, badTimestamp
}

// referenceNanos converts a timestamp as Loki validates it, clamped to the
// int64 nanosecond range, computed with package time.
func referenceNanos(sec, nsec int64) (int64, bool) {
	first := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	end := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	if sec < first || sec >= end || nsec < 0 || nsec >= 1e9 {
		return 0, false
	}
	return clampNanos(time.Unix(sec, nsec)), true
}

func clampNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// checkAgainstReference decodes data with UnmarshalPushRequest and with
// proto.Unmarshal and fails t when they disagree.
func checkAgainstReference(t *testing.T, data []byte) {
	t.Helper()
	var got PushRequest
	err := UnmarshalPushRequest(data, &got)
	if err != nil && !errors.Is(err, ErrMalformed) {
		t.Fatalf("error %v does not wrap ErrMalformed", err)
	}
	var ref pb.PushRequest
	var m protoreflect.Message
	if refErr := proto.Unmarshal(data, &ref); refErr == nil {
		m = ref.ProtoReflect()
	} else {
		dyn := dynamicpb.NewMessage(bytesVariant())
		if bytesErr := proto.Unmarshal(data, dyn); bytesErr != nil {
			if err == nil {
				t.Fatalf("proto.Unmarshal refuses %q (%v), the decoder accepts it", data, bytesErr)
			}
			return
		}
		m = dyn
	}
	want, badTimestamp := fromReflect(m)
	if badTimestamp {
		if err == nil || !strings.Contains(err.Error(), ".timestamp): ") {
			t.Fatalf("%q holds an invalid timestamp; got error %v", data, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("proto.Unmarshal accepts %q, the decoder says %v", data, err)
	}
	if d := diffRequests(&got, want); d != "" {
		t.Fatalf("%q: %s", data, d)
	}
	// The snappy path decodes the same.
	var got2 PushRequest
	if err := DecodeSnappyPushRequest(snappy.Encode(nil, data), &got2); err != nil {
		t.Fatalf("snappy: %v", err)
	}
	if d := diffRequests(&got2, want); d != "" {
		t.Fatalf("snappy: %q: %s", data, d)
	}
}

func FuzzUnmarshalPushRequest(f *testing.F) {
	for _, req := range []*PushRequest{
		{},
		{Streams: []Stream{{Labels: `{a="b"}`, Hash: 7, Entries: []Entry{
			{Timestamp: 1795448466000000000, Line: "GET /users 200 12ms"},
			{Timestamp: -5, Line: "x", StructuredMetadata: []LabelAdapter{{"trace_id", "abc"}}, Parsed: []LabelAdapter{{"p", "q"}}},
		}}}},
	} {
		f.Add(marshalPB(f, toPB(req)))
	}
	f.Add([]byte("\x0a\x08\x12\x06\x0a\x04\x08\x01\x10\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstReference(t, data)
	})
}

// escapeControls escapes raw control characters inside JSON strings, which
// encoding/json refuses and the decoder (like Loki's) accepts.
func escapeControls(b []byte) []byte {
	if !slices.ContainsFunc(b, func(c byte) bool { return c < 0x20 }) {
		return b
	}
	var out []byte
	in, esc := false, false
	for _, c := range b {
		switch {
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case in && c < 0x20:
			out = append(out, `\u00`...)
			out = append(out, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			continue
		}
		out = append(out, c)
	}
	return out
}

// jsonString decodes raw, which must be a JSON string.
func jsonString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", errors.New("not a string")
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// orderedPairs decodes an object of string values keeping order and
// duplicates.
func orderedPairs(raw json.RawMessage) ([]LabelAdapter, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("not an object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var out []LabelAdapter
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		s, err := jsonString(v)
		if err != nil {
			return nil, err
		}
		out = append(out, LabelAdapter{Name: k.(string), Value: s})
	}
	return out, nil
}

// referenceLabels formats a stream's label map independently of the
// decoder: sorted, values strconv-quoted, U+FFFD escaped.
func referenceLabels(m map[string]string) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + strings.ReplaceAll(strconv.Quote(m[n]), "\uFFFD", `\ufffd`)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// referenceJSON decodes a JSON push body with encoding/json, following the
// rules UnmarshalJSONPushRequest documents.
func referenceJSON(b []byte) (*PushRequest, error) {
	var top struct {
		Streams json.RawMessage `json:"streams"`
	}
	if err := json.Unmarshal(escapeControls(b), &top); err != nil {
		return nil, err
	}
	req := &PushRequest{}
	if top.Streams == nil || string(top.Streams) == "null" {
		return req, nil
	}
	var streams []json.RawMessage
	if err := json.Unmarshal(top.Streams, &streams); err != nil {
		return nil, err
	}
	for _, raw := range streams {
		if string(raw) == "null" {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return nil, errors.New("stream is not an object")
		}
		st := Stream{Labels: "{}"}
		if raw, ok := obj["stream"]; ok && string(raw) != "null" {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil || m == nil {
				return nil, errors.New("stream labels are not an object")
			}
			labels := map[string]string{}
			for k, v := range m {
				s, err := jsonString(v)
				if err != nil {
					return nil, err
				}
				labels[k] = s
			}
			st.Labels = referenceLabels(labels)
		}
		if raw, ok := obj["values"]; ok && string(raw) != "null" {
			var values []json.RawMessage
			if err := json.Unmarshal(raw, &values); err != nil {
				return nil, err
			}
			for _, v := range values {
				if string(v) == "null" {
					continue
				}
				var elems []json.RawMessage
				if err := json.Unmarshal(v, &elems); err != nil {
					return nil, err
				}
				if len(elems) != 2 && len(elems) != 3 {
					return nil, errors.New("entry length")
				}
				ts, err := jsonString(elems[0])
				if err != nil {
					return nil, err
				}
				var e Entry
				if e.Timestamp, err = strconv.ParseInt(ts, 10, 64); err != nil {
					return nil, err
				}
				if e.Line, err = jsonString(elems[1]); err != nil {
					return nil, err
				}
				if len(elems) == 3 {
					if e.StructuredMetadata, err = orderedPairs(elems[2]); err != nil {
						return nil, err
					}
				}
				st.Entries = append(st.Entries, e)
			}
		}
		req.Streams = append(req.Streams, st)
	}
	return req, nil
}

// checkJSON compares a decoder with its encoding/json reference.
func checkJSON(t *testing.T, data []byte, decode func([]byte, *PushRequest) error, reference func([]byte) (*PushRequest, error)) {
	t.Helper()
	var got PushRequest
	err := decode(data, &got)
	if err != nil && !errors.Is(err, ErrMalformed) {
		t.Fatalf("error %v does not wrap ErrMalformed", err)
	}
	want, refErr := reference(data)
	switch {
	case refErr != nil && err == nil:
		t.Fatalf("the reference refuses %q (%v), the decoder accepts it", data, refErr)
	case refErr == nil && err != nil:
		t.Fatalf("the reference accepts %q, the decoder says %v", data, err)
	case err != nil:
		return
	}
	// encoding/json replaces invalid UTF-8, the decoder keeps it.
	if utf8.Valid(data) {
		if d := diffRequests(&got, want); d != "" {
			t.Fatalf("%q: %s", data, d)
		}
	}
}

func FuzzUnmarshalJSONPushRequest(f *testing.F) {
	body, err := os.ReadFile("testdata/push-body.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	for _, s := range []string{
		`{"streams":[{"stream":{"a":"b","a":"c"},"values":[["1","x",{"k":"v","k":"w"}],null]},null]}`,
		`{"Streams":[{"values":[["-1","\u00e9\ud83d\ude00\n\"",{}]],"stream":{}}]}`,
		`null`, `{}`, `{"streams":null}`, `{"streams":[{"stream":{"a":1}}]}`,
		`{"x":[1,-2.5e3,true,false,null,{"y":"z"}],"streams":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkJSON(t, data, UnmarshalJSONPushRequest, referenceJSON)
	})
}

// referenceLegacyJSON decodes a legacy push body with encoding/json into
// Go structs, as Loki does (fresh values for repeated keys).
func referenceLegacyJSON(b []byte) (*PushRequest, error) {
	var top struct {
		Streams json.RawMessage `json:"streams"`
	}
	if err := json.Unmarshal(escapeControls(b), &top); err != nil {
		return nil, err
	}
	req := &PushRequest{}
	var streams []*struct {
		Labels  json.RawMessage `json:"labels"`
		Entries json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(orNull(top.Streams), &streams); err != nil {
		return nil, err
	}
	for _, s := range streams {
		if s == nil {
			continue
		}
		var st Stream
		if string(orNull(s.Labels)) != "null" {
			var err error
			if st.Labels, err = jsonString(s.Labels); err != nil {
				return nil, err
			}
		}
		var entries []*struct {
			Ts                 json.RawMessage `json:"ts"`
			Line               *string         `json:"line"`
			StructuredMetadata json.RawMessage `json:"structuredMetadata"`
			Parsed             json.RawMessage `json:"parsed"`
		}
		if err := json.Unmarshal(orNull(s.Entries), &entries); err != nil {
			return nil, err
		}
		for _, re := range entries {
			if re == nil {
				continue
			}
			var e Entry
			if string(orNull(re.Ts)) != "null" {
				ts, err := jsonString(re.Ts)
				if err != nil {
					return nil, err
				}
				tm, err := time.Parse(time.RFC3339Nano, ts)
				if err != nil {
					return nil, err
				}
				e.Timestamp = clampNanos(tm)
			}
			if re.Line != nil {
				e.Line = *re.Line
			}
			for _, p := range []struct {
				raw json.RawMessage
				dst *[]LabelAdapter
			}{{re.StructuredMetadata, &e.StructuredMetadata}, {re.Parsed, &e.Parsed}} {
				var m map[string]string
				if err := json.Unmarshal(orNull(p.raw), &m); err != nil {
					return nil, err
				}
				for k, v := range m {
					*p.dst = append(*p.dst, LabelAdapter{Name: k, Value: v})
				}
				slices.SortFunc(*p.dst, func(a, b LabelAdapter) int { return strings.Compare(a.Name, b.Name) })
			}
			st.Entries = append(st.Entries, e)
		}
		req.Streams = append(req.Streams, st)
	}
	return req, nil
}

func orNull(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return json.RawMessage("null")
	}
	return raw
}

func FuzzUnmarshalLegacyJSONPushRequest(f *testing.F) {
	for _, s := range []string{
		`{"streams":[{"labels":"{test=\"test\"}","entries":[{"ts":"2019-09-13T18:32:22.380001319Z","line":"super line"},{"ts":"2019-09-13T18:32:23+02:00","line":"x","structuredMetadata":{"b":"2","a":"1","a":"3"}}]}]}`,
		`{"STREAMS":[{"Labels":null,"ENTRIES":[{"TS":null,"Line":null,"parsed":{"x":"y"},"hash":5},null]},null]}`,
		`null`, `{}`, `{"streams":[{"entries":[{"ts":"1500-01-01T00:00:00Z"},{"ts":"2500-01-01T00:00:00.5Z"}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkJSON(t, data, UnmarshalLegacyJSONPushRequest, referenceLegacyJSON)
	})
}
