package log

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// labelFilter decides on an entry from its labels. Filters are stateless
// and shared by every stream of a pipeline.
type labelFilter interface {
	filter(b *builder) bool
}

// labelFilterStage is a label filter stage: | status >= 500 and level="error".
type labelFilterStage struct{ f labelFilter }

func (s labelFilterStage) process(_ int64, line []byte, b *builder) ([]byte, bool) {
	return line, s.f.filter(b)
}

// newLabelFilter compiles a label filter expression.
func newLabelFilter(f syntax.LabelFilter) (labelFilter, error) {
	switch f := f.(type) {
	case *syntax.StringLabelFilter:
		return stringLabelFilter{m: f.Matcher}, nil
	case *syntax.NumericLabelFilter:
		return numericLabelFilter{name: f.Name, op: f.Op, value: f.Value}, nil
	case *syntax.DurationLabelFilter:
		return durationLabelFilter{name: f.Name, op: f.Op, value: f.Value}, nil
	case *syntax.BytesLabelFilter:
		return bytesLabelFilter{name: f.Name, op: f.Op, value: f.Value}, nil
	case *syntax.IPLabelFilter:
		m, err := newIPMatcher(f.Pattern)
		if err != nil {
			return nil, err
		}
		return ipLabelFilter{name: f.Name, not: f.Op == syntax.FilterNotEqual, m: m}, nil
	case *syntax.BinaryLabelFilter:
		l, err := newLabelFilter(f.Left)
		if err != nil {
			return nil, err
		}
		r, err := newLabelFilter(f.Right)
		if err != nil {
			return nil, err
		}
		return binaryLabelFilter{left: l, right: r, and: f.And}, nil
	}
	return nil, fmt.Errorf("%w: label filter %T", ErrUnsupported, f)
}

// stringLabelFilter compares a label as a string; a missing label compares
// as "". It is the only filter that can test __error__.
type stringLabelFilter struct{ m *labels.Matcher }

func (f stringLabelFilter) filter(b *builder) bool {
	if f.m.Name == errorLabel {
		return f.m.Matches(b.err)
	}
	v, _ := b.get(f.m.Name)
	return f.m.Matches(v)
}

// compare applies a filter operator.
func compare[T int64 | uint64 | float64](op syntax.FilterOp, v, ref T) bool {
	switch op {
	case syntax.FilterEqual:
		return v == ref
	case syntax.FilterNotEqual:
		return v != ref
	case syntax.FilterGreaterThan:
		return v > ref
	case syntax.FilterGreaterThanOrEqual:
		return v >= ref
	case syntax.FilterLesserThan:
		return v < ref
	case syntax.FilterLesserThanOrEqual:
		return v <= ref
	}
	return false
}

// conversionFailed keeps the entry and records the failure, unless an
// earlier stage already set an error (it is likely more useful).
func conversionFailed(b *builder, err error) bool {
	if b.err == "" {
		b.setErr(errLabelFilter, err.Error())
	}
	return true
}

// numericLabelFilter compares a label converted to a number. A missing
// label drops the entry; a value that is not a number keeps it with
// __error__=LabelFilterErr.
type numericLabelFilter struct {
	name  string
	op    syntax.FilterOp
	value float64
}

func (f numericLabelFilter) filter(b *builder) bool {
	s, ok := b.get(f.name)
	if !ok {
		return false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return conversionFailed(b, err)
	}
	return compare(f.op, v, f.value)
}

// durationLabelFilter compares a label converted with time.ParseDuration.
type durationLabelFilter struct {
	name  string
	op    syntax.FilterOp
	value time.Duration
}

func (f durationLabelFilter) filter(b *builder) bool {
	s, ok := b.get(f.name)
	if !ok {
		return false
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return conversionFailed(b, err)
	}
	return compare(f.op, int64(v), int64(f.value))
}

// bytesLabelFilter compares a label converted to a byte size (10KB, 1.5MiB).
type bytesLabelFilter struct {
	name  string
	op    syntax.FilterOp
	value uint64
}

func (f bytesLabelFilter) filter(b *builder) bool {
	s, ok := b.get(f.name)
	if !ok {
		return false
	}
	v, err := syntax.ParseBytes(s)
	if err != nil {
		return conversionFailed(b, err)
	}
	return compare(f.op, v, f.value)
}

// ipLabelFilter matches a label holding IP addresses against ip("…"). Like
// Loki it keeps every entry that already has an error, and drops entries
// without the label.
type ipLabelFilter struct {
	name string
	not  bool
	m    *ipMatcher
}

func (f ipLabelFilter) filter(b *builder) bool {
	if b.err != "" {
		return true
	}
	s, ok := b.get(f.name)
	if !ok {
		return false
	}
	match := len(s) > 0 && f.m.inText(unsafeBytes(s))
	return match != f.not
}

// binaryLabelFilter is `and` (also , and juxtaposition) or `or`.
type binaryLabelFilter struct {
	left, right labelFilter
	and         bool
}

func (f binaryLabelFilter) filter(b *builder) bool {
	l := f.left.filter(b)
	if f.and {
		return l && f.right.filter(b)
	}
	return l || f.right.filter(b)
}
