package index

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func encode(t testing.TB, w *Writer) []byte {
	t.Helper()
	b, err := w.Encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

func TestWriterDuplicates(t *testing.T) {
	a := labels.FromStrings("app", "a")
	b := labels.FromStrings("app", "b")

	w := NewWriter()
	w.Add(a, ref(10, 20), ref(0, 5))
	w.Add(b)                              // no refs: left out
	w.Add(a, ref(10, 20), ref(30, 40))    // repeats ref(10, 20)
	w.Add(a, ref(0, 5))                   // repeats ref(0, 5)
	w.Add(labels.FromStrings("app", "a")) // same series, no new refs
	if w.Len() != 2 {
		t.Fatalf("Len = %d, want 2", w.Len())
	}
	r, err := Decode(encode(t, w))
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, r, nil, math.MinInt64, math.MaxInt64)
	want := []ChunkRef{ref(0, 5), ref(10, 20), ref(30, 40)}
	if len(got) != 1 || got[0].lbls != a.String() || !slices.Equal(got[0].refs, want) {
		t.Fatalf("got %+v, want %s with %v", got, a, want)
	}

	// Same identity, different sizes: one ref survives, chosen by content.
	w = NewWriter()
	big := ChunkRef{From: 1, Through: 2, Checksum: 3, Entries: 9}
	small := ChunkRef{From: 1, Through: 2, Checksum: 3, Entries: 4}
	w.Add(a, big, small)
	r, err = Decode(encode(t, w))
	if err != nil {
		t.Fatal(err)
	}
	got = collect(t, r, nil, math.MinInt64, math.MaxInt64)
	if len(got) != 1 || !slices.Equal(got[0].refs, []ChunkRef{small}) {
		t.Fatalf("got %+v, want only %v", got, small)
	}
}

func TestWriterDropsEmptyValues(t *testing.T) {
	w := NewWriter()
	w.Add(labels.FromStrings("app", "a", "env", ""), ref(0, 1))
	w.Add(labels.FromStrings("app", "a"), ref(2, 3))
	r, err := Decode(encode(t, w))
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, r, nil, math.MinInt64, math.MaxInt64)
	if len(got) != 1 || got[0].lbls != `{app="a"}` || len(got[0].refs) != 2 {
		t.Fatalf("got %+v, want one series {app=\"a\"} with 2 refs", got)
	}
}

func TestWriterDeterministic(t *testing.T) {
	series := randomSeries(rand.New(rand.NewPCG(1, 2)), 200)
	var first []byte
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 99))
		w := NewWriter()
		// Add every ref on its own, in a random order.
		type add struct {
			lbls labels.Labels
			ref  ChunkRef
		}
		var adds []add
		for _, s := range series {
			for _, c := range s.refs {
				adds = append(adds, add{s.lbls, c}, add{s.lbls, c})
			}
		}
		rng.Shuffle(len(adds), func(i, j int) { adds[i], adds[j] = adds[j], adds[i] })
		for _, a := range adds {
			w.Add(a.lbls, a.ref)
		}
		b := encode(t, w)
		if first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Fatalf("order %d encodes differently", seed)
		}
	}
}

