package iter

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// streamPoint is one sample of a test stream: time, value, entry hash and
// series name.
type streamPoint struct {
	ts     int64
	v      float64
	hash   uint64
	series string
}

// sliceStream is a StreamSampleIterator over points, counting the entry
// hashes asked for and whether it was closed.
type sliceStream struct {
	pts    []streamPoint
	i      int
	series map[string]*Series
	hashes *int
	closed bool
	err    error
}

func newSliceStream(hashes *int, pts ...streamPoint) *sliceStream {
	s := &sliceStream{pts: pts, i: -1, series: map[string]*Series{}, hashes: hashes}
	for _, p := range pts {
		if s.series[p.series] == nil {
			l := labels.FromStrings("s", p.series)
			s.series[p.series] = &Series{Labels: l, Hash: l.Hash()}
		}
	}
	return s
}

func (s *sliceStream) Next() bool {
	s.i++
	return s.i < len(s.pts)
}

func (s *sliceStream) Sample() (int64, float64, *Series) {
	p := s.pts[s.i]
	return p.ts, p.v, s.series[p.series]
}

func (s *sliceStream) EntryHash() uint64 {
	if s.hashes != nil {
		*s.hashes++
	}
	return s.pts[s.i].hash
}

func (s *sliceStream) Err() error {
	if s.i >= len(s.pts) {
		return s.err
	}
	return nil
}

func (s *sliceStream) Close() error { s.closed = true; return nil }

// pts parses "ts:value:hash:series" points separated by spaces.
func pts(s string) []streamPoint {
	var out []streamPoint
	for _, f := range strings.Fields(s) {
		var p streamPoint
		parts := strings.Split(f, ":")
		if _, err := fmt.Sscan(parts[0], &p.ts); err != nil {
			panic(err)
		}
		if _, err := fmt.Sscan(parts[1], &p.v); err != nil {
			panic(err)
		}
		if _, err := fmt.Sscan(parts[2], &p.hash); err != nil {
			panic(err)
		}
		p.series = parts[3]
		out = append(out, p)
	}
	return out
}

// drainStream reads it to the end as "ts:value:hash:series" strings; the
// hash is left out (and not asked for) when withHash is false.
func drainStream(t *testing.T, it StreamSampleIterator, withHash bool) []string {
	t.Helper()
	var out []string
	for it.Next() {
		ts, v, s := it.Sample()
		if withHash {
			out = append(out, fmt.Sprintf("%d:%g:%d:%s", ts, v, it.EntryHash(), s.Labels.Get("s")))
		} else {
			out = append(out, fmt.Sprintf("%d:%g:%s", ts, v, s.Labels.Get("s")))
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStreamMerge(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  string
		// hashes is the number of entry hashes the merge computes.
		hashes int
	}{
		{name: "no parts", want: ""},
		{name: "one part as it is", parts: []string{"1:1:7:a 1:2:7:a"}, want: "1:1:7:a 1:2:7:a"},
		{
			name:  "interleaves by time, no hash without a tie",
			parts: []string{"1:1:1:a 4:4:4:a", "2:2:2:a 3:3:3:b"},
			want:  "1:1:1:a 2:2:2:a 3:3:3:b 4:4:4:a",
		},
		{
			name:   "drops replicas",
			parts:  []string{"1:1:1:a 2:2:2:a 3:3:3:a", "2:2:2:a 3:3:3:a", "3:3:3:a"},
			want:   "1:1:1:a 2:2:2:a 3:3:3:a",
			hashes: 5,
		},
		{
			name:   "keeps different entries at one time, in the order of the parts",
			parts:  []string{"1:1:1:a 1:2:2:a", "1:3:3:a 1:1:1:a"},
			want:   "1:1:1:a 1:2:2:a 1:3:3:a",
			hashes: 4,
		},
		{
			name:   "the same hash in another series is not a replica",
			parts:  []string{"1:1:5:a", "1:2:5:b"},
			want:   "1:1:5:a 1:2:5:b",
			hashes: 2,
		},
		{
			name:  "one part ends first",
			parts: []string{"5:5:5:a", "1:1:1:a 2:2:2:a 9:9:9:a"},
			want:  "1:1:1:a 2:2:2:a 5:5:5:a 9:9:9:a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hashes int
			var in []StreamSampleIterator
			var raw []*sliceStream
			for _, p := range tt.parts {
				s := newSliceStream(&hashes, pts(p)...)
				raw = append(raw, s)
				in = append(in, s)
			}
			got := drainStream(t, NewStreamMerge(in, nil), false)
			if hashes != tt.hashes {
				t.Errorf("computed %d entry hashes, want %d", hashes, tt.hashes)
			}
			want := tt.want
			if want != "" {
				var w []string
				for _, p := range pts(want) {
					w = append(w, fmt.Sprintf("%d:%g:%s", p.ts, p.v, p.series))
				}
				want = strings.Join(w, " ")
			}
			if strings.Join(got, " ") != want {
				t.Fatalf("got %v, want %s", got, want)
			}
			for i, s := range raw {
				if !s.closed {
					t.Errorf("part %d not closed", i)
				}
			}
		})
	}
}

func TestStreamMergeMoreParts(t *testing.T) {
	// Chunks that start at 1, 3 and 3: a chunk is opened only once its
	// start is not after the earliest sample open.
	chunks := []struct {
		from int64
		pts  string
	}{
		{1, "1:1:1:a 3:3:3:a 6:6:6:a"},
		{3, "3:3:3:a 4:4:4:a"},
		{5, "5:5:5:a 6:6:6:a"},
	}
	var (
		next   int
		asked  []string
		opened []*sliceStream
	)
	more := func(minTS int64, empty bool) (StreamSampleIterator, error) {
		asked = append(asked, fmt.Sprintf("%d/%v", minTS, empty))
		if next >= len(chunks) || !empty && chunks[next].from > minTS {
			return nil, nil
		}
		s := newSliceStream(nil, pts(chunks[next].pts)...)
		opened = append(opened, s)
		next++
		return s, nil
	}
	m := NewStreamMerge(nil, more)
	var got []string
	for m.Next() {
		ts, _, _ := m.Sample()
		got = append(got, fmt.Sprint(ts, "@", len(opened)))
	}
	if err := m.Err(); err != nil {
		t.Fatal(err)
	}
	_ = m.Close()
	// The replicas at 3 and 6 are dropped; the second chunk opens when 3
	// is next, the third when 5 is.
	if want := "[1@1 3@2 4@2 5@3 6@3]"; fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %s (asked %v)", got, want, asked)
	}
	for i, s := range opened {
		if !s.closed {
			t.Errorf("chunk %d not closed", i)
		}
	}

	// An error opening a part ends the merge with it.
	boom := errors.New("boom")
	m = NewStreamMerge([]StreamSampleIterator{newSliceStream(nil, pts("1:1:1:a 2:2:2:a")...)},
		func(minTS int64, empty bool) (StreamSampleIterator, error) {
			if minTS == 2 {
				return nil, boom
			}
			return nil, nil
		})
	n := 0
	for m.Next() {
		n++
	}
	if n != 1 || !errors.Is(m.Err(), boom) {
		t.Fatalf("%d samples, error %v", n, m.Err())
	}
}

