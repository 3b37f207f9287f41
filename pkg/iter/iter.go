// Package iter holds the iterators the read path is built from: entries of
// many streams in time order, merged from several sources (ingesters, store
// chunks) with exact duplicates dropped.
package iter

import (
	"container/heap"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
)

// EntryIterator yields entries in the order of its direction. Labels are the
// entry's result-stream labels; StreamHash identifies them.
type EntryIterator interface {
	Next() bool
	At() logproto.Entry
	Labels() labels.Labels
	StreamHash() uint64
	Err() error
	Close() error
}

// StreamEntry is one entry with its stream, for slice-backed iterators.
type StreamEntry struct {
	logproto.Entry
	Labels labels.Labels
	Hash   uint64
}

// sliceIterator iterates over entries already in order.
type sliceIterator struct {
	entries []StreamEntry
	i       int
}

// NewSliceIterator returns an iterator over entries, which must already be in
// the order of the direction the consumer expects.
func NewSliceIterator(entries []StreamEntry) EntryIterator {
	return &sliceIterator{entries: entries, i: -1}
}

func (s *sliceIterator) Next() bool {
	s.i++
	return s.i < len(s.entries)
}
func (s *sliceIterator) At() logproto.Entry    { return s.entries[s.i].Entry }
func (s *sliceIterator) Labels() labels.Labels { return s.entries[s.i].Labels }
func (s *sliceIterator) StreamHash() uint64    { return s.entries[s.i].Hash }
func (s *sliceIterator) Err() error            { return nil }
func (s *sliceIterator) Close() error          { return nil }

// Empty is an iterator with no entries.
var Empty EntryIterator = &sliceIterator{i: -1}

// mergeIterator merges iterators that are each in direction order, dropping
// exact duplicates: entries of the same stream with the same timestamp, line
// and structured metadata, wherever they come from.
type mergeIterator struct {
	h       iterHeap
	started bool
	err     error

	// buf holds the entries of the current (timestamp, stream) group, already
	// deduplicated; cur indexes the one At returns.
	buf []StreamEntry
	cur int
}

// NewMergeIterator merges its, each ordered by dir, into one iterator ordered
// by dir. Entries with equal timestamps are ordered by stream labels, then by
// the order of its.
func NewMergeIterator(its []EntryIterator, dir logproto.Direction) EntryIterator {
	m := &mergeIterator{h: iterHeap{dir: dir, its: make([]EntryIterator, 0, len(its))}, cur: -1}
	for _, it := range its {
		m.h.its = append(m.h.its, it)
	}
	return m
}

func (m *mergeIterator) start() {
	m.started = true
	live := m.h.its[:0]
	for _, it := range m.h.its {
		if it.Next() {
			live = append(live, it)
			continue
		}
		m.keepErr(it)
		_ = it.Close()
	}
	m.h.its = live
	heap.Init(&m.h)
}

func (m *mergeIterator) keepErr(it EntryIterator) {
	if err := it.Err(); err != nil && m.err == nil {
		m.err = err
	}
}

func (m *mergeIterator) Next() bool {
	if !m.started {
		m.start()
	}
	if m.cur+1 < len(m.buf) {
		m.cur++
		return true
	}
	m.buf, m.cur = m.buf[:0], 0
	if m.err != nil || len(m.h.its) == 0 {
		return false
	}
	top := m.h.its[0]
	ts, hash := top.At().Timestamp, top.StreamHash()
	lbls := top.Labels()
	// Gather every entry of this (timestamp, stream) from every iterator.
	for len(m.h.its) > 0 {
		it := m.h.its[0]
		e := it.At()
		if e.Timestamp != ts || it.StreamHash() != hash || !labels.Equal(it.Labels(), lbls) {
			break
		}
		if !containsEntry(m.buf, &e) {
			m.buf = append(m.buf, StreamEntry{Entry: e, Labels: lbls, Hash: hash})
		}
		if it.Next() {
			heap.Fix(&m.h, 0)
			continue
		}
		m.keepErr(it)
		_ = it.Close()
		heap.Pop(&m.h)
	}
	return len(m.buf) > 0 && m.err == nil
}

func containsEntry(buf []StreamEntry, e *logproto.Entry) bool {
	for i := range buf {
		if buf[i].Line == e.Line && slices.Equal(buf[i].StructuredMetadata, e.StructuredMetadata) {
			return true
		}
	}
	return false
}

func (m *mergeIterator) At() logproto.Entry    { return m.buf[m.cur].Entry }
func (m *mergeIterator) Labels() labels.Labels { return m.buf[m.cur].Labels }
func (m *mergeIterator) StreamHash() uint64    { return m.buf[m.cur].Hash }
func (m *mergeIterator) Err() error            { return m.err }

func (m *mergeIterator) Close() error {
	for _, it := range m.h.its {
		_ = it.Close()
	}
	m.h.its = nil
	return nil
}

// iterHeap orders iterators by their current entry.
type iterHeap struct {
	dir logproto.Direction
	its []EntryIterator
}

func (h *iterHeap) Len() int      { return len(h.its) }
func (h *iterHeap) Swap(i, j int) { h.its[i], h.its[j] = h.its[j], h.its[i] }
func (h *iterHeap) Push(x any)    { h.its = append(h.its, x.(EntryIterator)) }
func (h *iterHeap) Pop() any {
	n := len(h.its)
	x := h.its[n-1]
	h.its = h.its[:n-1]
	return x
}

func (h *iterHeap) Less(i, j int) bool {
	ti, tj := h.its[i].At().Timestamp, h.its[j].At().Timestamp
	if ti != tj {
		if h.dir == logproto.Forward {
			return ti < tj
		}
		return ti > tj
	}
	hi, hj := h.its[i].StreamHash(), h.its[j].StreamHash()
	if hi != hj {
		return labels.Compare(h.its[i].Labels(), h.its[j].Labels()) < 0
	}
	return false
}
