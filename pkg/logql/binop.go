package logql

import (
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// Errors of vector matching, with Loki's text. Like Loki they are not
// marked as bad requests.
var (
	errManyToOne  = errors.New("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
	errGroupLabel = errors.New("multiple matches for labels: grouping labels must ensure unique matches")
)

func errDuplicateSeries(side string) error {
	return fmt.Errorf("found duplicate series on the %s hand-side;many-to-many matching not allowed: matching labels must be unique on one side", side)
}

// binOpEvaluator applies a binary operator between two vectors, with
// Prometheus' vector matching as Loki implements it: one-to-one by default,
// on (…) / ignoring (…) to choose the matching labels, group_left /
// group_right for many-to-one, and the set operators and, or, unless.
type binOpEvaluator struct {
	lhs, rhs   stepEvaluator
	op         string
	returnBool bool
	matching   *syntax.VectorMatching // nil: one-to-one on all labels

	lsigs, rsigs []uint64
	sigs         sigCache
	out          []Sample
	e            error
}

func newBinOpEvaluator(lhs, rhs stepEvaluator, e *syntax.BinOpExpr) *binOpEvaluator {
	return &binOpEvaluator{
		lhs: lhs, rhs: rhs, op: e.Op, returnBool: e.ReturnBool, matching: e.VectorMatching,
		sigs: sigCache{m: map[uint64][]sigEntry{}},
	}
}

func (b *binOpEvaluator) next() ([]Sample, bool) {
	if b.e != nil {
		return nil, false
	}
	// The right leg first, as Loki: its vector is copied before the left
	// one is evaluated, since both may share buffers of a common source.
	rvec, ok := b.rhs.next()
	if !ok {
		return nil, false
	}
	rhs := append([]Sample(nil), rvec...)
	lhs, ok := b.lhs.next()
	if !ok {
		return nil, false
	}
	b.lsigs = b.signatures(b.lsigs[:0], lhs)
	b.rsigs = b.signatures(b.rsigs[:0], rhs)
	out := b.out[:0]
	switch b.op {
	case syntax.OpTypeAnd:
		out = b.and(out, lhs, rhs)
	case syntax.OpTypeOr:
		out = b.or(out, lhs, rhs)
	case syntax.OpTypeUnless:
		out = b.unless(out, lhs, rhs)
	default:
		out, b.e = b.arith(out, lhs, rhs)
		if b.e != nil {
			return nil, false
		}
	}
	b.out = out
	return out, true
}

func (b *binOpEvaluator) signatures(dst []uint64, vec []Sample) []uint64 {
	for _, s := range vec {
		dst = append(dst, b.sigs.get(s.Metric, b.matching))
	}
	return dst
}

func (b *binOpEvaluator) and(out, lhs, rhs []Sample) []Sample {
	if len(lhs) == 0 || len(rhs) == 0 {
		return out
	}
	right := make(map[uint64]struct{}, len(rhs))
	for _, s := range b.rsigs {
		right[s] = struct{}{}
	}
	for i, s := range lhs {
		if _, ok := right[b.lsigs[i]]; ok {
			out = append(out, s)
		}
	}
	return out
}

func (b *binOpEvaluator) or(out, lhs, rhs []Sample) []Sample {
	left := make(map[uint64]struct{}, len(lhs))
	for i, s := range lhs {
		left[b.lsigs[i]] = struct{}{}
		out = append(out, s)
	}
	for i, s := range rhs {
		if _, ok := left[b.rsigs[i]]; !ok {
			out = append(out, s)
		}
	}
	return out
}

func (b *binOpEvaluator) unless(out, lhs, rhs []Sample) []Sample {
	right := make(map[uint64]struct{}, len(rhs))
	for _, s := range b.rsigs {
		right[s] = struct{}{}
	}
	for i, s := range lhs {
		if _, ok := right[b.lsigs[i]]; !ok {
			out = append(out, s)
		}
	}
	return out
}

// arith applies an arithmetic or comparison operator to matching pairs.
func (b *binOpEvaluator) arith(out, lhs, rhs []Sample) ([]Sample, error) {
	card := syntax.CardOneToOne
	if b.matching != nil {
		card = b.matching.Card
	}
	lsigs, rsigs := b.lsigs, b.rsigs
	if card == syntax.CardOneToMany {
		lhs, rhs = rhs, lhs
		lsigs, rsigs = rsigs, lsigs
	}
	// The "one" side, by signature.
	one := make(map[uint64]int, len(rhs))
	for i := range rhs {
		sig := rsigs[i]
		if _, dup := one[sig]; dup {
			side := "right"
			if card == syntax.CardOneToMany {
				side = "left"
			}
			return nil, errDuplicateSeries(side)
		}
		one[sig] = i
	}
	matched := map[uint64]map[uint64]struct{}{}
	cmp := syntax.IsComparisonOperator(b.op)
	for i, ls := range lhs {
		sig := lsigs[i]
		j, ok := one[sig]
		if !ok {
			continue
		}
		rs := rhs[j]
		metric := b.resultMetric(ls.Metric, rs.Metric, card)
		inserted, seen := matched[sig]
		if card == syntax.CardOneToOne {
			if seen {
				return nil, errManyToOne
			}
			matched[sig] = nil
		} else {
			h := metric.Hash()
			if !seen {
				inserted = map[uint64]struct{}{}
				matched[sig] = inserted
			} else if _, dup := inserted[h]; dup {
				return nil, errGroupLabel
			}
			inserted[h] = struct{}{}
		}
		l, r := ls, rs
		if card == syntax.CardOneToMany {
			l, r = rs, ls
		}
		v := syntax.ScalarBinOp(b.op, l.V, r.V)
		if cmp && !b.returnBool {
			if v == 0 {
				continue
			}
			v = l.V
		}
		out = append(out, Sample{Metric: metric, T: l.T, V: v})
	}
	return out, nil
}

// resultMetric returns the labels of a result sample: the labels of the
// "many" side (the left one for one-to-one), reduced to the matching labels
// with on, without the ignored ones, and with the group_x labels of the
// "one" side.
func (b *binOpEvaluator) resultMetric(many, one labels.Labels, card syntax.VectorMatchCardinality) labels.Labels {
	m := b.matching
	if m == nil {
		return many
	}
	lb := labels.NewBuilder(many)
	if card == syntax.CardOneToOne {
		if m.On {
			many.Range(func(l labels.Label) {
				for _, n := range m.MatchingLabels {
					if n == l.Name {
						return
					}
				}
				lb.Del(l.Name)
			})
		} else {
			lb.Del(m.MatchingLabels...)
		}
	}
	for _, n := range m.Include {
		if v := one.Get(n); v != "" {
			lb.Set(n, v)
		} else {
			lb.Del(n)
		}
	}
	return lb.Labels()
}

func (b *binOpEvaluator) err() error {
	if b.e != nil {
		return b.e
	}
	if err := b.lhs.err(); err != nil {
		return err
	}
	return b.rhs.err()
}

func (b *binOpEvaluator) close() {
	b.lhs.close()
	b.rhs.close()
}

// sigEntry caches the matching signature of one label set.
type sigEntry struct {
	lbls labels.Labels
	sig  uint64
}

// sigCache computes matching signatures: the hash of all labels, of the
// on (…) labels only, or of the labels without the ignored ones.
type sigCache struct {
	m  map[uint64][]sigEntry
	n  int
	lb *labels.Builder
}

func (c *sigCache) get(lbls labels.Labels, m *syntax.VectorMatching) uint64 {
	h := lbls.Hash()
	if m == nil {
		return h
	}
	for _, e := range c.m[h] {
		if labels.Equal(e.lbls, lbls) {
			return e.sig
		}
	}
	if c.lb == nil {
		c.lb = labels.NewBuilder(labels.EmptyLabels())
	}
	c.lb.Reset(lbls)
	if m.On {
		c.lb.Keep(m.MatchingLabels...)
	} else {
		c.lb.Del(m.MatchingLabels...)
	}
	sig := c.lb.Labels().Hash()
	if c.n >= maxCachedKeys {
		clear(c.m)
		c.n = 0
	}
	c.m[h] = append(c.m[h], sigEntry{lbls: lbls, sig: sig})
	c.n++
	return sig
}
