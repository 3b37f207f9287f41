package wal

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

// testSegment builds a segment of n records and returns it with the offset
// at which each frame starts.
func testSegment(n int) ([]byte, [][]byte, []int) {
	seg := appendSegmentHeader(nil)
	var recs [][]byte
	var offs []int
	for i := range n {
		// Payload sizes vary, some contain the frame magic.
		p := bytes.Repeat([]byte{byte(i), frameMagic}, 1+i*7%23)
		p = append([]byte{byte(TypeEntries)}, p...)
		offs = append(offs, len(seg))
		recs = append(recs, p)
		seg = appendFrame(seg, p)
	}
	return seg, recs, offs
}

func readAll(t *testing.T, seg []byte) ([][]byte, []Damage) {
	t.Helper()
	r := NewSegmentReader(bytes.NewReader(seg), int64(len(seg)))
	var out [][]byte
	for r.Next() {
		out = append(out, bytes.Clone(r.Record()))
	}
	if err := r.Err(); err != nil {
		t.Fatalf("reader error: %v", err)
	}
	checkCoverage(t, r, len(seg))
	return out, r.Damage()
}

// checkCoverage asserts that damage ranges are in order, within the
// segment and do not overlap.
func checkCoverage(t *testing.T, r *SegmentReader, size int) {
	t.Helper()
	var end int64
	for _, d := range r.Damage() {
		if d.Offset < end || d.Length <= 0 || d.Offset+d.Length > int64(size) {
			t.Fatalf("bad damage range %+v (previous end %d, size %d)", d, end, size)
		}
		end = d.Offset + d.Length
	}
	if r.Offset() > int64(size) {
		t.Fatalf("offset %d past size %d", r.Offset(), size)
	}
}

func TestSegmentReaderIntact(t *testing.T) {
	seg, recs, _ := testSegment(20)
	got, damage := readAll(t, seg)
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("got %d records, want %d identical", len(got), len(recs))
	}
	if len(damage) != 0 {
		t.Fatalf("damage in an intact segment: %v", damage)
	}
}

// Truncating the segment anywhere inside the last frame loses exactly that
// frame and reports a tail; truncating at a frame boundary loses nothing.
func TestSegmentReaderTruncated(t *testing.T) {
	seg, recs, offs := testSegment(10)
	last := offs[len(offs)-1]
	for cut := last; cut <= len(seg); cut++ {
		got, damage := readAll(t, seg[:cut])
		wantRecs := recs[:len(recs)-1]
		var wantDamage []Damage
		switch {
		case cut == len(seg):
			wantRecs = recs
		case cut > last:
			wantDamage = []Damage{{Offset: int64(last), Length: int64(cut - last), Tail: true}}
		}
		if !reflect.DeepEqual(got, wantRecs) {
			t.Fatalf("cut at %d: got %d records, want %d", cut, len(got), len(wantRecs))
		}
		if !reflect.DeepEqual(damage, wantDamage) {
			t.Fatalf("cut at %d: damage %v, want %v", cut, damage, wantDamage)
		}
	}
	// A segment cut inside its header.
	for cut := 1; cut < segmentHeaderSize; cut++ {
		got, damage := readAll(t, seg[:cut])
		if len(got) != 0 || len(damage) != 1 || !damage[0].Tail {
			t.Fatalf("header cut at %d: %d records, damage %v", cut, len(got), damage)
		}
	}
}

// A garbled byte in frame k loses frame k only: the reader finds frame k+1.
func TestSegmentReaderGarbled(t *testing.T) {
	seg, recs, offs := testSegment(12)
	for k := range recs {
		end := len(seg)
		if k+1 < len(offs) {
			end = offs[k+1]
		}
		for _, at := range []int{offs[k], offs[k] + 1, offs[k] + 5, offs[k] + 6, offs[k] + frameHeaderSize, end - 1} {
			t.Run(fmt.Sprintf("frame%d/byte%d", k, at-offs[k]), func(t *testing.T) {
				bad := bytes.Clone(seg)
				bad[at] ^= 0x5a
				got, damage := readAll(t, bad)
				want := append(append([][]byte{}, recs[:k]...), recs[k+1:]...)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("got %d records, want the %d others", len(got), len(want))
				}
				wantDamage := []Damage{{Offset: int64(offs[k]), Length: int64(end - offs[k]), Tail: k == len(recs)-1}}
				if !reflect.DeepEqual(damage, wantDamage) {
					t.Fatalf("damage %v, want %v", damage, wantDamage)
				}
			})
		}
	}
}

func TestSegmentReaderDamagedShapes(t *testing.T) {
	seg, recs, offs := testSegment(6)
	zeros := append(bytes.Clone(seg), make([]byte, 4096)...)
	midZeros := append(append(bytes.Clone(seg[:offs[3]]), make([]byte, 100)...), seg[offs[3]:]...)
	badHeader := bytes.Clone(seg)
	copy(badHeader, "JUNK")
	for _, tc := range []struct {
		name       string
		seg        []byte
		want       [][]byte
		wantDamage []Damage
	}{
		{"zero-filled tail", zeros, recs, []Damage{{Offset: int64(len(seg)), Length: 4096, Tail: true}}},
		{"zeros in the middle", midZeros, recs, []Damage{{Offset: int64(offs[3]), Length: 100}}},
		{"bad segment magic", badHeader, recs, []Damage{{Offset: 0, Length: segmentHeaderSize}}},
		{"empty file", nil, nil, nil},
		{"header only", seg[:segmentHeaderSize], nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, damage := readAll(t, tc.seg)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %d records, want %d", len(got), len(tc.want))
			}
			if !reflect.DeepEqual(damage, tc.wantDamage) {
				t.Fatalf("damage %v, want %v", damage, tc.wantDamage)
			}
		})
	}
}

func TestSegmentReaderVersion(t *testing.T) {
	seg, _, _ := testSegment(2)
	seg[4] = FormatVersion + 1
	r := NewSegmentReader(bytes.NewReader(seg), int64(len(seg)))
	if r.Next() {
		t.Fatal("read a record of an unsupported version")
	}
	if r.Err() == nil {
		t.Fatal("no error for an unsupported version")
	}
}

// Records larger than the read window take the other read path.
func TestSegmentReaderLargeRecords(t *testing.T) {
	seg := appendSegmentHeader(nil)
	var recs [][]byte
	for i, n := range []int{10, readWindow + 5, 3, 2*readWindow + 1, readWindow - frameHeaderSize - 20} {
		p := bytes.Repeat([]byte{byte(i + 1)}, n)
		recs = append(recs, p)
		seg = appendFrame(seg, p)
	}
	got, damage := readAll(t, seg)
	if !reflect.DeepEqual(got, recs) || len(damage) != 0 {
		t.Fatalf("got %d records and damage %v, want %d records", len(got), damage, len(recs))
	}
	// Corrupt the large one: the reader skips it and finds the next.
	bad := bytes.Clone(seg)
	bad[segmentHeaderSize+frameHeaderSize+10+frameHeaderSize+readWindow] ^= 1
	got, damage = readAll(t, bad)
	want := append([][]byte{recs[0]}, recs[2:]...)
	if !reflect.DeepEqual(got, want) || len(damage) != 1 {
		t.Fatalf("got %d records and damage %v, want %d records and one damage", len(got), damage, len(want))
	}
}
