package index

import (
	"fmt"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// benchSeries returns n Kubernetes-like streams (3 clusters, 20 namespaces,
// 200 apps, a unique pod each) with 5 two-hour chunks each over one day.
func benchSeries(n int) []testSeries {
	const day = int64(1767225600) * 1e9
	const hour = int64(3600e9)
	clusters := []string{"ap-south-1", "eu-west-1", "us-east-1"}
	out := make([]testSeries, n)
	for i := range out {
		app := fmt.Sprintf("app-%d", (i/10)%200)
		lbls := labels.FromStrings(
			"cluster", clusters[i%3],
			"container", []string{"app", "sidecar"}[i%2],
			"namespace", fmt.Sprintf("ns-%d", (i/10)%20),
			"pod", fmt.Sprintf("%s-%x", app, i*7919),
			"service_name", app,
		)
		refs := make([]ChunkRef, 5)
		for j := range refs {
			from := day + int64(j)*2*hour + int64(i)*1e6
			refs[j] = ChunkRef{From: from, Through: from + 2*hour - 1, Checksum: uint32(i*31 + j),
				Entries: 10000, UncompressedBytes: 2 << 20, CompressedBytes: 300 << 10}
		}
		out[i] = testSeries{lbls, refs}
	}
	return out
}

func benchWriter(series []testSeries) *Writer {
	w := NewWriter()
	for _, s := range series {
		w.Add(s.lbls, s.refs...)
	}
	return w
}

func BenchmarkAdd(b *testing.B) {
	series := benchSeries(10000)
	b.ReportAllocs()
	for b.Loop() {
		benchWriter(series)
	}
}

func BenchmarkEncode(b *testing.B) {
	w := benchWriter(benchSeries(10000))
	enc := encode(b, w)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	enc := encode(b, benchWriter(benchSeries(10000)))
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeries(b *testing.B) {
	const day = int64(1767225600) * 1e9
	enc := encode(b, benchWriter(benchSeries(10000)))
	r, err := Decode(enc)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name          string
		ms            []m3
		from, through int64
	}{
		{"equal", []m3{{eq, "service_name", "app-7"}}, math.MinInt64, math.MaxInt64},
		{"two equal", []m3{{eq, "service_name", "app-7"}, {eq, "container", "app"}}, math.MinInt64, math.MaxInt64},
		{"equal one hour", []m3{{eq, "service_name", "app-7"}}, day + 3*3600e9, day + 4*3600e9},
		{"regexp set", []m3{{re, "service_name", "app-7|app-8|app-9"}}, math.MinInt64, math.MaxInt64},
		{"regexp prefix", []m3{{re, "service_name", "app-1.*"}}, math.MinInt64, math.MaxInt64},
		{"equal and not regexp", []m3{{eq, "namespace", "ns-3"}, {nre, "pod", ".*-1.*"}}, math.MinInt64, math.MaxInt64},
		{"broad", []m3{{eq, "cluster", "eu-west-1"}}, math.MinInt64, math.MaxInt64},
		{"not equal only", []m3{{neq, "cluster", "eu-west-1"}}, math.MinInt64, math.MaxInt64},
	} {
		ms := matchers(b, bc.ms)
		var n, chunks int
		fn := func(_ labels.Labels, _ uint64, refs []ChunkRef) error { n++; chunks += len(refs); return nil }
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n, chunks = 0, 0
				if err := r.Series(ms, bc.from, bc.through, fn); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "series/op")
			b.ReportMetric(float64(chunks), "chunks/op")
		})
	}
}

func BenchmarkLabelValues(b *testing.B) {
	r, err := Decode(encode(b, benchWriter(benchSeries(10000))))
	if err != nil {
		b.Fatal(err)
	}
	ms := matchers(b, []m3{{eq, "namespace", "ns-3"}})
	for _, bc := range []struct {
		name string
		ms   []*labels.Matcher
	}{{"all", nil}, {"selector", ms}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.LabelValues("pod", bc.ms, math.MinInt64, math.MaxInt64); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFingerprint(b *testing.B) {
	lbls := benchSeries(1)[0].lbls
	b.SetBytes(int64(len(lbls.String())))
	b.ReportAllocs()
	for b.Loop() {
		Fingerprint(lbls)
	}
}
