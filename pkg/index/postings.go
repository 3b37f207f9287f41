package index

import (
	"math/bits"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// selectSeries returns the sorted ids of the series that match every
// matcher, with Prometheus semantics: a series without the matcher's label
// is matched as if it had the empty value. The result may alias the Reader's
// postings and must not be modified.
//
// Evaluation narrows a candidate list in three steps: equality matchers with
// a non-empty value intersect their postings lists; other matchers that do
// not match "" intersect the union of the postings of the values they match;
// matchers that match "" subtract the union of the values they reject. When
// the candidates are fewer than the values of a matcher's label, the
// matcher is instead applied to each candidate's own value.
func (r *Reader) selectSeries(ms []*labels.Matcher) []uint32 {
	var (
		cand  []uint32
		have  bool // cand is set; otherwise every series is a candidate
		owned bool // cand was allocated here and may be modified in place
	)
	for _, m := range ms {
		if m == nil || m.Type != labels.MatchEqual || m.Value == "" {
			continue
		}
		p := r.postings(m.Name, m.Value)
		if !have {
			cand, have = p, true
		} else {
			cand, owned = intersect(cand, owned, p)
		}
		if len(cand) == 0 {
			return nil
		}
	}
	for _, m := range ms {
		if m == nil || (m.Type == labels.MatchEqual && m.Value != "") || m.Matches("") {
			continue
		}
		ln := r.lookupName(m.Name)
		if ln == nil {
			return nil // every series has "" here, which m rejects
		}
		switch {
		case have && len(cand) <= len(ln.values):
			cand, owned = r.filter(cand, owned, m)
		case have:
			p, _ := r.union(ln, m, true)
			cand, owned = intersect(cand, owned, p)
		default:
			cand, owned = r.union(ln, m, true)
			have = true
		}
		if len(cand) == 0 {
			return nil
		}
	}
	if !have {
		cand = r.all
	}
	for _, m := range ms {
		if m == nil || !m.Matches("") {
			continue
		}
		ln := r.lookupName(m.Name)
		if ln == nil {
			continue // every series has "" here, which m accepts
		}
		if len(cand) <= len(ln.values) {
			cand, owned = r.filter(cand, owned, m)
		} else {
			p, _ := r.union(ln, m, false)
			cand, owned = subtract(cand, owned, p)
		}
		if len(cand) == 0 {
			return nil
		}
	}
	return cand
}

// lookupName returns the postings of a label name, or nil.
func (r *Reader) lookupName(name string) *labelName {
	i, ok := slices.BinarySearchFunc(r.names, name, func(ln labelName, name string) int {
		return strings.Compare(ln.name, name)
	})
	if !ok {
		return nil
	}
	return &r.names[i]
}

// lookupValue returns the index of value among ln's values, or -1.
func (ln *labelName) lookupValue(value string) int {
	i, ok := slices.BinarySearchFunc(ln.values, value, func(lv labelValue, v string) int {
		return strings.Compare(lv.value, v)
	})
	if !ok {
		return -1
	}
	return i
}

// postings returns the ids of the series carrying name=value.
func (r *Reader) postings(name, value string) []uint32 {
	ln := r.lookupName(name)
	if ln == nil {
		return nil
	}
	if i := ln.lookupValue(value); i >= 0 {
		return ln.values[i].ids
	}
	return nil
}

// filter keeps the candidates whose value of m's label m matches.
func (r *Reader) filter(cand []uint32, owned bool, m *labels.Matcher) ([]uint32, bool) {
	out := cand[:0]
	if !owned {
		out = make([]uint32, 0, len(cand))
	}
	for _, id := range cand {
		if m.Matches(r.series[id].lbls.Get(m.Name)) {
			out = append(out, id)
		}
	}
	return out, true
}

// union returns the sorted ids of the series whose value of ln is one for
// which m.Matches returns want. The bool reports whether the result was
// allocated (rather than aliasing a postings list).
func (r *Reader) union(ln *labelName, m *labels.Matcher, want bool) ([]uint32, bool) {
	var u unioner
	switch {
	case m.Type == labels.MatchEqual || m.Type == labels.MatchNotEqual:
		// Exactly one value is (not) equal: look it up instead of scanning.
		i := ln.lookupValue(m.Value)
		if (m.Type == labels.MatchEqual) == want {
			if i >= 0 {
				return ln.values[i].ids, false
			}
			return nil, false
		}
		for j := range ln.values {
			if j != i {
				u.add(ln.values[j].ids, len(r.series))
			}
		}
	case (m.Type == labels.MatchRegexp) == want && m.SetMatches() != nil:
		// The regexp is a set of literals, e.g. "a|b": look each one up.
		for _, v := range m.SetMatches() {
			if i := ln.lookupValue(v); i >= 0 {
				u.add(ln.values[i].ids, len(r.series))
			}
		}
	default:
		for j := range ln.values {
			if m.Matches(ln.values[j].value) == want {
				u.add(ln.values[j].ids, len(r.series))
			}
		}
	}
	return u.result()
}

// unioner accumulates postings lists of distinct values of one label name.
// Such lists are disjoint (a series has one value per name), so the size of
// the union is the sum of the sizes.
type unioner struct {
	first []uint32
	set   bitset
	lists int
	total int
}

func (u *unioner) add(ids []uint32, n int) {
	u.lists++
	u.total += len(ids)
	switch u.lists {
	case 1:
		u.first = ids
		return
	case 2:
		u.set = newBitset(n)
		u.set.addAll(u.first)
	}
	u.set.addAll(ids)
}

func (u *unioner) result() ([]uint32, bool) {
	if u.lists <= 1 {
		return u.first, false
	}
	return u.set.appendTo(make([]uint32, 0, u.total)), true
}

// intersect returns the ids in both a and b, reusing a when it is owned.
// When one list is much shorter, its ids are looked up in the other by
// binary search instead of walking both.
func intersect(a []uint32, owned bool, b []uint32) ([]uint32, bool) {
	out := a[:0]
	if !owned {
		out = make([]uint32, 0, min(len(a), len(b)))
	}
	switch {
	case len(a)*16 < len(b):
		for _, id := range a {
			i, found := slices.BinarySearch(b, id)
			if found {
				out = append(out, id)
			}
			b = b[i:]
		}
	case len(b)*16 < len(a):
		// Writing into a while searching it is safe: out never passes the
		// read position.
		rest := a
		for _, id := range b {
			i, found := slices.BinarySearch(rest, id)
			if found {
				out = append(out, id)
			}
			rest = rest[i:]
		}
	default:
		i, j := 0, 0
		for i < len(a) && j < len(b) {
			switch {
			case a[i] < b[j]:
				i++
			case a[i] > b[j]:
				j++
			default:
				out = append(out, a[i])
				i++
				j++
			}
		}
	}
	return out, true
}

// subtract returns the ids in a but not in b, reusing a when it is owned.
func subtract(a []uint32, owned bool, b []uint32) ([]uint32, bool) {
	if len(b) == 0 {
		return a, owned
	}
	out := a[:0]
	if !owned {
		out = make([]uint32, 0, len(a))
	}
	j := 0
	for _, id := range a {
		for j < len(b) && b[j] < id {
			j++
		}
		if j < len(b) && b[j] == id {
			continue
		}
		out = append(out, id)
	}
	return out, true
}

// bitset is a set of series ids.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (s bitset) add(id uint32)      { s[id/64] |= 1 << (id % 64) }
func (s bitset) has(id uint32) bool { return s[id/64]&(1<<(id%64)) != 0 }

func (s bitset) addAll(ids []uint32) {
	for _, id := range ids {
		s.add(id)
	}
}

// appendTo appends the ids in the set to dst in increasing order.
func (s bitset) appendTo(dst []uint32) []uint32 {
	for i, w := range s {
		for w != 0 {
			dst = append(dst, uint32(i*64+bits.TrailingZeros64(w)))
			w &= w - 1
		}
	}
	return dst
}
