package log

import (
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// ErrUnsupported marks a pipeline stage this version cannot run yet.
var ErrUnsupported = errors.New("unsupported")

// NewPipeline compiles the pipeline of a log selector. hash gives the
// identity of a stream's labels.
func NewPipeline(e syntax.LogSelectorExpr, hash func(labels.Labels) uint64) (Pipeline, error) {
	var filters []Filterer
	for _, st := range e.Stages() {
		lf, ok := st.(*syntax.LineFilterExpr)
		if !ok {
			return nil, fmt.Errorf("%w: pipeline stage %q is not supported yet", ErrUnsupported, st.String())
		}
		f, err := NewLineFilter(lf)
		if err != nil {
			return nil, err
		}
		filters = append(filters, f)
	}
	var f Filterer
	if len(filters) > 0 {
		f = NewAndFilter(filters...)
	}
	return NewFilterPipeline(f, hash), nil
}

// NewLineFilter compiles one line filter stage: a positive operator keeps a
// line when any alternative matches, a negated one when none does.
func NewLineFilter(e *syntax.LineFilterExpr) (Filterer, error) {
	alts := make([]Filterer, 0, len(e.Values))
	for _, v := range e.Values {
		var (
			f   Filterer
			err error
		)
		switch {
		case v.IP:
			return nil, fmt.Errorf("%w: ip() line filters are not supported yet", ErrUnsupported)
		case e.Op == syntax.LineMatchEqual || e.Op == syntax.LineMatchNotEqual:
			f = NewContainsFilter(v.Value)
		case e.Op == syntax.LineMatchRegexp || e.Op == syntax.LineMatchNotRegexp:
			f, err = NewRegexpFilter(v.Value)
		default:
			return nil, fmt.Errorf("%w: pattern line filters are not supported yet", ErrUnsupported)
		}
		if err != nil {
			return nil, err
		}
		alts = append(alts, f)
	}
	f := NewOrFilter(alts...)
	if e.Op.Negated() {
		f = NewNotFilter(f)
	}
	return f, nil
}
