package logproto

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/skald-logs/skald/pkg/logproto/pb"
)

// toPB converts a request to the generated types, the reference encoder.
func toPB(req *PushRequest) *pb.PushRequest {
	out := &pb.PushRequest{}
	for _, s := range req.Streams {
		ps := &pb.StreamAdapter{Labels: s.Labels, Hash: s.Hash}
		for _, e := range s.Entries {
			pe := &pb.EntryAdapter{
				Timestamp: timestamppb.New(time.Unix(0, e.Timestamp)),
				Line:      e.Line,
			}
			for _, l := range e.StructuredMetadata {
				pe.StructuredMetadata = append(pe.StructuredMetadata, &pb.LabelPairAdapter{Name: l.Name, Value: l.Value})
			}
			for _, l := range e.Parsed {
				pe.Parsed = append(pe.Parsed, &pb.LabelPairAdapter{Name: l.Name, Value: l.Value})
			}
			ps.Entries = append(ps.Entries, pe)
		}
		out.Streams = append(out.Streams, ps)
	}
	return out
}

func marshalPB(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// diffRequests compares two requests field by field, treating nil and
// empty slices alike, and describes the first difference.
func diffRequests(got, want *PushRequest) string {
	if len(got.Streams) != len(want.Streams) {
		return fmt.Sprintf("got %d streams, want %d", len(got.Streams), len(want.Streams))
	}
	for i := range want.Streams {
		g, w := &got.Streams[i], &want.Streams[i]
		if g.Labels != w.Labels || g.Hash != w.Hash {
			return fmt.Sprintf("streams[%d]: got labels %q hash %d, want %q %d", i, g.Labels, g.Hash, w.Labels, w.Hash)
		}
		if len(g.Entries) != len(w.Entries) {
			return fmt.Sprintf("streams[%d]: got %d entries, want %d", i, len(g.Entries), len(w.Entries))
		}
		for j := range w.Entries {
			ge, we := g.Entries[j], w.Entries[j]
			if ge.Timestamp != we.Timestamp || ge.Line != we.Line ||
				!slices.Equal(ge.StructuredMetadata, we.StructuredMetadata) || !slices.Equal(ge.Parsed, we.Parsed) {
				return fmt.Sprintf("streams[%d].entries[%d]:\n got %+v\nwant %+v", i, j, ge, we)
			}
		}
	}
	return ""
}

func TestUnmarshalPushRequest(t *testing.T) {
	sm := []LabelAdapter{{Name: "trace_id", Value: "abc123"}, {Name: "user", Value: "u1"}}
	for _, tc := range []struct {
		name string
		req  PushRequest
	}{
		{"empty", PushRequest{}},
		{"stream without entries", PushRequest{Streams: []Stream{{Labels: `{job="a"}`}}}},
		{"stream without labels", PushRequest{Streams: []Stream{{Entries: []Entry{{Timestamp: 5, Line: "x"}}}}}},
		{"entries", PushRequest{Streams: []Stream{
			{Labels: `{app="api", level="info"}`, Entries: []Entry{
				{Timestamp: 1795448466000000000, Line: "GET /users 200 12ms"},
				{Timestamp: 1795448476000000001, Line: "GET /orders 200 8ms", StructuredMetadata: sm},
				{Timestamp: 1795448486999999999, Line: "", StructuredMetadata: sm[:1]},
			}},
			{Labels: `{app="worker"}`, Hash: 1<<64 - 1, Entries: []Entry{
				{Timestamp: 0, Line: `{"msg":"job done"}`, Parsed: []LabelAdapter{{Name: "msg", Value: "job done"}}},
				{Timestamp: -1, Line: "before 1970"},
				{Timestamp: math.MaxInt64, Line: "last nanosecond"},
				{Timestamp: math.MinInt64, Line: "first nanosecond"},
			}},
		}}},
		{"unicode and empty strings", PushRequest{Streams: []Stream{
			{Labels: `{name="日本語"}`, Entries: []Entry{{Timestamp: 1, Line: "é\x00\n", StructuredMetadata: []LabelAdapter{{Name: "", Value: ""}}}}},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := marshalPB(t, toPB(&tc.req))
			var got PushRequest
			if err := UnmarshalPushRequest(b, &got); err != nil {
				t.Fatal(err)
			}
			if d := diffRequests(&got, &tc.req); d != "" {
				t.Fatal(d)
			}
			// The same bytes, snappy-compressed, as shippers send them.
			var got2 PushRequest
			if err := DecodeSnappyPushRequest(snappy.Encode(nil, b), &got2); err != nil {
				t.Fatal(err)
			}
			if d := diffRequests(&got2, &tc.req); d != "" {
				t.Fatal("snappy:", d)
			}
		})
	}
}

// TestUnmarshalPushRequestWire covers wire-level cases the generated
// encoder does not produce.
func TestUnmarshalPushRequestWire(t *testing.T) {
	ts := func(sec, nsec uint64) []byte {
		var b []byte
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, sec)
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		return protowire.AppendVarint(b, nsec)
	}
	msg := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	str := func(num protowire.Number, s string) []byte { return msg(num, []byte(s)) }
	u64 := func(v int64) uint64 { return uint64(v) }
	cat := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	unknown := cat(
		protowire.AppendVarint(protowire.AppendTag(nil, 15, protowire.VarintType), 7),
		protowire.AppendFixed32(protowire.AppendTag(nil, 16, protowire.Fixed32Type), 7),
		protowire.AppendFixed64(protowire.AppendTag(nil, 17, protowire.Fixed64Type), 7),
		str(18, "ignored"),
		protowire.AppendTag(nil, 19, protowire.StartGroupType), str(1, "in group"), protowire.AppendTag(nil, 19, protowire.EndGroupType),
	)
	entry := func(parts ...[]byte) []byte { return msg(fieldStreamEntries, cat(parts...)) }
	stream := func(parts ...[]byte) []byte { return msg(fieldPushStreams, cat(parts...)) }

	for _, tc := range []struct {
		name string
		b    []byte
		want []Stream
	}{
		{
			"unknown fields everywhere",
			cat(unknown, str(2, "loki"), stream(unknown, str(1, `{a="b"}`), entry(unknown,
				msg(1, cat(ts(3, 4), unknown)), str(2, "line"),
				msg(3, cat(unknown, str(1, "k"), str(2, "v"))),
			))),
			[]Stream{{Labels: `{a="b"}`, Entries: []Entry{{Timestamp: 3e9 + 4, Line: "line", StructuredMetadata: []LabelAdapter{{"k", "v"}}}}}},
		},
		{
			"known fields with another wire type are skipped",
			cat(protowire.AppendVarint(protowire.AppendTag(nil, fieldPushStreams, protowire.VarintType), 1),
				stream(protowire.AppendVarint(protowire.AppendTag(nil, fieldStreamLabels, protowire.VarintType), 1),
					protowire.AppendFixed64(protowire.AppendTag(nil, fieldStreamHash, protowire.Fixed64Type), 1),
					entry(protowire.AppendVarint(protowire.AppendTag(nil, fieldEntryLine, protowire.VarintType), 1)))),
			[]Stream{{Entries: []Entry{{}}}},
		},
		{
			"last singular field wins, timestamps merge",
			stream(str(1, "first"), str(1, "second"), protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), 9),
				entry(str(2, "a"), str(2, "b"), msg(1, ts(10, 20)), msg(1, cat(protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 30))))),
			[]Stream{{Labels: "second", Hash: 9, Entries: []Entry{{Timestamp: 10e9 + 30, Line: "b"}}}},
		},
		{
			"invalid UTF-8 is kept",
			stream(str(1, "\xff"), entry(str(2, "\xfe\x00"))),
			[]Stream{{Labels: "\xff", Entries: []Entry{{Line: "\xfe\x00"}}}},
		},
		{
			"timestamps beyond int64 nanoseconds are clamped",
			stream(entry(msg(1, ts(253402300799, 999999999))), entry(msg(1, ts(u64(minTimestampSeconds), 0))),
				entry(msg(1, ts(9223372036, 854775807))), entry(msg(1, ts(9223372036, 854775808))),
				entry(msg(1, ts(uint64(1<<64-9223372037), 145224192))), entry(msg(1, ts(uint64(1<<64-9223372037), 145224191)))),
			[]Stream{{Entries: []Entry{{Timestamp: math.MaxInt64}, {Timestamp: math.MinInt64},
				{Timestamp: math.MaxInt64}, {Timestamp: math.MaxInt64},
				{Timestamp: math.MinInt64}, {Timestamp: math.MinInt64}}}},
		},
		{
			"negative timestamp",
			stream(entry(msg(1, ts(uint64(1<<64-2), 5)))),
			[]Stream{{Entries: []Entry{{Timestamp: -2e9 + 5}}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got PushRequest
			if err := UnmarshalPushRequest(tc.b, &got); err != nil {
				t.Fatal(err)
			}
			if d := diffRequests(&got, &PushRequest{Streams: tc.want}); d != "" {
				t.Fatal(d)
			}
		})
	}

	for _, tc := range []struct {
		name, b, want string
	}{
		{"truncated tag", "\x80", "invalid push protobuf at offset 0: unexpected EOF"},
		{"field number 0", "\x00", "invalid push protobuf at offset 0: invalid field number"},
		{"truncated length", "\x0a", "invalid push protobuf at offset 1 (streams[0]): unexpected EOF"},
		{"length beyond the end", "\x0a\x05ab", "invalid push protobuf at offset 1 (streams[0]): unexpected EOF"},
		{"stray end group", "\x0c", "invalid push protobuf at offset 1: mismatching end group marker"},
		{"truncated entry", string(stream(str(1, "x"), []byte("\x12\x03\x0a"))), "invalid push protobuf at offset 6 (streams[0].entries[0]): unexpected EOF"},
		{"truncated label pair", string(stream(entry([]byte("\x1a\x02\x0a\x05")))), "invalid push protobuf at offset 7 (streams[0].entries[0].structuredMetadata): unexpected EOF"},
		{"nanos too big", string(stream(entry(msg(1, ts(1, 1e9))))), "invalid push protobuf (streams[0].entries[0].timestamp): nanos 1000000000 out of range [0, 1e9)"},
		{"negative nanos", string(stream(entry(msg(1, ts(1, uint64(1<<64-1)))))), "invalid push protobuf (streams[0].entries[0].timestamp): nanos -1 out of range [0, 1e9)"},
		{"year 10000", string(stream(entry(msg(1, ts(maxTimestampSeconds, 0))))), "invalid push protobuf (streams[0].entries[0].timestamp): seconds 253402300800 out of range [0001-01-01, 10000-01-01)"},
		{"before year 1", string(stream(entry(msg(1, ts(u64(minTimestampSeconds-1), 0))))), "invalid push protobuf (streams[0].entries[0].timestamp): seconds -62135596801 out of range [0001-01-01, 10000-01-01)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := PushRequest{Streams: []Stream{{Labels: "old"}}}
			err := UnmarshalPushRequest([]byte(tc.b), &req)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got error %v, want %s", err, tc.want)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%v does not wrap ErrMalformed", err)
			}
			if len(req.Streams) != 0 {
				t.Fatalf("a failed decode left %d streams", len(req.Streams))
			}
		})
	}
}

