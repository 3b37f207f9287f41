package logql

import (
	"fmt"
	"regexp"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// labelReplaceEvaluator is label_replace(v, dst, replacement, src, regex):
// where the regexp (anchored at both ends) matches the value of src, dst
// becomes the expanded replacement (removed when that is empty); other
// samples are left as they are.
type labelReplaceEvaluator struct {
	in          stepEvaluator
	re          *regexp.Regexp
	dst, src    string
	replacement string
	cache       map[uint64][]groupKey
	n           int
	out         []Sample
}

func newLabelReplaceEvaluator(in stepEvaluator, e *syntax.LabelReplaceExpr) (*labelReplaceEvaluator, error) {
	re, err := regexp.Compile("^(?:" + e.Regex + ")$")
	if err != nil {
		return nil, badRequest(fmt.Sprintf("invalid regex in label_replace: %s", err))
	}
	return &labelReplaceEvaluator{
		in: in, re: re, dst: e.Dst, src: e.Src, replacement: e.Replacement,
		cache: map[uint64][]groupKey{},
	}, nil
}

func (l *labelReplaceEvaluator) next() ([]Sample, bool) {
	vec, ok := l.in.next()
	if !ok {
		return nil, false
	}
	out := l.out[:0]
	for _, s := range vec {
		s.Metric = l.replace(s.Metric)
		out = append(out, s)
	}
	l.out = out
	return out, true
}

func (l *labelReplaceEvaluator) replace(in labels.Labels) labels.Labels {
	h := in.Hash()
	for _, k := range l.cache[h] {
		if labels.Equal(k.in, in) {
			return k.out
		}
	}
	out := in
	src := in.Get(l.src)
	if idx := l.re.FindStringSubmatchIndex(src); idx != nil {
		res := l.re.ExpandString(nil, l.replacement, src, idx)
		b := labels.NewBuilder(in)
		b.Del(l.dst)
		if len(res) > 0 {
			b.Set(l.dst, string(res))
		}
		out = b.Labels()
	}
	if l.n >= maxCachedKeys {
		clear(l.cache)
		l.n = 0
	}
	l.cache[h] = append(l.cache[h], groupKey{in: in, out: out})
	l.n++
	return out
}

func (l *labelReplaceEvaluator) err() error { return l.in.err() }
func (l *labelReplaceEvaluator) close()     { l.in.close() }
