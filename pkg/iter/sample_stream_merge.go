package iter

import (
	"github.com/prometheus/prometheus/model/labels"
)

// MoreParts is asked for another part of a stream before each sample a
// stream merge yields: minTS is the time of the earliest sample it holds,
// and empty says it holds none (minTS is then meaningless). It returns nil
// when no further part may hold a sample at or before minTS (or, when
// empty, when there is none left); a part it returns is merged from then
// on. The store opens a stream's chunks this way, one at a time.
type MoreParts func(minTS int64, empty bool) (StreamSampleIterator, error)

// mergePart is one input of a streamMerge with the time of its current
// sample.
type mergePart struct {
	it   StreamSampleIterator
	ts   int64
	rank int // order of arrival: breaks ties
}

// tieSample is a sample of a group of samples at one time that came from
// several parts, kept while the group is yielded.
type tieSample struct {
	ts   int64
	v    float64
	s    *Series
	hash uint64
}

// streamMerge merges the parts of one stream (chunks, sources) in time
// order and drops replicas. Entry hashes are computed only where two
// parts hold samples at one time: a replica has the time of its original.
type streamMerge struct {
	h       []*mergePart // min-heap by (ts, rank)
	more    MoreParts
	nparts  int
	started bool
	err     error

	top  *mergePart // yielded last, advanced by the next Next
	tie  []tieSample
	ti   int // index in tie of the sample yielded, when tie is not empty
	done bool
}

// NewStreamMerge merges parts, each one stream's samples oldest first
// (the same stream), into one iterator, asking more (when not nil) for
// further parts as it goes. Samples at one time are yielded in the order
// of the parts; a sample whose time, series and entry hash equal those of
// one already yielded from another part is a replica and dropped. A
// single part without more is returned as it is.
func NewStreamMerge(parts []StreamSampleIterator, more MoreParts) StreamSampleIterator {
	if len(parts) == 1 && more == nil {
		return parts[0]
	}
	m := &streamMerge{more: more, h: make([]*mergePart, 0, len(parts))}
	for _, p := range parts {
		m.h = append(m.h, &mergePart{it: p, rank: m.nparts})
		m.nparts++
	}
	return m
}

func (m *streamMerge) start() {
	m.started = true
	live := m.h[:0]
	for _, p := range m.h {
		if m.prime(p) {
			live = append(live, p)
		}
	}
	clear(m.h[len(live):])
	m.h = live
	for i := len(m.h)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
}

// prime loads p's first sample, closing p when it has none.
func (m *streamMerge) prime(p *mergePart) bool {
	if p.it.Next() {
		p.ts, _, _ = p.it.Sample()
		return true
	}
	m.keepErr(p.it)
	_ = p.it.Close()
	return false
}

func (m *streamMerge) keepErr(it StreamSampleIterator) {
	if err := it.Err(); err != nil && m.err == nil {
		m.err = err
	}
}

// advanceTop moves the part at the root of the heap to its next sample.
func (m *streamMerge) advanceTop() {
	p := m.h[0]
	if p.it.Next() {
		p.ts, _, _ = p.it.Sample()
	} else {
		m.keepErr(p.it)
		_ = p.it.Close()
		last := len(m.h) - 1
		m.h[0] = m.h[last]
		m.h[last] = nil
		m.h = m.h[:last]
	}
	if len(m.h) > 1 {
		m.down(0)
	}
}

// openMore adds the parts more has for the current earliest time.
func (m *streamMerge) openMore() {
	for m.more != nil && m.err == nil {
		var minTS int64
		if len(m.h) > 0 {
			minTS = m.h[0].ts
		}
		it, err := m.more(minTS, len(m.h) == 0)
		if err != nil {
			m.err = err
			return
		}
		if it == nil {
			return
		}
		p := &mergePart{it: it, rank: m.nparts}
		m.nparts++
		if m.prime(p) {
			m.h = append(m.h, p)
			m.up(len(m.h) - 1)
		}
	}
}

func (m *streamMerge) Next() bool {
	if m.done {
		return false
	}
	if !m.started {
		m.start()
	}
	if len(m.tie) > 0 {
		if m.ti+1 < len(m.tie) {
			m.ti++
			return true
		}
		m.tie = m.tie[:0]
	}
	if m.top != nil {
		m.top = nil
		m.advanceTop()
	}
	m.openMore()
	if m.err != nil || len(m.h) == 0 {
		m.done = true
		return false
	}
	top := m.h[0]
	if !m.tied(top.ts) {
		m.top = top
		return true
	}
	// Several parts hold samples at this time: gather them all, in the
	// order of the parts, dropping replicas.
	ts := top.ts
	for len(m.h) > 0 && m.h[0].ts == ts {
		p := m.h[0]
		_, v, s := p.it.Sample()
		h := p.it.EntryHash()
		if !m.seen(h, s) {
			m.tie = append(m.tie, tieSample{ts: ts, v: v, s: s, hash: h})
		}
		m.advanceTop()
	}
	m.ti = 0
	return true
}

// tied reports whether a part other than the root holds a sample at ts
// (the root's time): the root's children are the next earliest.
func (m *streamMerge) tied(ts int64) bool {
	return len(m.h) > 1 && m.h[1].ts == ts || len(m.h) > 2 && m.h[2].ts == ts
}

func (m *streamMerge) seen(h uint64, s *Series) bool {
	for i := range m.tie {
		if m.tie[i].hash == h && (m.tie[i].s == s || labels.Equal(m.tie[i].s.Labels, s.Labels)) {
			return true
		}
	}
	return false
}

func (m *streamMerge) Sample() (int64, float64, *Series) {
	if len(m.tie) > 0 {
		t := &m.tie[m.ti]
		return t.ts, t.v, t.s
	}
	return m.top.it.Sample()
}

func (m *streamMerge) EntryHash() uint64 {
	if len(m.tie) > 0 {
		return m.tie[m.ti].hash
	}
	return m.top.it.EntryHash()
}

func (m *streamMerge) Err() error { return m.err }

func (m *streamMerge) Close() error {
	for _, p := range m.h {
		_ = p.it.Close()
	}
	m.h, m.top, m.done = nil, nil, true
	return nil
}

func (m *streamMerge) less(i, j int) bool {
	a, b := m.h[i], m.h[j]
	if a.ts != b.ts {
		return a.ts < b.ts
	}
	return a.rank < b.rank
}

func (m *streamMerge) down(i int) {
	n := len(m.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && m.less(r, l) {
			j = r
		}
		if !m.less(j, i) {
			return
		}
		m.h[i], m.h[j] = m.h[j], m.h[i]
		i = j
	}
}

func (m *streamMerge) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !m.less(i, parent) {
			return
		}
		m.h[i], m.h[parent] = m.h[parent], m.h[i]
		i = parent
	}
}