// TestUnmarshalPushRequestPrefixes decodes every prefix of a message and
// checks that the decoder accepts exactly the prefixes proto.Unmarshal
// accepts, with the same content.
func TestUnmarshalPushRequestPrefixes(t *testing.T) {
	req := benchRequest(t, 3, 4)
	req.Streams[1].Entries[2].StructuredMetadata = []LabelAdapter{{"a", "b"}, {"c", "d"}}
	b := marshalPB(t, toPB(req))
	for n := 0; n <= len(b); n++ {
		checkAgainstReference(t, b[:n])
	}
}

func TestDecodeSnappyPushRequestCorrupt(t *testing.T) {
	for _, in := range []string{"", "not snappy", `{"streams":[]}`, "\xff\xff\xff\xff\xff\xff"} {
		var req PushRequest
		err := DecodeSnappyPushRequest([]byte(in), &req)
		if err == nil || err.Error() != "snappy: corrupt input" {
			t.Errorf("%q: got %v, want Loki's text snappy: corrupt input", in, err)
		}
		if !errors.Is(err, ErrMalformed) || !errors.Is(err, snappy.ErrCorrupt) {
			t.Errorf("%q: %v should wrap ErrMalformed and snappy.ErrCorrupt", in, err)
		}
	}
	// A valid block holding invalid protobuf is a protobuf error.
	var req PushRequest
	err := DecodeSnappyPushRequest(snappy.Encode(nil, []byte("\x0a\x05ab")), &req)
	if err == nil || !strings.HasPrefix(err.Error(), "invalid push protobuf") {
		t.Errorf("got %v", err)
	}
}

