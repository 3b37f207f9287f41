package iter

import (
	"github.com/prometheus/prometheus/model/labels"
)

// sampleCursor is one input of a sampleMerge with its current sample, kept
// beside the iterator so the heap compares without interface calls.
type sampleCursor struct {
	it   SampleIterator
	s    Sample
	hash uint64
	lbls labels.Labels
	rank int // position in the inputs: breaks ties
}

func (c *sampleCursor) load() {
	c.s, c.hash, c.lbls = c.it.At(), c.it.StreamHash(), c.it.Labels()
}

// sampleMerge merges sample iterators that are each in timestamp order,
// dropping replicas: samples of the same series with the same timestamp and
// entry hash, wherever they come from.
type sampleMerge struct {
	h       sampleHeap
	started bool
	err     error

	// cur is the sample At returns; seen holds the entry hashes already
	// returned for the current (timestamp, series).
	cur       SeriesSample
	seen      []uint64
	seenTS    int64
	seenHash  uint64
	seenLbls  labels.Labels
	seenValid bool
}

// NewSampleMergeIterator merges its, each in timestamp order, into one
// iterator in timestamp order. Samples with equal timestamps are ordered by
// series labels, then by the order of its. A single input is returned as
// it is (it is not deduplicated against itself: a source never yields the
// same entry twice).
func NewSampleMergeIterator(its []SampleIterator) SampleIterator {
	switch len(its) {
	case 0:
		return EmptySamples
	case 1:
		return its[0]
	}
	m := &sampleMerge{}
	m.h.cs = make([]*sampleCursor, 0, len(its))
	for i, it := range its {
		m.h.cs = append(m.h.cs, &sampleCursor{it: it, rank: i})
	}
	return m
}

func (m *sampleMerge) start() {
	m.started = true
	live := m.h.cs[:0]
	for _, c := range m.h.cs {
		if c.it.Next() {
			c.load()
			live = append(live, c)
			continue
		}
		m.keepErr(c.it)
		_ = c.it.Close()
	}
	m.h.cs = live
	for i := len(live)/2 - 1; i >= 0; i-- {
		m.h.down(i)
	}
}

func (m *sampleMerge) keepErr(it SampleIterator) {
	if err := it.Err(); err != nil && m.err == nil {
		m.err = err
	}
}

func (m *sampleMerge) Next() bool {
	if !m.started {
		m.start()
	}
	for m.err == nil && len(m.h.cs) > 0 {
		c := m.h.cs[0]
		m.cur = SeriesSample{Sample: c.s, Labels: c.lbls, Hash: c.hash}
		if c.it.Next() {
			c.load()
		} else {
			m.keepErr(c.it)
			_ = c.it.Close()
			last := len(m.h.cs) - 1
			m.h.cs[0] = m.h.cs[last]
			m.h.cs = m.h.cs[:last]
		}
		m.h.down(0)
		if m.duplicate() {
			continue
		}
		return m.err == nil
	}
	return false
}

// duplicate reports whether the current sample repeats one already
// returned, and remembers it otherwise.
func (m *sampleMerge) duplicate() bool {
	s := &m.cur
	if !m.seenValid || s.Timestamp != m.seenTS || s.Hash != m.seenHash || !labels.Equal(s.Labels, m.seenLbls) {
		m.seenValid, m.seenTS, m.seenHash, m.seenLbls = true, s.Timestamp, s.Hash, s.Labels
		m.seen = append(m.seen[:0], s.Sample.Hash)
		return false
	}
	for _, h := range m.seen {
		if h == s.Sample.Hash {
			return true
		}
	}
	m.seen = append(m.seen, s.Sample.Hash)
	return false
}

func (m *sampleMerge) At() Sample            { return m.cur.Sample }
func (m *sampleMerge) Labels() labels.Labels { return m.cur.Labels }
func (m *sampleMerge) StreamHash() uint64    { return m.cur.Hash }
func (m *sampleMerge) Err() error            { return m.err }

func (m *sampleMerge) Close() error {
	for _, c := range m.h.cs {
		_ = c.it.Close()
	}
	m.h.cs = nil
	return nil
}

// sampleHeap is a binary min-heap of cursors ordered by timestamp, series
// and input rank, specialised to avoid container/heap's interface calls.
type sampleHeap struct {
	cs []*sampleCursor
}

// down restores the heap property below i.
func (h *sampleHeap) down(i int) {
	n := len(h.cs)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			return
		}
		h.cs[i], h.cs[j] = h.cs[j], h.cs[i]
		i = j
	}
}

func (h *sampleHeap) less(i, j int) bool {
	a, b := h.cs[i], h.cs[j]
	if a.s.Timestamp != b.s.Timestamp {
		return a.s.Timestamp < b.s.Timestamp
	}
	if a.hash != b.hash {
		if c := labels.Compare(a.lbls, b.lbls); c != 0 {
			return c < 0
		}
	}
	return a.rank < b.rank
}
