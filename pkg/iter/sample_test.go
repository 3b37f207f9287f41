package iter

import (
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

type seriesDef struct {
	lbls labels.Labels
	hash uint64
}

func mkSeries(s string) seriesDef {
	l := labels.FromStrings("s", s)
	return seriesDef{lbls: l, hash: l.Hash()}
}

func mkSamples(sd seriesDef, pts ...[3]int64) []SeriesSample {
	out := make([]SeriesSample, len(pts))
	for i, p := range pts {
		out[i] = SeriesSample{Sample: Sample{Timestamp: p[0], Value: float64(p[1]), Hash: uint64(p[2])}, Labels: sd.lbls, Hash: sd.hash}
	}
	return out
}

func drainSamples(t *testing.T, it SampleIterator) []string {
	t.Helper()
	var out []string
	for it.Next() {
		s := it.At()
		out = append(out, fmt.Sprintf("%d %s %g", s.Timestamp, it.Labels().Get("s"), s.Value))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSampleMerge(t *testing.T) {
	a, b := mkSeries("a"), mkSeries("b")
	tests := []struct {
		name   string
		inputs [][]SeriesSample
		want   []string
	}{
		{
			name:   "none",
			inputs: nil,
			want:   nil,
		},
		{
			name:   "single input passes through",
			inputs: [][]SeriesSample{mkSamples(a, [3]int64{1, 1, 1}, [3]int64{1, 2, 2})},
			want:   []string{"1 a 1", "1 a 2"},
		},
		{
			name: "interleaves by time then series",
			inputs: [][]SeriesSample{
				mkSamples(b, [3]int64{1, 10, 1}, [3]int64{3, 30, 3}),
				mkSamples(a, [3]int64{1, 11, 1}, [3]int64{2, 21, 2}),
			},
			want: []string{"1 a 11", "1 b 10", "2 a 21", "3 b 30"},
		},
		{
			name: "drops replicas of one entry",
			inputs: [][]SeriesSample{
				mkSamples(a, [3]int64{1, 1, 7}, [3]int64{2, 1, 8}),
				mkSamples(a, [3]int64{1, 1, 7}, [3]int64{2, 1, 9}),
				mkSamples(a, [3]int64{1, 1, 7}),
			},
			want: []string{"1 a 1", "2 a 1", "2 a 1"},
		},
		{
			name: "same entry hash in two series is kept",
			inputs: [][]SeriesSample{
				mkSamples(a, [3]int64{5, 1, 7}),
				mkSamples(b, [3]int64{5, 2, 7}),
			},
			want: []string{"5 a 1", "5 b 2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			its := make([]SampleIterator, len(tt.inputs))
			for i, in := range tt.inputs {
				its[i] = NewSampleSliceIterator(in)
			}
			got := drainSamples(t, NewSampleMergeIterator(its))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

type failing struct {
	SampleIterator
	err    error
	closed bool
}

func (f *failing) Next() bool {
	if f.SampleIterator.Next() {
		return true
	}
	return false
}
func (f *failing) Err() error   { return f.err }
func (f *failing) Close() error { f.closed = true; return nil }

func TestSampleMergeError(t *testing.T) {
	boom := errors.New("boom")
	a := mkSeries("a")
	bad := &failing{SampleIterator: NewSampleSliceIterator(mkSamples(a, [3]int64{1, 1, 1})), err: boom}
	good := &failing{SampleIterator: NewSampleSliceIterator(mkSamples(a, [3]int64{2, 1, 2}, [3]int64{3, 1, 3}))}
	m := NewSampleMergeIterator([]SampleIterator{bad, good})
	n := 0
	for m.Next() {
		n++
	}
	if !errors.Is(m.Err(), boom) {
		t.Fatalf("err = %v, want boom", m.Err())
	}
	if n > 1 {
		t.Fatalf("iterated %d samples after the error", n)
	}
	_ = m.Close()
	if !bad.closed || !good.closed {
		t.Fatal("inputs not closed")
	}
}

func BenchmarkSampleMerge(b *testing.B) {
	const streams, per = 16, 4096
	inputs := make([][]SeriesSample, streams)
	for s := range inputs {
		sd := mkSeries(fmt.Sprint(s))
		for i := 0; i < per; i++ {
			inputs[s] = append(inputs[s], SeriesSample{Sample: Sample{Timestamp: int64(i*streams + s), Value: 1, Hash: uint64(i)}, Labels: sd.lbls, Hash: sd.hash})
		}
	}
	b.ReportAllocs()
	b.SetBytes(streams * per * 24)
	for b.Loop() {
		its := make([]SampleIterator, streams)
		for i := range its {
			its[i] = NewSampleSliceIterator(inputs[i])
		}
		m := NewSampleMergeIterator(its)
		n := 0
		for m.Next() {
			n++
		}
		if n != streams*per {
			b.Fatalf("got %d samples", n)
		}
	}
}