func TestStreamMergePartError(t *testing.T) {
	boom := errors.New("boom")
	bad := newSliceStream(nil, pts("2:2:2:a")...)
	bad.err = boom
	m := NewStreamMerge([]StreamSampleIterator{newSliceStream(nil, pts("1:1:1:a 3:3:3:a")...), bad}, nil)
	for m.Next() {
	}
	if !errors.Is(m.Err(), boom) {
		t.Fatalf("error %v, want boom", m.Err())
	}
	_ = m.Close()
}

func TestSampleSet(t *testing.T) {
	la, lb := labels.FromStrings("app", "a"), labels.FromStrings("app", "b")
	part := func(l labels.Labels, fp uint64, p string) StreamSamples {
		return StreamSamples{Labels: l, Fingerprint: fp, It: newSliceStream(nil, pts(p)...)}
	}
	// b first; a in two parts with a replica; c shares a's fingerprint
	// but not its labels, so it is another stream.
	lc := labels.FromStrings("app", "c")
	mk := func() []StreamSamples {
		return []StreamSamples{
			part(lb, 2, "2:20:1:b"),
			part(la, 1, "1:10:1:a 3:30:3:a"),
			part(lc, 1, "3:40:9:c"),
			part(la, 1, "3:30:3:a 4:50:4:a"),
		}
	}

	streams := NewSampleSet(mk()).Streams()
	var got []string
	for _, s := range streams {
		got = append(got, strings.Join(drainStream(t, s, true), " "))
	}
	want := []string{"2:20:1:b", "1:10:1:a 3:30:3:a 4:50:4:a", "3:40:9:c"}
	if !slices.Equal(got, want) {
		t.Fatalf("streams %q, want %q", got, want)
	}

	// As a SampleIterator the set merges the streams by time.
	set := JoinSampleSets(NewSampleSet(mk()[:2]), NewSampleSet(mk()[2:]))
	got = got[:0]
	for set.Next() {
		got = append(got, fmt.Sprintf("%d:%g:%s", set.At().Timestamp, set.At().Value, set.Labels().Get("s")))
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	_ = set.Close()
	if want := "1:10:a 2:20:b 3:30:a 3:40:c 4:50:a"; strings.Join(got, " ") != want {
		t.Fatalf("merged %v, want %s", got, want)
	}

	// Closing an unread set closes its parts.
	parts := mk()
	if err := NewSampleSet(parts).Close(); err != nil {
		t.Fatal(err)
	}
	for i, p := range parts {
		if !p.It.(*sliceStream).closed {
			t.Errorf("part %d not closed", i)
		}
	}
}

// BenchmarkStreamMerge merges two parts of one stream of 100,000
// samples: apart in time (a stream's chunks), and replicas of each other
// (an ingester's and the store's copies).
func BenchmarkStreamMerge(b *testing.B) {
	const n = 100_000
	mk := func(from int64) []streamPoint {
		out := make([]streamPoint, n)
		for i := range out {
			out[i] = streamPoint{ts: from + int64(i), v: 1, hash: uint64(from + int64(i)), series: "a"}
		}
		return out
	}
	for _, c := range []struct {
		name string
		a, b int64
	}{{"apart", 0, n}, {"replicas", 0, 0}} {
		b.Run(c.name, func(b *testing.B) {
			pa, pb := mk(c.a), mk(c.b)
			b.ReportAllocs()
			b.SetBytes(int64(2 * n * 16))
			for b.Loop() {
				m := NewStreamMerge([]StreamSampleIterator{newSliceStream(nil, pa...), newSliceStream(nil, pb...)}, nil)
				k := 0
				for m.Next() {
					k++
				}
				if k == 0 {
					b.Fatal("no samples")
				}
			}
		})
	}
}
