package querier

import (
	"cmp"
	"hash/maphash"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
)

// Bounds of a tail's merge.
const (
	// tailMaxDropped is how many dropped entries are reported at once
	// (Loki's maxDroppedEntriesPerTailResponse).
	tailMaxDropped = 1000
	// tailMaxPending bounds the entries held for delay_for; entries that
	// come while it is full are dropped.
	tailMaxPending = 100_000
	// tailDedupeWindow is how long an entry is remembered to recognise its
	// copies from the other replicas (they come within the distributor's
	// push timeout) and from the history; tailMaxSeen bounds how many are
	// remembered, the oldest forgotten first.
	tailDedupeWindow = 30_000_000_000 // 30 s
	tailMaxSeen      = 1 << 18
)

// tailKey identifies an entry: its stream, timestamp, line and structured
// metadata.
type tailKey struct {
	ts     int64
	stream uint64
	entry  uint64
}

type seenAt struct {
	key tailKey
	at  int64
}

// tailMerger holds a tail's entries until they are due (delay_for after
// their timestamp), drops the copies of entries it has seen, and collects
// the dropped entries to report. Its methods are safe for concurrent use.
type tailMerger struct {
	delay      int64 // delay_for, ns
	window     int64 // see tailDedupeWindow
	maxSeen    int
	maxPending int
	seed       maphash.Seed

	mtx         sync.Mutex
	pending     entryHeap
	seen        map[tailKey]struct{}
	order       []seenAt // seen keys, oldest first from head
	head        int
	dropped     []iter.StreamEntry
	droppedKeys map[tailKey]struct{} // of dropped, to report each once
}

func newTailMerger(delay int64) *tailMerger {
	return &tailMerger{
		delay: delay, window: tailDedupeWindow + delay, maxSeen: tailMaxSeen, maxPending: tailMaxPending,
		seed: maphash.MakeSeed(), seen: map[tailKey]struct{}{}, droppedKeys: map[tailKey]struct{}{},
	}
}

// add takes entries that arrived at now (Unix ns), in any order, and
// entries a source dropped.
func (m *tailMerger) add(entries, dropped []iter.StreamEntry, now int64) {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	m.forget(now)
	for i := range entries {
		e := &entries[i]
		k := m.key(e)
		if _, ok := m.seen[k]; ok {
			continue
		}
		m.seen[k] = struct{}{}
		m.order = append(m.order, seenAt{key: k, at: now})
		if len(m.pending) >= m.maxPending {
			m.drop(e)
			continue
		}
		m.pending.push(*e)
	}
	for i := range dropped {
		m.drop(&dropped[i])
	}
}

// forget drops the keys seen before the window, and the oldest beyond
// maxSeen. m.mtx must be held.
func (m *tailMerger) forget(now int64) {
	for m.head < len(m.order) && (m.order[m.head].at < now-m.window || len(m.seen) > m.maxSeen) {
		delete(m.seen, m.order[m.head].key)
		m.order[m.head] = seenAt{}
		m.head++
	}
	if m.head > 1024 && m.head > len(m.order)/2 {
		n := copy(m.order, m.order[m.head:])
		m.order, m.head = m.order[:n], 0
	}
}

// drop records e as dropped: its labels, timestamp and metadata, once.
// m.mtx must be held.
func (m *tailMerger) drop(e *iter.StreamEntry) {
	if len(m.dropped) >= tailMaxDropped {
		return
	}
	k := tailKey{ts: e.Timestamp, stream: e.Labels.Hash(), entry: m.metadataHash(e.StructuredMetadata)}
	if _, ok := m.droppedKeys[k]; ok {
		return
	}
	m.droppedKeys[k] = struct{}{}
	m.dropped = append(m.dropped, iter.StreamEntry{
		Entry:  logproto.Entry{Timestamp: e.Timestamp, StructuredMetadata: e.StructuredMetadata, Parsed: e.Parsed},
		Labels: e.Labels, Hash: e.Hash,
	})
}

// due removes and returns, in time order, the entries whose time plus the
// delay has come at now.
func (m *tailMerger) due(now int64) []iter.StreamEntry {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	var out []iter.StreamEntry
	for len(m.pending) > 0 && m.pending[0].Timestamp <= now-m.delay {
		out = append(out, m.pending.pop())
	}
	return out
}

// next returns when the oldest held entry is due, if one is held.
func (m *tailMerger) next() (int64, bool) {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	if len(m.pending) == 0 {
		return 0, false
	}
	return m.pending[0].Timestamp + m.delay, true
}

// takeDropped returns the dropped entries not reported yet.
func (m *tailMerger) takeDropped() []iter.StreamEntry {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	d := m.dropped
	m.dropped = nil
	clear(m.droppedKeys)
	return d
}

func (m *tailMerger) key(e *iter.StreamEntry) tailKey {
	var h maphash.Hash
	h.SetSeed(m.seed)
	h.WriteString(e.Line)
	for _, l := range e.StructuredMetadata {
		h.WriteByte(0)
		h.WriteString(l.Name)
		h.WriteByte(0)
		h.WriteString(l.Value)
	}
	return tailKey{ts: e.Timestamp, stream: e.Labels.Hash(), entry: h.Sum64()}
}

func (m *tailMerger) metadataHash(sm []logproto.LabelAdapter) uint64 {
	var h maphash.Hash
	h.SetSeed(m.seed)
	for _, l := range sm {
		h.WriteString(l.Name)
		h.WriteByte(0)
		h.WriteString(l.Value)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// entryHeap is a binary min-heap of entries by time, then stream labels,
// then line.
type entryHeap []iter.StreamEntry

func (h entryHeap) less(i, j int) bool {
	if h[i].Timestamp != h[j].Timestamp {
		return h[i].Timestamp < h[j].Timestamp
	}
	if c := labels.Compare(h[i].Labels, h[j].Labels); c != 0 {
		return c < 0
	}
	return cmp.Less(h[i].Line, h[j].Line)
}

func (h *entryHeap) push(e iter.StreamEntry) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *entryHeap) pop() iter.StreamEntry {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = iter.StreamEntry{}
	s = s[:last]
	for i := 0; ; {
		l, r, least := 2*i+1, 2*i+2, i
		if l < len(s) && s.less(l, least) {
			least = l
		}
		if r < len(s) && s.less(r, least) {
			least = r
		}
		if least == i {
			break
		}
		s[i], s[least] = s[least], s[i]
		i = least
	}
	*h = s
	return top
}
