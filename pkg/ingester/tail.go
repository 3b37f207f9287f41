package ingester

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// Live tails, as Loki's ingesters serve them. A tail registers a tailer with
// its tenant's instance. When a push appends entries to a stream the tailer
// follows (the stream matches the tail's selector), the entries appended —
// not the duplicates or the refused ones, and whatever their timestamps —
// are copied into the tailer's buffer under the stream's lock, so each
// stream's entries reach the tailer in the order they were appended. The
// tail's own goroutine runs them through the pipeline and sends them.
//
// A push never waits for a tailer: when a tailer's buffer is full, further
// entries are dropped, and the next batch it sends lists them (at most
// tailMaxDropped per batch) with their stream labels and timestamps. An
// entry is dropped before the pipeline runs, so a dropped entry may be one
// the pipeline would have filtered out.
//
// With no tail open, a push pays one atomic load per request and one nil
// check per stream.

// Bounds of a tailer's buffer and of its list of dropped entries.
const (
	tailBufferEntries = 10000
	tailBufferBytes   = 8 << 20
	tailMaxDropped    = 1000
	// tailMaxPipelines bounds the per-stream pipelines a tail keeps; past
	// it they are built anew.
	tailMaxPipelines = 10000
)

// ErrTailStopping ends the tails of an ingester that stops.
var ErrTailStopping = errors.New("ingester is stopping; tail ended")

// tailShared is the ingester-wide state of tails: their metrics and the
// buffer bounds (fields so tests can lower them).
type tailShared struct {
	maxEntries int
	maxBytes   int
	active     prometheus.Gauge
	dropped    prometheus.Counter
}

func newTailShared(reg prometheus.Registerer) *tailShared {
	s := &tailShared{
		maxEntries: tailBufferEntries,
		maxBytes:   tailBufferBytes,
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skald_ingester_tailers", Help: "Live tails following this ingester's pushes."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skald_ingester_tail_dropped_entries_total", Help: "Entries not sent to a live tail because it read too slowly."}),
	}
	if reg != nil {
		reg.MustRegister(s.active, s.dropped)
	}
	return s
}

// tailer is one tail's buffer. offer is called by pushes, take by the tail.
type tailer struct {
	matchers   []*labels.Matcher
	maxEntries int
	maxBytes   int
	droppedM   prometheus.Counter

	mtx     sync.Mutex
	buf     []tailItem
	bytes   int
	dropped []iter.StreamEntry
	closed  bool          // the tail ended: offers are ignored
	notify  chan struct{} // capacity 1: something is buffered
}

// tailItem is an appended entry waiting for the tail's pipeline. Its line
// and metadata are copies: the push request's memory is not kept.
type tailItem struct {
	st   *stream
	ts   int64
	line []byte
	sm   []logproto.LabelAdapter
}

