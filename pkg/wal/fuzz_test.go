package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeRecord: Decode never panics, and what it accepts encodes back to
// a payload that decodes to the same record.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(encode(&r))
	}
	f.Add([]byte{byte(TypeEntries), 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, payload []byte) {
		var r Record
		if err := r.Decode(payload); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		first := normalize(cloneRecord(&r))
		var again Record
		if err := again.Decode(encode(&first)); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if got := normalize(again); !reflect.DeepEqual(got, first) {
			t.Fatalf("round trip changed the record:\n got %+v\nwant %+v", got, first)
		}
	})
}

// FuzzSegmentReader: the reader never panics, never fails on damage, and
// accounts for every byte: header, frames read and damaged ranges add up to
// the size of the segment.
func FuzzSegmentReader(f *testing.F) {
	seg, _, offs := testSegment(5)
	f.Add(seg)
	f.Add(seg[:offs[3]+4])
	garbled := bytes.Clone(seg)
	garbled[offs[2]+3] ^= 0xff
	f.Add(garbled)
	f.Add(appendSegmentHeader(nil))
	f.Add([]byte("SKWL"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewSegmentReader(bytes.NewReader(data), int64(len(data)))
		var frames int64
		for r.Next() {
			if len(r.Record()) == 0 {
				t.Fatal("empty record")
			}
			frames += frameHeaderSize + int64(len(r.Record()))
		}
		if err := r.Err(); err != nil {
			if errors.Is(err, ErrUnsupportedVersion) {
				return
			}
			t.Fatalf("reader error on in-memory data: %v", err)
		}
		checkCoverage(t, r, len(data))
		var damaged int64
		for _, d := range r.Damage() {
			damaged += d.Length
		}
		var header int64
		if len(data) >= segmentHeaderSize && binary.BigEndian.Uint32(data) == segmentMagic {
			header = segmentHeaderSize
		}
		if header+frames+damaged != int64(len(data)) {
			t.Fatalf("header %d + frames %d + damage %d != size %d", header, frames, damaged, len(data))
		}
	})
}
