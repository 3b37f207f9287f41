package loadgen

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/proto"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logproto/pb"
)

type testEntry struct {
	ts   int64
	line string
}

var encodeCases = []struct {
	name    string
	streams []Stream
	entries [][]testEntry
}{
	{
		name:    "one entry",
		streams: []Stream{{Labels: `{job="a"}`, Pairs: []Label{{"job", "a"}}}},
		entries: [][]testEntry{{{1795448545123456789, "hello"}}},
	},
	{
		name: "edge timestamps and lines",
		streams: []Stream{
			{Labels: `{job="a", x="q\"uote"}`, Pairs: []Label{{"job", "a"}, {"x", `q"uote`}}},
			{Labels: `{job="b"}`, Pairs: []Label{{"job", "b"}}},
		},
		entries: [][]testEntry{
			{{0, "zero time"}, {999, "nanos only"}, {5e9, "seconds only"}, {1795448545000000001, ""}},
			{
				{1, `quote " backslash \ slash /`},
				{2, "control \x00\x01\x1f\t\r\n end"},
				{3, "unicode é 日本 🙂"},
				{5, string(make([]byte, 70000))},
			},
		},
	},
	{
		// Not valid protobuf (strings are UTF-8) but sent by real shippers.
		name:    "invalid utf8",
		streams: []Stream{{Labels: `{job="a"}`, Pairs: []Label{{"job", "a"}}}},
		entries: [][]testEntry{{{1, "invalid \xff\xfe utf8"}}},
	},
}

func validUTF8(entries [][]testEntry) bool {
	for _, es := range entries {
		for _, e := range es {
			if !utf8.ValidString(e.line) {
				return false
			}
		}
	}
	return true
}

func encode(f Format, streams []Stream, entries [][]testEntry) []byte {
	e := NewEncoder(f)
	// A first body, to check Reset leaves nothing behind.
	e.StartStream(&Stream{Labels: `{junk="1"}`, Pairs: []Label{{"junk", "1"}}})
	e.Append(1, []byte("junk"))
	e.EndStream()
	_ = e.Body()
	e.Reset()
	for i := range streams {
		e.StartStream(&streams[i])
		for _, en := range entries[i] {
			e.Append(en.ts, []byte(en.line))
		}
		e.EndStream()
	}
	return e.Body()
}

// TestEncodeProtobuf checks the hand-written encoding against the generated
// protobuf code and against Skald's own decoder.
func TestEncodeProtobuf(t *testing.T) {
	for _, tc := range encodeCases {
		body := encode(FormatProtobuf, tc.streams, tc.entries)
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var req logproto.PushRequest
		if err := logproto.DecodeSnappyPushRequest(body, &req); err != nil {
			t.Fatalf("%s: skald decoder: %v", tc.name, err)
		}
		checkDecoded(t, tc.name, &req, tc.streams, tc.entries, false)
		if !validUTF8(tc.entries) {
			continue // the generated code refuses it
		}
		var ref pb.PushRequest
		if err := proto.Unmarshal(raw, &ref); err != nil {
			t.Fatalf("%s: generated code cannot decode: %v", tc.name, err)
		}
		if len(ref.Streams) != len(tc.streams) {
			t.Fatalf("%s: %d streams", tc.name, len(ref.Streams))
		}
		for i, s := range ref.Streams {
			if s.Labels != tc.streams[i].Labels || len(s.Entries) != len(tc.entries[i]) {
				t.Fatalf("%s: stream %d: %s with %d entries", tc.name, i, s.Labels, len(s.Entries))
			}
			for j, en := range s.Entries {
				want := tc.entries[i][j]
				if got := en.Timestamp.AsTime().UnixNano(); got != want.ts || en.Line != want.line {
					t.Errorf("%s: entry %d/%d: %d %q, want %d %q", tc.name, i, j, got, en.Line, want.ts, want.line)
				}
			}
		}
		// The generated code must produce the same bytes (fields in order,
		// zero fields omitted).
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(&ref)
		if err != nil {
			t.Fatal(err)
		}
		if string(want) != string(raw) {
			t.Errorf("%s: bytes differ from the generated code's", tc.name)
		}
	}
}

func TestEncodeJSON(t *testing.T) {
	for _, tc := range encodeCases {
		body := encode(FormatJSON, tc.streams, tc.entries)
		if !json.Valid(body) {
			t.Fatalf("%s: invalid JSON: %s", tc.name, body)
		}
		var req logproto.PushRequest
		if err := logproto.UnmarshalJSONPushRequest(body, &req); err != nil {
			t.Fatalf("%s: skald decoder: %v", tc.name, err)
		}
		checkDecoded(t, tc.name, &req, tc.streams, tc.entries, true)
	}
}

func checkDecoded(t *testing.T, name string, req *logproto.PushRequest, streams []Stream, entries [][]testEntry, utf8Only bool) {
	t.Helper()
	if len(req.Streams) != len(streams) {
		t.Fatalf("%s: %d streams decoded", name, len(req.Streams))
	}
	for i, s := range req.Streams {
		if len(s.Entries) != len(entries[i]) {
			t.Fatalf("%s: stream %d: %d entries", name, i, len(s.Entries))
		}
		for j, en := range s.Entries {
			want := entries[i][j]
			wantLine := want.line
			if utf8Only {
				// JSON carries text: invalid bytes become U+FFFD.
				wantLine = string([]rune(want.line))
			}
			if en.Timestamp != want.ts || en.Line != wantLine {
				t.Errorf("%s: entry %d/%d: %d %q, want %d %q", name, i, j, en.Timestamp, en.Line, want.ts, wantLine)
			}
		}
	}
}

func TestParseNames(t *testing.T) {
	for _, s := range []string{"mixed", "access", "json", "logfmt"} {
		k, err := ParseKind(s)
		if err != nil || k.String() != s {
			t.Errorf("ParseKind(%q) = %v, %v", s, k, err)
		}
	}
	for _, s := range []string{"snappy", "json"} {
		f, err := ParseFormat(s)
		if err != nil || f.String() != s {
			t.Errorf("ParseFormat(%q) = %v, %v", s, f, err)
		}
	}
	if _, err := ParseKind("corpus"); !errors.Is(err, ErrConfig) {
		t.Errorf("ParseKind(corpus): %v", err)
	}
	if _, err := ParseFormat("gzip"); !errors.Is(err, ErrConfig) {
		t.Errorf("ParseFormat(gzip): %v", err)
	}
}
