package logql

import (
	"math"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// stepEvaluator evaluates a metric expression step by step. Every
// evaluator of one query walks the same steps (see steps).
type stepEvaluator interface {
	// next evaluates the next step and returns its vector, whose samples
	// carry the step's time in Unix ms. The vector is valid until the
	// next call. ok is false after the last step or on error (see err).
	next() (vec []Sample, ok bool)
	err() error
	close()
}

// steps are the evaluation times of a query, in Unix ns: start,
// start+step, … up to end inclusive; an instant query has the one step
// start.
//
// A range query's start is rounded down and its end rounded up to a multiple
// of the step, as Loki's query frontend does when it splits metric queries
// by time (which it does by default), so points fall on the same instants
// as Loki's. At the edges of int64 time (the API clamps later and earlier
// times there) a bound that cannot be rounded outwards is rounded inwards.
type steps struct {
	start, end, step int64
}

func newSteps(p Params) steps {
	if isInstant(p) {
		return steps{start: p.Start, end: p.Start, step: 1}
	}
	start, end := p.Start, p.End
	if m := mod(start, p.Step); m != 0 {
		if start >= math.MinInt64+m {
			start -= m
		} else {
			start += p.Step - m
		}
	}
	if m := mod(end, p.Step); m != 0 {
		if end <= math.MaxInt64-(p.Step-m) {
			end += p.Step - m
		} else {
			end -= m
		}
	}
	return steps{start: start, end: end, step: p.Step}
}

// mod is a modulo that is never negative.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// satAdd is a+b, clamped to the int64 range.
func satAdd(a, b int64) int64 {
	c := a + b
	if (c > a) != (b > 0) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return c
}

// satSub is a-b, for b >= 0, clamped to the int64 range.
func satSub(a, b int64) int64 { return satAdd(a, -b) }

func isInstant(p Params) bool { return p.Instant || p.Step <= 0 }

// stepClock walks steps.
type stepClock struct {
	s   steps
	cur int64
	ok  bool
}

func (s steps) clock() stepClock { return stepClock{s: s} }

// next advances to the next step.
func (c *stepClock) next() (int64, bool) {
	if !c.ok {
		if c.s.start > c.s.end {
			return 0, false
		}
		c.cur, c.ok = c.s.start, true
		return c.cur, true
	}
	// cur+step > end, without overflow: cur <= end, so end-cur is exact
	// as an unsigned number.
	if uint64(c.s.end)-uint64(c.cur) < uint64(c.s.step) {
		return 0, false
	}
	c.cur += c.s.step
	return c.cur, true
}

// vectorEvaluator is vector(x): one sample without labels at every step.
type vectorEvaluator struct {
	clock stepClock
	val   float64
	out   [1]Sample
}

func (v *vectorEvaluator) next() ([]Sample, bool) {
	t, ok := v.clock.next()
	if !ok {
		return nil, false
	}
	v.out[0] = Sample{Metric: labels.EmptyLabels(), T: t / 1e6, V: v.val}
	return v.out[:], true
}

func (v *vectorEvaluator) err() error { return nil }
func (v *vectorEvaluator) close()     {}

// literalEvaluator applies an arithmetic or comparison operator between a
// number and every sample of a vector. Comparisons without bool keep the
// samples for which they hold, with their values; with bool they give 1 or
// 0. Labels are kept.
type literalEvaluator struct {
	in         stepEvaluator
	op         string
	val        float64
	litLeft    bool // the number is the left operand
	returnBool bool
	out        []Sample
}

func (l *literalEvaluator) next() ([]Sample, bool) {
	vec, ok := l.in.next()
	if !ok {
		return nil, false
	}
	cmp := syntax.IsComparisonOperator(l.op)
	out := l.out[:0]
	for _, s := range vec {
		a, b := s.V, l.val
		if l.litLeft {
			a, b = b, a
		}
		v := syntax.ScalarBinOp(l.op, a, b)
		if cmp && !l.returnBool {
			if v == 0 {
				continue
			}
			v = s.V
		}
		out = append(out, Sample{Metric: s.Metric, T: s.T, V: v})
	}
	l.out = out
	return out, true
}

func (l *literalEvaluator) err() error { return l.in.err() }
func (l *literalEvaluator) close()     { l.in.close() }
