package log

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// sampleLabelFilter is a compiled label filter that runs on a sample's labels
// after unwrap (`| unwrap x | __error__=""`), with the semantics of Loki's
// label filter stages: a typed comparison on a label that does not convert
// keeps the sample and sets __error__=LabelFilterErr; once the labels carry
// an error, typed comparisons keep every sample (only string matchers can
// filter errors out).
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
			return sampleCompare(f.Op, x, f.Value), err
		}), nil
	case *syntax.DurationLabelFilter:
		return sampleTypedFilter(f.Name, func(v string) (bool, error) {
			d, err := time.ParseDuration(v)
			return sampleCompare(f.Op, float64(d), float64(f.Value)), err
		}), nil
	case *syntax.BytesLabelFilter:
		return sampleTypedFilter(f.Name, func(v string) (bool, error) {
			b, err := sampleParseBytes(v)
			return sampleCompare(f.Op, float64(b), float64(f.Value)), err
		}), nil
	case *syntax.IPLabelFilter:
		match, err := newSampleIPMatcher(f.Pattern)
		if err != nil {
			return nil, err
		}
		name, negate := f.Name, f.Op == syntax.FilterNotEqual
		return func(s *sampleLabels) bool {
			v, ok := s.get(name)
			if !ok {
				return false
			}
			return match(v) != negate
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
		if v, _ := s.get(syntax.ErrorLabel); v != "" {
			return true
		}
		v, ok := s.get(name)
		if !ok {
			return false
		}
		keep, err := cmp(v)
		if err != nil {
			s.set(syntax.ErrorLabel, sampleErrLabelFilter)
			s.set(syntax.ErrorDetailsLabel, err.Error())
			return true
		}
		return keep
	}
}

func sampleCompare(op syntax.FilterOp, a, b float64) bool {
	switch op {
	case syntax.FilterEqual:
		return a == b
	case syntax.FilterNotEqual:
		return a != b
	case syntax.FilterGreaterThan:
		return a > b
	case syntax.FilterGreaterThanOrEqual:
		return a >= b
	case syntax.FilterLesserThan:
		return a < b
	case syntax.FilterLesserThanOrEqual:
		return a <= b
	}
	return false
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

// newSampleIPMatcher returns a matcher of values holding an IP address within
// pattern: an address, a CIDR prefix or a range "from-to". A value matches
// when it is such an address or contains one between separators.
func newSampleIPMatcher(pattern string) (func(string) bool, error) {
	var in func(netip.Addr) bool
	switch {
	case strings.Contains(pattern, "/"):
		p, err := netip.ParsePrefix(pattern)
		if err != nil {
			return nil, fmt.Errorf("ip: invalid pattern %q: %w", pattern, err)
		}
		in = p.Contains
	case strings.Contains(pattern, "-"):
		from, to, _ := strings.Cut(pattern, "-")
		a, err1 := netip.ParseAddr(strings.TrimSpace(from))
		b, err2 := netip.ParseAddr(strings.TrimSpace(to))
		if err1 != nil || err2 != nil || a.Is4() != b.Is4() {
			return nil, fmt.Errorf("ip: invalid pattern %q", pattern)
		}
		in = func(x netip.Addr) bool { return x.Is4() == a.Is4() && a.Compare(x) <= 0 && x.Compare(b) <= 0 }
	default:
		a, err := netip.ParseAddr(pattern)
		if err != nil {
			return nil, fmt.Errorf("ip: invalid pattern %q: %w", pattern, err)
		}
		in = func(x netip.Addr) bool { return x == a }
	}
	return func(v string) bool {
		for len(v) > 0 {
			i := 0
			for i < len(v) && isSampleIPChar(v[i]) {
				i++
			}
			if i > 0 {
				if a, err := netip.ParseAddr(v[:i]); err == nil && in(a.Unmap()) {
					return true
				}
			}
			if i == len(v) {
				break
			}
			v = v[i+1:]
		}
		return false
	}, nil
}

func isSampleIPChar(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f' || c == ':' || c == '.'
}
