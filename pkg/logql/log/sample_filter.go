package log

import (
	"fmt"
	"strconv"
	"time"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// sampleLabelFilter is a compiled label filter that runs on a sample's labels
// after unwrap (`| unwrap x | __error__=""`), with the semantics of the
// pipeline's label filter stages (label_filter.go): a missing label fails
// a typed comparison; a value that does not convert keeps the sample and
// sets __error__=LabelFilterErr unless an error is already set.
type sampleLabelFilter func(s *sampleLabels) bool

// sampleErrLabelFilter is the __error__ value of a failed typed comparison.
const sampleErrLabelFilter = "LabelFilterErr"

func compileSampleLabelFilter(f syntax.LabelFilter) (sampleLabelFilter, error) {
	switch f := f.(type) {
	case *syntax.StringLabelFilter:
		m := f.Matcher
		return func(s *sampleLabels) bool {
			v, _ := s.get(m.Name)
			return m.Matches(v)
		}, nil
	case *syntax.NumericLabelFilter:
		return sampleTypedFilter(f.Name, func(v string) (bool, error) {
			x, err := strconv.ParseFloat(v, 64)
			return compare(f.Op, x, f.Value), err
		}), nil
	case *syntax.DurationLabelFilter:
		return sampleTypedFilter(f.Name, func(v string) (bool, error) {
			d, err := time.ParseDuration(v)
			return compare(f.Op, int64(d), int64(f.Value)), err
		}), nil
	case *syntax.BytesLabelFilter:
		return sampleTypedFilter(f.Name, func(v string) (bool, error) {
			b, err := syntax.ParseBytes(v)
			return compare(f.Op, b, f.Value), err
		}), nil
	case *syntax.IPLabelFilter:
		m, err := newIPMatcher(f.Pattern)
		if err != nil {
			return nil, err
		}
		name, negate := f.Name, f.Op == syntax.FilterNotEqual
		return func(s *sampleLabels) bool {
			if v, _ := s.get(syntax.ErrorLabel); v != "" {
				return true // like Loki, ip() keeps what already failed
			}
			v, ok := s.get(name)
			if !ok {
				return false
			}
			return (v != "" && m.inText(unsafeBytes(v))) != negate
		}, nil
	case *syntax.BinaryLabelFilter:
		left, err := compileSampleLabelFilter(f.Left)
		if err != nil {
			return nil, err
		}
		right, err := compileSampleLabelFilter(f.Right)
		if err != nil {
			return nil, err
		}
		if f.And {
			// Both sides run, as in Loki: the right one may set an error.
			return func(s *sampleLabels) bool {
				l := left(s)
				r := right(s)
				return l && r
			}, nil
		}
		return func(s *sampleLabels) bool { return left(s) || right(s) }, nil
	}
	return nil, fmt.Errorf("%w: label filter %q", ErrUnsupported, f.String())
}

// sampleTypedFilter runs a comparison that converts the label's value first.
func sampleTypedFilter(name string, cmp func(string) (bool, error)) sampleLabelFilter {
	return func(s *sampleLabels) bool {
		v, ok := s.get(name)
		if !ok {
			return false
		}
		keep, err := cmp(v)
		if err != nil {
			if e, _ := s.get(syntax.ErrorLabel); e == "" {
				s.set(syntax.ErrorLabel, sampleErrLabelFilter)
				s.set(syntax.ErrorDetailsLabel, err.Error())
			}
			return true
		}
		return keep
	}
}

// sampleStagesReadLabels reports whether stages read labels (label filters and
// templates), which makes Loki run the parsers before them even when a
// query keeps no label; see sampleExtractor.dropErrors.
func sampleStagesReadLabels(stages []syntax.StageExpr) bool {
	for _, s := range stages {
		switch s.(type) {
		case *syntax.LabelFilterExpr, *syntax.LineFmtExpr, *syntax.LabelFmtExpr:
			return true
		}
	}
	return false
}
