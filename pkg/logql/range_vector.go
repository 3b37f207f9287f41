package logql

import (
	"context"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// window holds the points of one series inside the current range.
type window struct {
	lbls labels.Labels
	hash uint64
	err  bool    // lbls carry __error__
	pts  []point // pts[head:] are live
	head int
}

func (w *window) live() []point { return w.pts[w.head:] }

// dropUpTo removes the points at or before lo.
func (w *window) dropUpTo(lo int64) {
	for w.head < len(w.pts) && w.pts[w.head].T <= lo {
		w.head++
	}
	switch {
	case w.head == len(w.pts):
		w.pts, w.head = w.pts[:0], 0
	case w.head > 64 && w.head > len(w.pts)/2:
		n := copy(w.pts, w.pts[w.head:])
		w.pts, w.head = w.pts[:n], 0
	}
}

// rangeEvaluator evaluates a range aggregation: at each step t it
// aggregates, per series, the samples in (t-offset-range, t-offset]. It
// reads the sample iterator once, in time order, keeping only the samples
// of the current window.
type rangeEvaluator struct {
	ctx    context.Context
	it     iter.SampleIterator
	fn     rangeFunc
	clock  stepClock
	rng    int64
	offset int64

	// absent: the evaluator is absent_over_time and answers 1 with these
	// labels when the window holds no sample.
	absent     bool
	absentLbls labels.Labels

	has     bool // cur holds the next sample
	cur     iter.Sample
	curLbls labels.Labels
	curHash uint64
	done    bool // the iterator is exhausted

	series []*window
	index  map[uint64][]*window
	free   []*window
	out    []Sample
	e      error
	n      int // samples read, for cancellation checks
}

func newRangeEvaluator(ctx context.Context, it iter.SampleIterator, e *syntax.RangeAggregationExpr, s steps) (*rangeEvaluator, error) {
	fn, err := newRangeFunc(e)
	if err != nil {
		return nil, err
	}
	r := &rangeEvaluator{
		ctx: ctx, it: it, fn: fn, clock: s.clock(),
		rng: int64(e.Left.Interval), offset: int64(e.Left.Offset),
		index: map[uint64][]*window{},
	}
	if e.Op == syntax.OpRangeTypeAbsent {
		r.absent, r.absentLbls = true, absentLabels(e.Selector().Matchers())
	}
	return r, nil
}

// absentLabels are the labels of absent_over_time's sample: those of the
// selector's equality matchers, except names matched more than once.
func absentLabels(ms []*labels.Matcher) labels.Labels {
	b := labels.NewBuilder(labels.EmptyLabels())
	var drop []string
	for _, m := range ms {
		if m.Type == labels.MatchEqual && b.Get(m.Name) == "" {
			b.Set(m.Name, m.Value)
		} else {
			drop = append(drop, m.Name)
		}
	}
	b.Del(drop...)
	return b.Labels()
}

// advance loads the next sample into cur.
func (r *rangeEvaluator) advance() bool {
	if r.done {
		return false
	}
	r.n++
	if r.n%4096 == 0 {
		if err := r.ctx.Err(); err != nil {
			r.e, r.done = err, true
			return false
		}
	}
	if !r.it.Next() {
		r.done = true
		r.e = r.it.Err()
		return false
	}
	r.cur, r.curLbls, r.curHash = r.it.At(), r.it.Labels(), r.it.StreamHash()
	r.has = true
	return true
}

func (r *rangeEvaluator) next() ([]Sample, bool) {
	if r.e != nil {
		return nil, false
	}
	t, ok := r.clock.next()
	if !ok {
		return nil, false
	}
	hi := t - r.offset
	lo := hi - r.rng
	for _, w := range r.series {
		w.dropUpTo(lo)
	}
	for r.has || r.advance() {
		if r.cur.Timestamp > hi {
			break // for a later step
		}
		r.has = false
		if r.cur.Timestamp > lo {
			w := r.window(r.curLbls, r.curHash)
			w.pts = append(w.pts, point{T: r.cur.Timestamp, V: r.cur.Value})
		}
	}
	if r.e != nil {
		return nil, false
	}
	// Loki stamps the step with (t-offset)/1e6 + offset/1e6 milliseconds.
	ms := hi/1e6 + r.offset/1e6
	out := r.out[:0]
	live := r.series[:0]
	for _, w := range r.series {
		pts := w.live()
		if len(pts) == 0 {
			r.forget(w)
			continue
		}
		live = append(live, w)
		if w.err {
			r.e = pipelineError(w.lbls)
			return nil, false
		}
		out = append(out, Sample{Metric: w.lbls, T: ms, V: r.fn(pts, lo, hi)})
	}
	clear(r.series[len(live):])
	r.series = live
	if r.absent {
		if len(out) > 0 {
			out = out[:0]
		} else {
			out = append(out, Sample{Metric: r.absentLbls, T: ms, V: 1})
		}
	}
	r.out = out
	return out, true
}

// window returns the window of a series, creating it.
func (r *rangeEvaluator) window(lbls labels.Labels, h uint64) *window {
	for _, w := range r.index[h] {
		if labels.Equal(w.lbls, lbls) {
			return w // every indexed window is in r.series
		}
	}
	var w *window
	if n := len(r.free); n > 0 {
		w, r.free = r.free[n-1], r.free[:n-1]
	} else {
		w = &window{}
	}
	w.lbls, w.hash, w.pts, w.head = lbls, h, w.pts[:0], 0
	w.err = lbls.Has(syntax.ErrorLabel)
	r.index[h] = append(r.index[h], w)
	r.series = append(r.series, w)
	return w
}

// forget drops an empty window from the index and keeps it for reuse.
func (r *rangeEvaluator) forget(w *window) {
	ws := r.index[w.hash]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(r.index, w.hash)
	} else {
		r.index[w.hash] = ws
	}
	w.lbls = labels.EmptyLabels()
	r.free = append(r.free, w)
}

func (r *rangeEvaluator) err() error { return r.e }
func (r *rangeEvaluator) close()     { _ = r.it.Close() }

// pipelineError is Loki's error for a metric query whose samples carry
// __error__ (text verbatim, as clients match on it).
func pipelineError(metric labels.Labels) error {
	errType := metric.Get(syntax.ErrorLabel)
	return badRequest(fmt.Sprintf("pipeline error: '%s' for series: '%s'.\n"+
		"Use a label filter to intentionally skip this error. (e.g | __error__!=\"%s\").\n"+
		"To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n"+
		"The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n",
		errType, metric.String(), errType))
}
