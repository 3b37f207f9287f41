package index

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// testSeries is one series as a test writes it.
type testSeries struct {
	lbls labels.Labels
	refs []ChunkRef
}

// build encodes the series and decodes the result.
func build(t testing.TB, series ...testSeries) *Reader {
	t.Helper()
	w := NewWriter()
	for _, s := range series {
		w.Add(s.lbls, s.refs...)
	}
	b, err := w.Encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	r, err := Decode(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return r
}

// ref returns a chunk ref whose other fields derive from its bounds, so that
// two refs with the same identity are equal.
func ref(from, through int64) ChunkRef {
	return ChunkRef{
		From:              from,
		Through:           through,
		Checksum:          uint32(from*31 + through),
		Entries:           uint32(through-from) + 1,
		UncompressedBytes: uint32(through-from)*10 + 10,
		CompressedBytes:   uint32(through-from)*3 + 3,
	}
}

func matcher(t testing.TB, typ labels.MatchType, name, value string) *labels.Matcher {
	t.Helper()
	m, err := labels.NewMatcher(typ, name, value)
	if err != nil {
		t.Fatalf("matcher %s %s %q: %v", name, typ, value, err)
	}
	return m
}

// seriesResult is what Series passed to its callback for one series.
type seriesResult struct {
	lbls string
	fp   uint64
	refs []ChunkRef
}

func collect(t testing.TB, r *Reader, ms []*labels.Matcher, from, through int64) []seriesResult {
	t.Helper()
	var out []seriesResult
	err := r.Series(ms, from, through, func(lbls labels.Labels, fp uint64, refs []ChunkRef) error {
		out = append(out, seriesResult{lbls.String(), fp, append([]ChunkRef(nil), refs...)})
		return nil
	})
	if err != nil {
		t.Fatalf("series: %v", err)
	}
	return out
}
