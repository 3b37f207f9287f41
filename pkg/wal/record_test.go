package wal

import (
	"errors"
	"reflect"
	"testing"
)

// sampleRecords covers every record type and the edge values of its fields.
func sampleRecords() []Record {
	return []Record{
		{Type: TypeSeries, Tenant: "fake", Ref: 1, Labels: `{app="web", env="prod"}`},
		{Type: TypeSeries, Tenant: "", Ref: 1<<64 - 1, Labels: ""},
		{Type: TypeEntries, Ref: 7, Entries: []Entry{
			{Chunk: 3, Timestamp: 1700000000000000000, Line: "GET /users 200"},
			{Chunk: 3, Timestamp: -5, Line: "", Metadata: []Label{{"trace_id", "abc"}, {"empty", ""}}},
			{Chunk: 1 << 40, Timestamp: 1<<63 - 1, Line: "ünïcödé\x00bytes", Metadata: []Label{{"k", "v"}}},
		}},
		{Type: TypeEntries, Ref: 8},
		{Type: TypeCut, Ref: 7, Cuts: []ChunkCut{{Chunk: 3, Reason: 1}, {Chunk: 9, Reason: 255}}},
		{Type: TypeCut, Ref: 0},
		{Type: TypeFlushed, Flushed: []FlushedChunk{{Ref: 7, Chunk: 3}, {Ref: 1 << 50, Chunk: 0}}},
		{Type: TypeFlushed},
		{Type: TypeChunk, Chunk: ChunkState{Ref: 7, Chunk: 4, Window: -3600, Open: true, Reason: 0,
			FirstAppend: 1700000000000000000, LastAppend: 1700000001000000000, Data: []byte{1, 2, 3}}},
		{Type: TypeChunk, Chunk: ChunkState{Ref: 2, Chunk: 5, Window: 1 << 62, Reason: 4}},
	}
}

// encode returns the payload of r.
func encode(r *Record) []byte {
	switch r.Type {
	case TypeSeries:
		return AppendSeries(nil, r.Tenant, r.Ref, r.Labels)
	case TypeEntries:
		b := AppendEntriesHeader(nil, r.Ref)
		for _, e := range r.Entries {
			b = AppendEntry(b, e.Chunk, e.Timestamp, e.Line, len(e.Metadata))
			for _, l := range e.Metadata {
				b = AppendLabel(b, l.Name, l.Value)
			}
		}
		return b
	case TypeCut:
		return AppendCut(nil, r.Ref, r.Cuts)
	case TypeFlushed:
		return AppendFlushed(nil, r.Flushed)
	case TypeChunk:
		return AppendChunk(nil, &r.Chunk)
	}
	panic("unknown type")
}

// normalize clears what Decode sets but a literal leaves nil.
func normalize(r Record) Record {
	r.labels, r.spans = nil, nil
	if len(r.Entries) == 0 {
		r.Entries = nil
	}
	if len(r.Cuts) == 0 {
		r.Cuts = nil
	}
	if len(r.Flushed) == 0 {
		r.Flushed = nil
	}
	if len(r.Chunk.Data) == 0 {
		r.Chunk.Data = nil
	}
	for i := range r.Entries {
		if len(r.Entries[i].Metadata) == 0 {
			r.Entries[i].Metadata = nil
		}
	}
	return r
}

func TestRecordRoundTrip(t *testing.T) {
	var got Record // reused across cases, as Replay does
	for _, want := range sampleRecords() {
		t.Run(want.Type.String(), func(t *testing.T) {
			payload := encode(&want)
			if err := got.Decode(payload); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if g, w := normalize(got), normalize(want); !reflect.DeepEqual(g, w) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", g, w)
			}
		})
	}
}

func TestRecordDecodeErrors(t *testing.T) {
	entries := encode(&Record{Type: TypeEntries, Ref: 1, Entries: []Entry{{Chunk: 1, Timestamp: 2, Line: "line", Metadata: []Label{{"a", "b"}}}}})
	chunk := encode(&Record{Type: TypeChunk, Chunk: ChunkState{Ref: 1, Chunk: 2, Data: []byte("data")}})
	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"unknown type", []byte{99, 1, 2}},
		{"type zero", []byte{0}},
		{"series truncated", AppendSeries(nil, "tenant", 5, "{a=\"b\"}")[:8]},
		{"series trailing bytes", append(AppendSeries(nil, "t", 1, "{}"), 0)},
		{"entries truncated in line", entries[:len(entries)-6]},
		{"entries truncated in metadata", entries[:len(entries)-1]},
		{"entries bad uvarint", append(AppendEntriesHeader(nil, 1), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
		{"entries huge metadata count", append(AppendEntry(AppendEntriesHeader(nil, 1), 1, 2, "x", 0)[:len(AppendEntry(AppendEntriesHeader(nil, 1), 1, 2, "x", 0))-1], 0xff, 0xff, 0x03)},
		{"cut missing reason", append(AppendCut(nil, 1, nil), 5)},
		{"flushed missing chunk", append(AppendFlushed(nil, nil), 5)},
		{"chunk data length too long", chunk[:len(chunk)-1]},
		{"chunk truncated in fixed fields", chunk[:6]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Record
			err := r.Decode(tc.payload)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestParseSyncPolicy(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    SyncPolicy
		wantErr bool
	}{
		{"always", SyncAlways, false},
		{"batch", SyncBatch, false},
		{"none", SyncNone, false},
		{"Always", 0, true},
		{"", 0, true},
	} {
		got, err := ParseSyncPolicy(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseSyncPolicy(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.in)
		}
	}
}