func TestWriterCollision(t *testing.T) {
	// Two label sets forced onto one fingerprint stay two series.
	w := NewWriter()
	a, b := labels.FromStrings("app", "a"), labels.FromStrings("app", "b")
	w.add(a, 42, []ChunkRef{ref(0, 1)})
	w.add(b, 42, []ChunkRef{ref(2, 3)})
	w.add(a, 42, []ChunkRef{ref(4, 5)})
	if w.Len() != 2 {
		t.Fatalf("Len = %d, want 2", w.Len())
	}
	var got []string
	for s := w.series[42]; s != nil; s = s.next {
		got = append(got, s.lbls.String())
		want := map[string]int{a.String(): 2, b.String(): 1}[s.lbls.String()]
		if len(s.refs) != want {
			t.Errorf("%s has %d refs, want %d", s.lbls, len(s.refs), want)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{a.String(), b.String()}) {
		t.Fatalf("series under fingerprint 42: %q", got)
	}
}

func TestWriterInvalid(t *testing.T) {
	unsorted := labels.NewScratchBuilder(2)
	unsorted.Add("b", "1")
	unsorted.Add("a", "2")
	repeated := labels.NewScratchBuilder(2)
	repeated.Add("a", "1")
	repeated.Add("a", "2")
	for _, tc := range []struct {
		name string
		lbls labels.Labels
		ref  ChunkRef
	}{
		{"unsorted names", unsorted.Labels(), ref(0, 1)},
		{"repeated name", repeated.Labels(), ref(0, 1)},
		{"ends before it starts", labels.FromStrings("a", "1"), ChunkRef{From: 10, Through: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWriter()
			w.Add(labels.FromStrings("ok", "1"), ref(0, 1))
			w.Add(tc.lbls, tc.ref)
			if _, err := w.Encode(); !errors.Is(err, ErrInvalidSeries) {
				t.Fatalf("err = %v, want ErrInvalidSeries", err)
			}
		})
	}
}

func TestEmptyIndex(t *testing.T) {
	r, err := Decode(encode(t, NewWriter()))
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Fatalf("Len = %d", r.Len())
	}
	if got := collect(t, r, nil, math.MinInt64, math.MaxInt64); got != nil {
		t.Fatalf("series %v", got)
	}
	if n, err := r.LabelNames(nil, math.MinInt64, math.MaxInt64); n != nil || err != nil {
		t.Fatalf("names %q, %v", n, err)
	}
	if from, through := r.Bounds(); from != 0 || through != 0 {
		t.Fatalf("bounds %d, %d", from, through)
	}
}

func TestMerge(t *testing.T) {
	a := labels.FromStrings("app", "a")
	b := labels.FromStrings("app", "b")
	c := labels.FromStrings("app", "c", "env", "x")
	r1 := build(t, testSeries{a, []ChunkRef{ref(0, 10), ref(20, 30)}}, testSeries{b, []ChunkRef{ref(5, 6)}})
	r2 := build(t, testSeries{a, []ChunkRef{ref(20, 30), ref(40, 50)}}, testSeries{c, []ChunkRef{ref(1, 2)}})
	r3 := build(t) // empty

	w, err := Merge(r1, r2, r3, nil)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := Decode(encode(t, w))
	if err != nil {
		t.Fatal(err)
	}
	want := build(t,
		testSeries{a, []ChunkRef{ref(0, 10), ref(20, 30), ref(40, 50)}},
		testSeries{b, []ChunkRef{ref(5, 6)}},
		testSeries{c, []ChunkRef{ref(1, 2)}},
	)
	if !equalReaders(merged, want) {
		t.Fatalf("merged index differs:\n got %+v\nwant %+v", dump(merged), dump(want))
	}
	if from, through := merged.Bounds(); from != 0 || through != 50 {
		t.Errorf("bounds [%d, %d], want [0, 50]", from, through)
	}

	// Merging is idempotent: merging the result with its inputs changes nothing.
	w, _ = Merge(merged, r1, r2)
	again, _ := Decode(encode(t, w))
	if !equalReaders(again, want) {
		t.Fatalf("second merge differs")
	}
}

// dump lists a reader's whole content.
func dump(r *Reader) []seriesResult {
	var out []seriesResult
	for i := range r.series {
		s := &r.series[i]
		out = append(out, seriesResult{s.lbls.String(), s.fp, s.refs})
	}
	return out
}

func equalReaders(a, b *Reader) bool {
	da, db := dump(a), dump(b)
	return slices.EqualFunc(da, db, func(x, y seriesResult) bool {
		return x.lbls == y.lbls && x.fp == y.fp && slices.Equal(x.refs, y.refs)
	})
}
