package index

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// Stats summarises the series and chunks that a selector finds in a time
// range, for Loki's /index/stats. Entries and Bytes (uncompressed line
// bytes) of a chunk that straddles the range are prorated by the fraction of
// its time span inside the range, as Loki does.
type Stats struct {
	Streams, Chunks, Entries, Bytes uint64
}

// Series calls fn for every series that matches all matchers (Prometheus
// semantics: a matcher on a label the series lacks sees "") and has at least
// one chunk ref overlapping [from, through) (see ChunkRef.Overlaps), in label
// set order. refs holds only the overlapping refs, in order; it is valid
// until fn returns and must not be modified. An error from fn stops the
// iteration and is returned as is. No matchers select every series.
func (r *Reader) Series(matchers []*labels.Matcher, from, through int64, fn func(lbls labels.Labels, fp uint64, refs []ChunkRef) error) error {
	if through <= from {
		return nil
	}
	var scratch []ChunkRef
	for _, id := range r.selectSeries(matchers) {
		s := &r.series[id]
		if !s.mayOverlap(from, through) {
			continue
		}
		var refs []ChunkRef
		refs, scratch = s.overlapping(from, through, scratch)
		if len(refs) == 0 {
			continue
		}
		if err := fn(s.lbls, s.fp, refs); err != nil {
			return err
		}
	}
	return nil
}

// LabelNames returns the sorted label names of the series that match all
// matchers and have a chunk ref overlapping [from, through).
func (r *Reader) LabelNames(matchers []*labels.Matcher, from, through int64) ([]string, error) {
	ids, all := r.selectInRange(matchers, from, through)
	if len(ids) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(r.names))
	if all {
		for i := range r.names {
			out = append(out, r.names[i].name)
		}
		return out, nil
	}
	if len(ids) < len(r.names) {
		// Few series: collect their names and sort.
		for _, id := range ids {
			r.series[id].lbls.Range(func(l labels.Label) { out = append(out, l.Name) })
		}
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	in := r.idSet(ids)
	for i := range r.names {
		if in.anyIn(r.names[i].values) {
			out = append(out, r.names[i].name)
		}
	}
	return out, nil
}

// LabelValues returns the sorted values of the label name over the series
// that match all matchers and have a chunk ref overlapping [from, through).
func (r *Reader) LabelValues(name string, matchers []*labels.Matcher, from, through int64) ([]string, error) {
	ln := r.lookupName(name)
	if ln == nil {
		return nil, nil
	}
	ids, all := r.selectInRange(matchers, from, through)
	if len(ids) == 0 {
		return nil, nil
	}
	var out []string
	switch {
	case all:
		out = make([]string, len(ln.values))
		for i := range ln.values {
			out[i] = ln.values[i].value
		}
	case len(ids) < len(ln.values):
		// Few series: read the value from each.
		out = make([]string, 0, len(ids))
		for _, id := range ids {
			if v := r.series[id].lbls.Get(name); v != "" {
				out = append(out, v)
			}
		}
		slices.Sort(out)
		out = slices.Compact(out)
	default:
		in := r.idSet(ids)
		for i := range ln.values {
			if in.anyIn(ln.values[i : i+1]) {
				out = append(out, ln.values[i].value)
			}
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// Stats returns the number of series, chunks, entries and bytes that match
// all matchers in [from, through); see the Stats type.
func (r *Reader) Stats(matchers []*labels.Matcher, from, through int64) (Stats, error) {
	var st Stats
	if through <= from {
		return st, nil
	}
	for _, id := range r.selectSeries(matchers) {
		s := &r.series[id]
		if !s.mayOverlap(from, through) {
			continue
		}
		var found bool
		for _, c := range s.refs {
			if c.From >= through {
				break
			}
			f := c.overlapFactor(from, through)
			if f == 0 {
				continue
			}
			found = true
			st.Chunks++
			st.Entries += uint64(float64(c.Entries) * f)
			st.Bytes += uint64(float64(c.UncompressedBytes) * f)
		}
		if found {
			st.Streams++
		}
	}
	return st, nil
}

// selectInRange returns the ids of the matching series with a ref in
// [from, through); all reports that this is every series of the index,
// which callers answer from the postings alone.
func (r *Reader) selectInRange(matchers []*labels.Matcher, from, through int64) (ids []uint32, all bool) {
	if through <= from || len(r.series) == 0 {
		return nil, false
	}
	cand := r.selectSeries(matchers)
	if len(cand) == len(r.series) && from <= r.minTime && through > r.maxTime {
		return cand, true
	}
	var out []uint32
	for i, id := range cand {
		if r.series[id].hasOverlap(from, through) {
			if out != nil {
				out = append(out, id)
			}
			continue
		}
		if out == nil { // first miss: copy the hits so far
			out = make([]uint32, i, len(cand))
			copy(out, cand[:i])
		}
	}
	if out == nil {
		return cand, len(cand) == len(r.series)
	}
	return out, false
}

// idSet returns the ids as a bitset.
func (r *Reader) idSet(ids []uint32) bitset {
	s := newBitset(len(r.series))
	s.addAll(ids)
	return s
}

// anyIn reports whether any series listed in values is in the set.
func (s bitset) anyIn(values []labelValue) bool {
	for i := range values {
		for _, id := range values[i].ids {
			if s.has(id) {
				return true
			}
		}
	}
	return false
}

// mayOverlap is a quick test on the series' time bounds; it can be true
// when a gap between refs covers the whole range.
func (s *series) mayOverlap(from, through int64) bool {
	return s.refs[0].From < through && s.maxThrough >= from
}

// hasOverlap reports whether any ref overlaps [from, through).
func (s *series) hasOverlap(from, through int64) bool {
	if through <= from || !s.mayOverlap(from, through) {
		return false
	}
	for _, c := range s.refs {
		if c.From >= through {
			return false
		}
		if c.Through >= from {
			return true
		}
	}
	return false
}

// overlapping returns the refs that overlap [from, through): a subslice of
// the series' refs when they are contiguous, else a copy in scratch (which is
// returned for reuse).
func (s *series) overlapping(from, through int64, scratch []ChunkRef) (refs, _ []ChunkRef) {
	end := len(s.refs)
	if s.refs[end-1].From >= through {
		end, _ = slices.BinarySearchFunc(s.refs, through, func(c ChunkRef, t int64) int {
			if c.From < t {
				return -1
			}
			return 1
		})
	}
	i := 0
	for i < end && s.refs[i].Through < from {
		i++
	}
	j := i
	for j < end && s.refs[j].Through >= from {
		j++
	}
	if j == end {
		return s.refs[i:end:end], scratch
	}
	scratch = append(scratch[:0], s.refs[i:j]...)
	for ; j < end; j++ {
		if s.refs[j].Through >= from {
			scratch = append(scratch, s.refs[j])
		}
	}
	return scratch, scratch
}
