package index

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSetOperations(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	randList := func(n, max int) []uint32 {
		set := map[uint32]bool{}
		for len(set) < n {
			set[uint32(rng.IntN(max))] = true
		}
		out := make([]uint32, 0, n)
		for id := range set {
			out = append(out, id)
		}
		slices.Sort(out)
		return out
	}
	for _, sizes := range [][2]int{{0, 0}, {0, 10}, {10, 0}, {5, 5}, {3, 500}, {500, 3}, {100, 120}, {1, 1000}, {1000, 1}} {
		for _, owned := range []bool{false, true} {
			a, b := randList(sizes[0], 2000), randList(sizes[1], 2000)
			var wantAnd, wantNot []uint32
			for _, id := range a {
				if slices.Contains(b, id) {
					wantAnd = append(wantAnd, id)
				} else {
					wantNot = append(wantNot, id)
				}
			}
			in := slices.Clone(a)
			got, _ := intersect(in, owned, b)
			if !slices.Equal(got, wantAnd) && (len(got) > 0 || len(wantAnd) > 0) {
				t.Errorf("intersect %v (owned %v): got %v, want %v", sizes, owned, got, wantAnd)
			}
			if !owned && !slices.Equal(in, a) {
				t.Errorf("intersect %v modified an input it does not own", sizes)
			}
			in = slices.Clone(a)
			got, _ = subtract(in, owned, b)
			if !slices.Equal(got, wantNot) && (len(got) > 0 || len(wantNot) > 0) {
				t.Errorf("subtract %v (owned %v): got %v, want %v", sizes, owned, got, wantNot)
			}
			if !owned && !slices.Equal(in, a) {
				t.Errorf("subtract %v modified an input it does not own", sizes)
			}
		}
	}
}

func TestBitset(t *testing.T) {
	s := newBitset(130)
	ids := []uint32{0, 1, 63, 64, 127, 128, 129}
	s.addAll([]uint32{129, 0, 64, 1, 128, 63, 127, 64})
	if got := s.appendTo(nil); !slices.Equal(got, ids) {
		t.Fatalf("got %v, want %v", got, ids)
	}
	for id := range uint32(130) {
		if s.has(id) != slices.Contains(ids, id) {
			t.Errorf("has(%d) = %v", id, s.has(id))
		}
	}
}
