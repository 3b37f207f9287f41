package index

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from goldenContent")

// goldenFile is the JSON form of an index's content.
type goldenFile struct {
	Version byte           `json:"version"`
	Series  []goldenSeries `json:"series"`
}

type goldenSeries struct {
	Labels      map[string]string `json:"labels"`
	Fingerprint string            `json:"fingerprint"`
	Chunks      []goldenChunk     `json:"chunks"`
}

type goldenChunk struct {
	From              int64  `json:"from"`
	Through           int64  `json:"through"`
	Checksum          uint32 `json:"checksum"`
	Entries           uint32 `json:"entries"`
	UncompressedBytes uint32 `json:"uncompressed_bytes"`
	CompressedBytes   uint32 `json:"compressed_bytes"`
}

// goldenContent is what testdata/index-v1.bin was written from: realistic
// Loki streams, several refs per series, extreme timestamps and sizes, and
// values that need escaping.
func goldenContent() []testSeries {
	const day = int64(1767225600) * 1e9 // 2026-01-01T00:00:00Z
	return []testSeries{
		{labels.FromStrings("service_name", "checkout", "namespace", "shop", "pod", "checkout-7d9f-abc12", "container", "app", "cluster", "eu-west-1"),
			[]ChunkRef{
				{From: day + 1, Through: day + 3600e9, Checksum: 0xdeadbeef, Entries: 51234, UncompressedBytes: 9_876_543, CompressedBytes: 1_572_864},
				{From: day + 3600e9, Through: day + 7200e9 - 1, Checksum: 0x01020304, Entries: 1, UncompressedBytes: 17, CompressedBytes: 64},
			}},
		{labels.FromStrings("service_name", "checkout", "namespace", "shop", "pod", "checkout-7d9f-xyz99", "container", "app", "cluster", "eu-west-1"),
			[]ChunkRef{{From: day + 5, Through: day + 5, Checksum: 7, Entries: 1, UncompressedBytes: 120, CompressedBytes: 90}}},
		{labels.FromStrings("service_name", "nginx", "job", "varlogs", "filename", "/var/log/nginx/access.log"),
			[]ChunkRef{
				{From: day, Through: day + 86399e9, Checksum: math.MaxUint32, Entries: math.MaxUint32, UncompressedBytes: math.MaxUint32, CompressedBytes: math.MaxUint32},
				{From: day + 10, Through: day + 20, Checksum: 0, Entries: 0, UncompressedBytes: 0, CompressedBytes: 0},
			}},
		{labels.FromStrings("service_name", "unknown_service", "env", `quote " and \ backslash`, "region", "zürich-ÿ-日本"),
			[]ChunkRef{{From: math.MinInt64, Through: math.MaxInt64, Checksum: 1, Entries: 2, UncompressedBytes: 3, CompressedBytes: 4}}},
		{labels.FromStrings("a", "b"),
			[]ChunkRef{{From: -1, Through: 0, Checksum: 2}, {From: 0, Through: 0, Checksum: 1}, {From: 0, Through: 0, Checksum: 2}}},
	}
}

const (
	goldenIndex = "index-v1.bin"
	goldenJSON  = "index-v1.json"
)

func toGolden(r *Reader) goldenFile {
	g := goldenFile{Version: Version}
	for i := range r.series {
		s := &r.series[i]
		gs := goldenSeries{Labels: s.lbls.Map(), Fingerprint: fmt.Sprintf("%016x", s.fp)}
		for _, c := range s.refs {
			gs.Chunks = append(gs.Chunks, goldenChunk(c))
		}
		g.Series = append(g.Series, gs)
	}
	return g
}

func TestGolden(t *testing.T) {
	binPath, jsonPath := filepath.Join("testdata", goldenIndex), filepath.Join("testdata", goldenJSON)
	if *update {
		w := NewWriter()
		for _, s := range goldenContent() {
			w.Add(s.lbls, s.refs...)
		}
		b := encode(t, w)
		r, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		j, err := json.MarshalIndent(toGolden(r), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(binPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(jsonPath, append(j, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	b, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	j, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var want goldenFile
	if err := json.Unmarshal(j, &want); err != nil {
		t.Fatal(err)
	}

	// An old file stays readable and means what it meant.
	r, err := Decode(b)
	if err != nil {
		t.Fatalf("decode %s: %v", binPath, err)
	}
	got := toGolden(r)
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("%s decodes to\n%s\nwant\n%s", binPath, gotJSON, wantJSON)
	}
	for _, s := range want.Series {
		fp, err := strconv.ParseUint(s.Fingerprint, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := Fingerprint(labels.FromMap(s.Labels)); got != fp {
			t.Errorf("Fingerprint(%v) = %016x, the file says %016x", s.Labels, got, fp)
		}
	}

	// The writer still produces the same bytes for the same content; if this
	// fails on purpose, the format changed: bump Version and add a golden file.
	w := NewWriter()
	for _, s := range want.Series {
		for _, c := range s.Chunks {
			w.Add(labels.FromMap(s.Labels), ChunkRef(c))
		}
	}
	if enc := encode(t, w); !bytes.Equal(enc, b) {
		t.Fatalf("encoding the golden content gives %d bytes that differ from %s (%d bytes)", len(enc), binPath, len(b))
	}

	// A query over the golden file, checked by hand.
	ms := []*labels.Matcher{matcher(t, labels.MatchEqual, "service_name", "checkout"), matcher(t, labels.MatchRegexp, "pod", ".*xyz.*")}
	res := collect(t, r, ms, 1767225600e9, 1767225600e9+6)
	if len(res) != 1 || res[0].lbls != `{cluster="eu-west-1", container="app", namespace="shop", pod="checkout-7d9f-xyz99", service_name="checkout"}` || len(res[0].refs) != 1 {
		t.Fatalf("query over the golden file: %+v", res)
	}
}

func TestFingerprint(t *testing.T) {
	for _, tc := range []struct {
		lbls labels.Labels
		in   string // the documented hash input
	}{
		{labels.EmptyLabels(), ""},
		{labels.FromStrings("app", "api"), "app\xffapi\xff"},
		{labels.FromStrings("b", "2", "a", "1"), "a\xff1\xffb\xff2\xff"},
	} {
		if got, want := Fingerprint(tc.lbls), xxhash.Sum64String(tc.in); got != want {
			t.Errorf("Fingerprint(%s) = %016x, want XXH64(%q) = %016x", tc.lbls, got, tc.in, want)
		}
	}
	// Pinned values: these name chunk objects in stores and must never change.
	for _, tc := range []struct {
		lbls labels.Labels
		want uint64
	}{
		{labels.EmptyLabels(), 0xef46db3751d8e999},
		{labels.FromStrings("app", "api"), 0x49bbf3e3c0a36d71},
	} {
		if got := Fingerprint(tc.lbls); got != tc.want {
			t.Errorf("Fingerprint(%s) = %016x, want %016x", tc.lbls, got, tc.want)
		}
	}
}