// offer copies entries of s into the buffer, dropping those that do not
// fit, and wakes the tail. It never blocks on the tail.
func (t *tailer) offer(s *stream, entries []*logproto.Entry) {
	t.mtx.Lock()
	if t.closed {
		t.mtx.Unlock()
		return
	}
	// One copy of all the lines: the request's memory is not kept.
	total := 0
	for _, e := range entries {
		total += len(e.Line)
	}
	arena := make([]byte, 0, total)
	for _, e := range entries {
		size := len(e.Line)
		for _, l := range e.StructuredMetadata {
			size += len(l.Name) + len(l.Value)
		}
		if len(t.buf) >= t.maxEntries || (t.bytes > 0 && t.bytes+size > t.maxBytes) {
			t.droppedM.Inc()
			if len(t.dropped) < tailMaxDropped {
				t.dropped = append(t.dropped, iter.StreamEntry{
					Entry:  logproto.Entry{Timestamp: e.Timestamp, StructuredMetadata: cloneMetadata(e.StructuredMetadata)},
					Labels: s.lbls, Hash: s.fp,
				})
			}
			continue
		}
		start := len(arena)
		arena = append(arena, e.Line...) // within its capacity: never moves
		t.buf = append(t.buf, tailItem{st: s, ts: e.Timestamp, line: arena[start:len(arena):len(arena)], sm: cloneMetadata(e.StructuredMetadata)})
		t.bytes += size
	}
	t.mtx.Unlock()
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

// take returns what is buffered and the entries dropped since the last
// call; spare (emptied) becomes the new buffer.
func (t *tailer) take(spare []tailItem) ([]tailItem, []iter.StreamEntry) {
	t.mtx.Lock()
	defer t.mtx.Unlock()
	items, dropped := t.buf, t.dropped
	t.buf, t.bytes, t.dropped = spare[:0], 0, nil
	return items, dropped
}

// close drops what is buffered and ignores later offers: a stream that has
// not been pushed to since may still name the tailer.
func (t *tailer) close() {
	t.mtx.Lock()
	defer t.mtx.Unlock()
	t.closed = true
	t.buf, t.bytes, t.dropped = nil, 0, nil
}

// tailSet is the tailers of one instance at one moment. It is never
// modified: registering or removing a tailer replaces it, with a new
// version, so streams know when to match again.
type tailSet struct {
	version uint64
	tailers []*tailer
}

// tailRegistry holds an instance's tailers.
type tailRegistry struct {
	mtx     sync.Mutex // serialises changes
	version uint64
	set     atomic.Pointer[tailSet] // nil when no tail is open
}

func (r *tailRegistry) load() *tailSet { return r.set.Load() }

func (r *tailRegistry) add(t *tailer) {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	var tailers []*tailer
	if cur := r.set.Load(); cur != nil {
		tailers = append(tailers, cur.tailers...)
	}
	r.version++
	r.set.Store(&tailSet{version: r.version, tailers: append(tailers, t)})
}

func (r *tailRegistry) remove(t *tailer) {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	cur := r.set.Load()
	if cur == nil {
		return
	}
	tailers := make([]*tailer, 0, len(cur.tailers))
	for _, x := range cur.tailers {
		if x != t {
			tailers = append(tailers, x)
		}
	}
	r.version++
	if len(tailers) == 0 {
		r.set.Store(nil)
		return
	}
	r.set.Store(&tailSet{version: r.version, tailers: tailers})
}

// streamTail is a stream's view of its instance's tailers: those that
// follow it, and the entries the push in progress appended. It is guarded
// by the stream's lock.
type streamTail struct {
	version uint64
	tailers []*tailer
	pending []*logproto.Entry // valid during one push only
}

// tailing returns the stream's tail view for set, or nil when no tailer
// follows the stream. s.mtx must be held.
func (s *stream) tailing(set *tailSet) *streamTail {
	if set == nil {
		if s.tail != nil {
			s.tail = nil
		}
		return nil
	}
	if s.tail == nil || s.tail.version != set.version {
		st := &streamTail{version: set.version}
		for _, t := range set.tailers {
			if matches(s.lbls, t.matchers) {
				st.tailers = append(st.tailers, t)
			}
		}
		s.tail = st
	}
	if len(s.tail.tailers) == 0 {
		return nil
	}
	return s.tail
}

// deliver offers the entries the push appended to the stream's tailers.
// s.mtx must be held.
func (st *streamTail) deliver(s *stream) {
	if len(st.pending) == 0 {
		return
	}
	for _, t := range st.tailers {
		t.offer(s, st.pending)
	}
	clear(st.pending)
	st.pending = st.pending[:0]
}

// Tail follows the tenant's entries that match query, a LogQL log selector
// with its pipeline, as pushes append them. It calls send once with no
// entries as soon as the tail is registered (every push appended after
// that call is followed), then with each batch: the entries that passed
// the pipeline, each stream's in the order appended, and the entries
// dropped since the last batch because the tail did not keep up (their
// stream labels and timestamps). send is called from one goroutine and
// owns the slices it is given.
//
// Tail returns nil when ctx is done, send's error if it fails, and
// ErrTailStopping when the ingester stops. A bad query is an error that
// matches validation.ErrInvalid.
func (i *Ingester) Tail(ctx context.Context, tenant, query string, send func(entries, dropped []iter.StreamEntry) error) error {
	expr, err := syntax.ParseLogSelector(query, true)
	if err != nil {
		return invalidError(err.Error())
	}
	pipeline, err := log.NewPipeline(expr, index.Fingerprint)
	if err != nil {
		return invalidError(err.Error())
	}
	t := &tailer{
		matchers: expr.Matchers(), maxEntries: i.tail.maxEntries, maxBytes: i.tail.maxBytes,
		droppedM: i.tail.dropped, notify: make(chan struct{}, 1),
	}
	inst := i.instance(tenant, true)
	inst.tails.add(t)
	defer func() {
		inst.tails.remove(t)
		t.close()
	}()
	i.tail.active.Inc()
	defer i.tail.active.Dec()
	if err := send(nil, nil); err != nil {
		return err
	}

	pipelines := map[*stream]log.StreamPipeline{}
	var spare []tailItem
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-i.quit:
			return ErrTailStopping
		case <-t.notify:
		}
		items, dropped := t.take(spare)
		// The kept lines are copied into one buffer that becomes one
		// string: each entry's line is a part of it.
		size := 0
		for k := range items {
			size += len(items[k].line)
		}
		entries := make([]iter.StreamEntry, 0, len(items))
		lines := make([]byte, 0, size) // grows if the pipeline lengthens lines
		ends := make([]int, 0, len(items))
		for k := range items {
			it := &items[k]
			sp := pipelines[it.st]
			if sp == nil {
				if len(pipelines) >= tailMaxPipelines {
					clear(pipelines)
				}
				sp = pipeline.ForStream(it.st.lbls)
				pipelines[it.st] = sp
			}
			out, res, ok := sp.Process(it.ts, it.line, it.sm)
			if !ok {
				continue
			}
			lines = append(lines, out...)
			ends = append(ends, len(lines))
			entries = append(entries, iter.StreamEntry{
				Entry: logproto.Entry{
					Timestamp:          it.ts,
					StructuredMetadata: cloneMetadata(res.StructuredMetadata), Parsed: cloneMetadata(res.Parsed),
				},
				Labels: res.Stream, Hash: res.Hash,
			})
		}
		if len(lines) > 0 {
			all := unsafe.String(unsafe.SliceData(lines), len(lines)) // lines is not written again
			start := 0
			for k := range entries {
				entries[k].Line, start = all[start:ends[k]], ends[k]
			}
		}
		clear(items)
		spare = items[:0]
		if len(entries) == 0 && len(dropped) == 0 {
			continue
		}
		if err := send(entries, dropped); err != nil {
			return err
		}
	}
}

func cloneMetadata(ls []logproto.LabelAdapter) []logproto.LabelAdapter {
	if len(ls) == 0 {
		return nil
	}
	out := make([]logproto.LabelAdapter, len(ls))
	for i, l := range ls {
		out[i] = logproto.LabelAdapter{Name: strings.Clone(l.Name), Value: strings.Clone(l.Value)}
	}
	return out
}