func TestUnmarshalPushRequestReusesMemory(t *testing.T) {
	big := benchRequest(t, 4, 50)
	small := benchRequest(t, 2, 3)
	small.Streams[0].Entries[1].StructuredMetadata = []LabelAdapter{{"k", "v"}}
	bigB, smallB := marshalPB(t, toPB(big)), marshalPB(t, toPB(small))

	var req PushRequest
	if err := UnmarshalPushRequest(bigB, &req); err != nil {
		t.Fatal(err)
	}
	streams, entries := &req.Streams[0], &req.Streams[0].Entries[0]
	if err := UnmarshalPushRequest(smallB, &req); err != nil {
		t.Fatal(err)
	}
	if d := diffRequests(&req, small); d != "" {
		t.Fatal(d)
	}
	if &req.Streams[0] != streams || &req.Streams[0].Entries[0] != entries {
		t.Error("the second decode did not reuse the streams and entries of the first")
	}
	// The decoder copied its input: changing it changes nothing.
	for i := range smallB {
		smallB[i] = 'X'
	}
	if d := diffRequests(&req, small); d != "" {
		t.Fatal("after changing the input:", d)
	}
}

func TestPairsDoNotShareCapacity(t *testing.T) {
	req := &PushRequest{Streams: []Stream{{Entries: []Entry{
		{Line: "a", StructuredMetadata: []LabelAdapter{{"x", "1"}}},
		{Line: "b", StructuredMetadata: []LabelAdapter{{"y", "2"}}},
	}}}}
	var got PushRequest
	if err := UnmarshalPushRequest(marshalPB(t, toPB(req)), &got); err != nil {
		t.Fatal(err)
	}
	e := got.Streams[0].Entries
	e[0].StructuredMetadata = append(e[0].StructuredMetadata, LabelAdapter{"z", "3"})
	if e[1].StructuredMetadata[0] != (LabelAdapter{"y", "2"}) {
		t.Fatalf("appending to one entry's metadata changed the next: %v", e[1].StructuredMetadata)
	}
}
