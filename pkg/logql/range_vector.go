package logql

import (
	"context"
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// rangeMode is how a range aggregation's value is computed from a window.
type rangeMode uint8

const (
	modeCount rangeMode = iota // from the number of samples alone
	modeSum                    // from the sum of integral values (line lengths)
	modeFunc                   // by the range function over the window's points
)

// slabPoints is about how many points the evaluator reads ahead: the next
// slab of steps is sized from the points per step of the last one.
const slabPoints = 1 << 16

// rangeEvaluator evaluates a range aggregation: at each step t it
// aggregates, per series, the samples in (t-offset-range, t-offset].
//
// It reads each stream on its own, a slab of steps at a time: a stream's
// samples up to the slab's last step go to the points of their series
// (found by the *iter.Series pointer the source hands out, so labels are
// compared once per series and stream, not per sample); a series fed by
// several streams then has their runs merged once, by time and in stream
// order; and each step slides a window over every series' points. No
// order across streams is needed, so nothing merges every sample of every
// stream by time.
//
// The vector of a step lists the series in the order a single merge of
// every stream would have created them: those already in the previous
// step's vector first, then the new ones by their first sample's time and
// labels. So the values summed by an aggregation above, and the series of
// a pipeline error, come in the same order whichever way the samples were
// read.
type rangeEvaluator struct {
	ctx     context.Context
	streams []*streamCursor
	mode    rangeMode
	fn      rangeFunc
	scale   float64 // modeCount and modeSum: the value is divided by it
	clock   stepClock
	rng     int64
	offset  int64

	// absent: the evaluator is absent_over_time and answers 1 with these
	// labels when the window holds no sample.
	absent     bool
	absentLbls labels.Labels

	readHi    int64 // every sample at or before it has been read
	read      bool  // readHi is set
	slabSteps int

	slots   []*slot // the series with points
	byPtr   map[*iter.Series]*slot
	byHash  map[uint64][]*slot
	live    []*slot // the series of the last vector, in its order
	fresh   []*slot
	out     []Sample
	scratch []point
	e       error
	n       int // samples read, for cancellation checks
}

// streamCursor is one stream being read.
type streamCursor struct {
	it     iter.StreamSampleIterator
	has    bool // it holds a sample after the last slab
	done   bool
	series *iter.Series // the series of the sample before
	slot   *slot        // its slot
}

// slot holds the points of one series.
type slot struct {
	lbls labels.Labels
	hash uint64
	err  bool           // lbls carry __error__
	ptrs []*iter.Series // the pointers sources gave for it
	dead bool           // dropped from the evaluator's indexes

	pts    []point // pts[lo:] are live, in time order after each slab
	lo, hi int     // the window of the current step is pts[lo:hi]
	sum    float64 // modeSum: the sum of the window's values
	runs   []int   // starts of this slab's runs, one per stream
	runOf  int     // the stream of the last run, -1 before the first

	present bool // the window of the current step holds points
	inLive  bool // the series is in the last vector
	val     float64
}

func newRangeEvaluator(ctx context.Context, streams []iter.StreamSampleIterator, e *syntax.RangeAggregationExpr, s steps) (*rangeEvaluator, error) {
	fn, err := newRangeFunc(e)
	if err != nil {
		return nil, err
	}
	r := &rangeEvaluator{
		ctx: ctx, fn: fn, clock: s.clock(), mode: modeFunc, scale: 1,
		rng: int64(e.Left.Interval), offset: int64(e.Left.Offset),
		slabSteps: 1,
		byPtr:     map[*iter.Series]*slot{}, byHash: map[uint64][]*slot{},
	}
	if e.Left.Unwrap == nil {
		secs := e.Left.Interval.Seconds()
		switch e.Op {
		case syntax.OpRangeTypeCount, syntax.OpRangeTypeAbsent:
			r.mode = modeCount
		case syntax.OpRangeTypeRate:
			r.mode, r.scale = modeCount, secs
		case syntax.OpRangeTypeBytes:
			r.mode = modeSum
		case syntax.OpRangeTypeBytesRate:
			r.mode, r.scale = modeSum, secs
		}
	}
	if e.Op == syntax.OpRangeTypeAbsent {
		r.absent, r.absentLbls = true, absentLabels(e.Selector().Matchers())
	}
	r.streams = make([]*streamCursor, len(streams))
	for i, it := range streams {
		r.streams[i] = &streamCursor{it: it}
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
	if !r.read || hi > r.readHi {
		r.readSlab(t, lo)
		if r.e != nil {
			return nil, false
		}
	}
	for _, sl := range r.slots {
		r.window(sl, lo, hi)
	}
	// The vector's order: the series of the last vector that still have
	// points, then the new ones by first sample and labels.
	live := r.live[:0]
	for _, sl := range r.live {
		if sl.present {
			live = append(live, sl)
		} else {
			sl.inLive = false
		}
	}
	clear(r.live[len(live):])
	fresh := r.fresh[:0]
	for _, sl := range r.slots {
		if sl.present && !sl.inLive {
			sl.inLive = true
			fresh = append(fresh, sl)
		}
	}
	if len(fresh) > 1 {
		slices.SortFunc(fresh, func(a, b *slot) int {
			if ta, tb := a.pts[a.lo].T, b.pts[b.lo].T; ta != tb {
				if ta < tb {
					return -1
				}
				return 1
			}
			return labels.Compare(a.lbls, b.lbls)
		})
	}
	live = append(live, fresh...)
	clear(fresh)
	r.live, r.fresh = live, fresh[:0]

	// Loki stamps the step with (t-offset)/1e6 + offset/1e6 milliseconds.
	ms := hi/1e6 + r.offset/1e6
	out := r.out[:0]
	for _, sl := range live {
		if sl.err {
			r.e = pipelineError(sl.lbls)
			return nil, false
		}
		out = append(out, Sample{Metric: sl.lbls, T: ms, V: sl.val})
	}
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

// window slides sl's window to (lo, hi] and computes its value.
func (r *rangeEvaluator) window(sl *slot, lo, hi int64) {
	pts := sl.pts
	i, j := sl.lo, sl.hi
	if r.mode == modeSum {
		for j < len(pts) && pts[j].T <= hi {
			sl.sum += pts[j].V
			j++
		}
		for i < j && pts[i].T <= lo {
			sl.sum -= pts[i].V
			i++
		}
	} else {
		for j < len(pts) && pts[j].T <= hi {
			j++
		}
		for i < j && pts[i].T <= lo {
			i++
		}
	}
	sl.lo, sl.hi = i, j
	sl.present = j > i
	if !sl.present {
		sl.sum = 0 // exact again from here
		return
	}
	switch r.mode {
	case modeCount:
		sl.val = float64(j-i) / r.scale
	case modeSum:
		sl.val = sl.sum / r.scale
	default:
		sl.val = r.fn(pts[i:j], lo, hi)
	}
}

// readSlab reads every stream's samples up to the last step of the slab
// that starts at step t, whose window starts after lo.
func (r *rangeEvaluator) readSlab(t, lo int64) {
	// Drop the points before the current windows, and the series left
	// without points.
	kept := r.slots[:0]
	for _, sl := range r.slots {
		sl.compact()
		if len(sl.pts) == 0 {
			r.drop(sl)
			continue
		}
		kept = append(kept, sl)
	}
	clear(r.slots[len(kept):])
	r.slots = kept

	step := r.clock.s.step
	steps := min(int64(r.slabSteps), (r.clock.s.end-t)/step+1)
	hiSlab := t + (steps-1)*step - r.offset
	read := 0
	for ci, c := range r.streams {
		n, err := r.readStream(ci, c, lo, hiSlab)
		read += n
		if err != nil {
			r.e = err
			return
		}
	}
	r.readHi, r.read = hiSlab, true
	for _, sl := range r.slots {
		if len(sl.runs) > 1 {
			r.scratch = mergeRuns(sl.pts, sl.runs, r.scratch)
		}
		sl.runs, sl.runOf = sl.runs[:0], -1
	}
	// The next slab: about slabPoints at this slab's points per step, and
	// at most four times as many steps (a slab before the data starts
	// says little).
	r.slabSteps = int(max(1, min(4*steps, int64(slabPoints)*steps/int64(max(read, 1)))))
}

// readStream appends c's samples in (lo, hi] to their series.
func (r *rangeEvaluator) readStream(ci int, c *streamCursor, lo, hi int64) (int, error) {
	n := 0
	for !c.done {
		if !c.has {
			if !c.it.Next() {
				c.done = true
				err := c.it.Err()
				_ = c.it.Close()
				return n, err
			}
			c.has = true
			r.n++
			if r.n%4096 == 0 {
				if err := r.ctx.Err(); err != nil {
					return n, err
				}
			}
		}
		ts, v, s := c.it.Sample()
		if ts > hi {
			break // for a later slab
		}
		c.has = false
		if ts <= lo {
			continue
		}
		if s != c.series || c.slot.dead {
			c.series, c.slot = s, r.slotFor(s)
		}
		sl := c.slot
		if sl.runOf != ci {
			sl.runOf = ci
			sl.runs = append(sl.runs, len(sl.pts))
		}
		sl.pts = append(sl.pts, point{T: ts, V: v})
		n++
	}
	return n, nil
}

// slotFor returns the slot of a series, creating it.
func (r *rangeEvaluator) slotFor(s *iter.Series) *slot {
	if sl, ok := r.byPtr[s]; ok {
		return sl
	}
	for _, sl := range r.byHash[s.Hash] {
		if labels.Equal(sl.lbls, s.Labels) {
			sl.ptrs = append(sl.ptrs, s)
			r.byPtr[s] = sl
			return sl
		}
	}
	sl := &slot{lbls: s.Labels, hash: s.Hash, err: s.Labels.Has(syntax.ErrorLabel), ptrs: []*iter.Series{s}, runOf: -1}
	r.byHash[s.Hash] = append(r.byHash[s.Hash], sl)
	r.byPtr[s] = sl
	r.slots = append(r.slots, sl)
	return sl
}

// drop forgets a slot without points; a later sample of its series makes
// a new one.
func (r *rangeEvaluator) drop(sl *slot) {
	sl.dead, sl.present = true, false
	for _, p := range sl.ptrs {
		if r.byPtr[p] == sl {
			delete(r.byPtr, p)
		}
	}
	ss := r.byHash[sl.hash]
	if i := slices.Index(ss, sl); i >= 0 {
		ss = slices.Delete(ss, i, i+1)
	}
	if len(ss) == 0 {
		delete(r.byHash, sl.hash)
	} else {
		r.byHash[sl.hash] = ss
	}
}

// compact drops the points before the window, copying the rest to the
// front only once they are at most half of the slice.
func (sl *slot) compact() {
	switch {
	case sl.lo == len(sl.pts):
		sl.pts, sl.lo, sl.hi = sl.pts[:0], 0, 0
	case sl.lo > 64 && sl.lo > len(sl.pts)/2:
		n := copy(sl.pts, sl.pts[sl.lo:])
		sl.pts, sl.hi, sl.lo = sl.pts[:n], sl.hi-sl.lo, 0
	}
}

// mergeRuns sorts pts[runs[0]:], made of the runs that start at runs (each
// in time order), by time; points at one time keep the order of their
// runs. scratch is returned for reuse.
func mergeRuns(pts []point, runs []int, scratch []point) []point {
	base := runs[0]
	region := pts[base:]
	if cap(scratch) < len(region) {
		scratch = make([]point, len(region), len(region)+len(region)/4)
	}
	scratch = scratch[:len(region)]
	// Bottom-up: merge neighbouring runs until one is left.
	bounds := make([]int, 0, len(runs)+1)
	for _, s := range runs {
		bounds = append(bounds, s-base)
	}
	bounds = append(bounds, len(region))
	src, dst := region, scratch
	for len(bounds) > 2 {
		next := bounds[:1]
		for i := 0; i+1 < len(bounds); i += 2 {
			a0, a1 := bounds[i], bounds[i+1]
			if i+2 >= len(bounds) {
				copy(dst[a0:a1], src[a0:a1])
				next = append(next, a1)
				break
			}
			b1 := bounds[i+2]
			mergeTwo(dst[a0:b1], src[a0:a1], src[a1:b1])
			next = append(next, b1)
		}
		bounds = next
		src, dst = dst, src
	}
	if &src[0] != &region[0] {
		copy(region, src)
	}
	return scratch
}

// mergeTwo merges a and b, each in time order, into dst; a's points come
// first at one time.
func mergeTwo(dst, a, b []point) {
	if len(a) == 0 || len(b) == 0 || a[len(a)-1].T <= b[0].T {
		n := copy(dst, a)
		copy(dst[n:], b)
		return
	}
	i, j, k := 0, 0, 0
	for i < len(a) && j < len(b) {
		if b[j].T < a[i].T {
			dst[k] = b[j]
			j++
		} else {
			dst[k] = a[i]
			i++
		}
		k++
	}
	k += copy(dst[k:], a[i:])
	copy(dst[k:], b[j:])
}

func (r *rangeEvaluator) err() error { return r.e }

func (r *rangeEvaluator) close() {
	for _, c := range r.streams {
		if !c.done {
			c.done = true
			_ = c.it.Close()
		}
	}
}

// samplesAsStream reads a SampleIterator that merges many streams (a
// source that keeps no streams apart) as one stream of many series.
type samplesAsStream struct {
	it     iter.SampleIterator
	cur    iter.Sample
	last   *iter.Series
	series map[uint64][]*iter.Series
}

func newSamplesAsStream(it iter.SampleIterator) *samplesAsStream {
	return &samplesAsStream{it: it, series: map[uint64][]*iter.Series{}}
}

func (a *samplesAsStream) Next() bool {
	if !a.it.Next() {
		return false
	}
	a.cur = a.it.At()
	lbls, h := a.it.Labels(), a.it.StreamHash()
	if a.last != nil && a.last.Hash == h && labels.Equal(a.last.Labels, lbls) {
		return true
	}
	for _, s := range a.series[h] {
		if labels.Equal(s.Labels, lbls) {
			a.last = s
			return true
		}
	}
	if len(a.series) >= maxCachedKeys {
		clear(a.series)
	}
	a.last = &iter.Series{Labels: lbls, Hash: h}
	a.series[h] = append(a.series[h], a.last)
	return true
}

func (a *samplesAsStream) Sample() (int64, float64, *iter.Series) {
	return a.cur.Timestamp, a.cur.Value, a.last
}
func (a *samplesAsStream) EntryHash() uint64 { return a.cur.Hash }
func (a *samplesAsStream) Err() error        { return a.it.Err() }
func (a *samplesAsStream) Close() error      { return a.it.Close() }

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
