package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

var (
	randNames  = []string{"app", "cluster", "env", "job", "namespace", "pod"}
	randValues = []string{"a", "ab", "b", "ba", "c", "dev", "prod", "x1", "x2", "x10"}
)

// randomSeries returns n distinct series with random labels and refs.
func randomSeries(rng *rand.Rand, n int) []testSeries {
	seen := map[string]bool{}
	var out []testSeries
	for len(out) < n {
		b := labels.NewScratchBuilder(len(randNames))
		for _, name := range randNames {
			if rng.IntN(3) == 0 {
				continue
			}
			v := randValues[rng.IntN(len(randValues))]
			if name == "pod" { // a high-cardinality label
				v = fmt.Sprintf("pod-%d", rng.IntN(n))
			}
			b.Add(name, v)
		}
		lbls := b.Labels()
		if lbls.IsEmpty() || seen[lbls.String()] {
			continue
		}
		seen[lbls.String()] = true
		refs := make([]ChunkRef, 1+rng.IntN(4))
		for i := range refs {
			from := rng.Int64N(1000)
			refs[i] = ref(from, from+rng.Int64N(200))
		}
		out = append(out, testSeries{lbls, refs})
	}
	return out
}

func randomMatcher(t testing.TB, rng *rand.Rand) *labels.Matcher {
	name := randNames[rng.IntN(len(randNames))]
	if rng.IntN(10) == 0 {
		name = "missing"
	}
	typ := labels.MatchType(rng.IntN(4))
	var value string
	switch rng.IntN(6) {
	case 0:
		value = ""
	case 1:
		value = randValues[rng.IntN(len(randValues))] + "|" + randValues[rng.IntN(len(randValues))]
	case 2:
		value = []string{".*", ".+", "a.*", "x.", "(?i)DEV", "pod-1.*", "b|"}[rng.IntN(7)]
	default:
		value = randValues[rng.IntN(len(randValues))]
	}
	if typ == labels.MatchEqual || typ == labels.MatchNotEqual {
		value = []string{"", "a", "prod", "pod-3", "x10", "zz"}[rng.IntN(6)]
	}
	return matcher(t, typ, name, value)
}

// TestRandomAgainstBruteForce compares every query with a scan of the
// series as they were written.
func TestRandomAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 20 {
		series := randomSeries(rng, 1+rng.IntN(300))
		r := build(t, series...)
		slices.SortFunc(series, func(a, b testSeries) int { return labels.Compare(a.lbls, b.lbls) })
		for q := range 50 {
			ms := make([]*labels.Matcher, rng.IntN(4))
			for i := range ms {
				ms[i] = randomMatcher(t, rng)
			}
			from := rng.Int64N(1300) - 100
			through := from + rng.Int64N(400) - 20
			if q%10 == 0 {
				from, through = math.MinInt64, math.MaxInt64
			}
			ctx := fmt.Sprintf("round %d query %d: %v [%d, %d)", round, q, ms, from, through)

			var want []seriesResult
			nameSet, valueSet := map[string]bool{}, map[string]bool{}
			var wantStats Stats
			for _, s := range series {
				if !matchesAll(ms, s.lbls) {
					continue
				}
				var refs []ChunkRef
				for _, c := range s.refs {
					if c.From < through && c.Through >= from && from < through && !slices.Contains(refs, c) {
						refs = append(refs, c)
					}
				}
				if len(refs) == 0 {
					continue
				}
				slices.SortFunc(refs, compareRefs)
				want = append(want, seriesResult{s.lbls.String(), Fingerprint(s.lbls), refs})
				s.lbls.Range(func(l labels.Label) { nameSet[l.Name] = true })
				if v := s.lbls.Get("env"); v != "" {
					valueSet[v] = true
				}
				wantStats.Streams++
				wantStats.Chunks += uint64(len(refs))
			}
			got := collect(t, r, ms, from, through)
			if !slices.EqualFunc(got, want, func(a, b seriesResult) bool {
				return a.lbls == b.lbls && a.fp == b.fp && slices.Equal(a.refs, b.refs)
			}) {
				t.Fatalf("%s:\n got %v\nwant %v", ctx, got, want)
			}
			names, _ := r.LabelNames(ms, from, through)
			if want := sortedKeys(nameSet); !slices.Equal(names, want) {
				t.Fatalf("%s: names %q, want %q", ctx, names, want)
			}
			values, _ := r.LabelValues("env", ms, from, through)
			if want := sortedKeys(valueSet); !slices.Equal(values, want) {
				t.Fatalf("%s: env values %q, want %q", ctx, values, want)
			}
			st, _ := r.Stats(ms, from, through)
			if st.Streams != wantStats.Streams || st.Chunks != wantStats.Chunks {
				t.Fatalf("%s: stats %+v, want %+v", ctx, st, wantStats)
			}
		}
	}
}

func matchesAll(ms []*labels.Matcher, lbls labels.Labels) bool {
	for _, m := range ms {
		if !m.Matches(lbls.Get(m.Name)) {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
