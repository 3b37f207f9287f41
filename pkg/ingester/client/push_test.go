package client

import (
	"math"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logproto/pb"
)

func samplePush() *logproto.PushRequest {
	return &logproto.PushRequest{Streams: []logproto.Stream{
		{Labels: `{app="web"}`, Hash: 0xdeadbeef, Entries: []logproto.Entry{
			{Timestamp: 1700000000123456789, Line: "hello"},
			{Timestamp: 0, Line: ""},
			{Timestamp: -1, Line: "before the epoch"},
			{Timestamp: 5, Line: "meta", StructuredMetadata: []logproto.LabelAdapter{{Name: "trace_id", Value: "abc"}, {Name: "", Value: ""}}},
		}},
		{Labels: `{app="db"}`},
		{Labels: "", Entries: []logproto.Entry{{Timestamp: math.MaxInt64, Line: "max"}, {Timestamp: math.MinInt64 + 1, Line: "min"}}},
	}}
}

// TestAppendPushRequestMatchesProto checks the hand encoder against the
// generated protobuf code, byte for byte, and against Skald's decoder.
func TestAppendPushRequestMatchesProto(t *testing.T) {
	req := samplePush()
	got := AppendPushRequest(nil, req)
	if len(got) != PushRequestSize(req) {
		t.Fatalf("size %d, encoded %d", PushRequestSize(req), len(got))
	}
	ref := &pb.PushRequest{}
	for _, s := range req.Streams {
		ps := &pb.StreamAdapter{Labels: s.Labels, Hash: s.Hash}
		for _, e := range s.Entries {
			pe := &pb.EntryAdapter{Timestamp: timestamppb.New(time.Unix(0, e.Timestamp)), Line: e.Line}
			for _, m := range e.StructuredMetadata {
				pe.StructuredMetadata = append(pe.StructuredMetadata, &pb.LabelPairAdapter{Name: m.Name, Value: m.Value})
			}
			ps.Entries = append(ps.Entries, pe)
		}
		ref.Streams = append(ref.Streams, ps)
	}
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("encoding differs from protobuf's:\n got %x\nwant %x", got, want)
	}
	checkRoundTrip(t, req)
}

func checkRoundTrip(t *testing.T, req *logproto.PushRequest) {
	t.Helper()
	var back logproto.PushRequest
	if err := logproto.UnmarshalPushRequest(AppendPushRequest(nil, req), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Streams) != len(req.Streams) {
		t.Fatalf("%d streams back, want %d", len(back.Streams), len(req.Streams))
	}
	for i, s := range req.Streams {
		b := back.Streams[i]
		if b.Labels != s.Labels || b.Hash != s.Hash || len(b.Entries) != len(s.Entries) {
			t.Fatalf("stream %d: got %q %x %d entries, want %q %x %d", i, b.Labels, b.Hash, len(b.Entries), s.Labels, s.Hash, len(s.Entries))
		}
		for j, e := range s.Entries {
			g := b.Entries[j]
			if g.Timestamp != e.Timestamp || g.Line != e.Line || !slices.Equal(g.StructuredMetadata, e.StructuredMetadata) && len(e.StructuredMetadata)+len(g.StructuredMetadata) > 0 {
				t.Fatalf("stream %d entry %d: got %+v, want %+v", i, j, g, e)
			}
		}
	}
}

// FuzzAppendPushRequest: whatever is encoded decodes to the same request.
func FuzzAppendPushRequest(f *testing.F) {
	f.Add("{a=\"b\"}", int64(1), "line", "k", "v", uint64(7))
	f.Add("", int64(-1e9-1), "", "", "", uint64(0))
	f.Fuzz(func(t *testing.T, lbls string, ts int64, line, k, v string, hash uint64) {
		req := &logproto.PushRequest{Streams: []logproto.Stream{{Labels: lbls, Hash: hash, Entries: []logproto.Entry{
			{Timestamp: ts, Line: line, StructuredMetadata: []logproto.LabelAdapter{{Name: k, Value: v}}},
			{Timestamp: ts / 3, Line: line + line},
		}}}}
		checkRoundTrip(t, req)
	})
}

func BenchmarkAppendPushRequest(b *testing.B) {
	req := &logproto.PushRequest{}
	for s := range 10 {
		st := logproto.Stream{Labels: `{app="web", pod="web-` + string(rune('a'+s)) + `"}`, Hash: uint64(s)}
		for i := range 100 {
			st.Entries = append(st.Entries, logproto.Entry{Timestamp: int64(1e18 + i), Line: `level=info msg="GET /api/v1/users 200" duration=12ms`,
				StructuredMetadata: []logproto.LabelAdapter{{Name: "trace_id", Value: "0af7651916cd43dd8448eb211c80319c"}}})
		}
		req.Streams = append(req.Streams, st)
	}
	buf := AppendPushRequest(nil, req)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPushRequest(buf[:0], req)
	}
}
