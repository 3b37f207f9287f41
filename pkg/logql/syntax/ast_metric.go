package syntax

import (
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Operation names, as LogQL spells them.
const (
	// Vector aggregations.
	OpTypeSum        = "sum"
	OpTypeAvg        = "avg"
	OpTypeMax        = "max"
	OpTypeMin        = "min"
	OpTypeCount      = "count"
	OpTypeStddev     = "stddev"
	OpTypeStdvar     = "stdvar"
	OpTypeBottomK    = "bottomk"
	OpTypeTopK       = "topk"
	OpTypeSort       = "sort"
	OpTypeSortDesc   = "sort_desc"
	OpTypeApproxTopK = "approx_topk"

	// Range aggregations.
	OpRangeTypeCount       = "count_over_time"
	OpRangeTypeRate        = "rate"
	OpRangeTypeRateCounter = "rate_counter"
	OpRangeTypeBytes       = "bytes_over_time"
	OpRangeTypeBytesRate   = "bytes_rate"
	OpRangeTypeAvg         = "avg_over_time"
	OpRangeTypeSum         = "sum_over_time"
	OpRangeTypeMin         = "min_over_time"
	OpRangeTypeMax         = "max_over_time"
	OpRangeTypeStdvar      = "stdvar_over_time"
	OpRangeTypeStddev      = "stddev_over_time"
	OpRangeTypeQuantile    = "quantile_over_time"
	OpRangeTypeFirst       = "first_over_time"
	OpRangeTypeLast        = "last_over_time"
	OpRangeTypeAbsent      = "absent_over_time"

	// Functions.
	OpTypeVector   = "vector"
	OpLabelReplace = "label_replace"
	OpFilterIP     = "ip"

	// Binary operators: logical/set, arithmetic, comparison.
	OpTypeOr     = "or"
	OpTypeAnd    = "and"
	OpTypeUnless = "unless"
	OpTypeAdd    = "+"
	OpTypeSub    = "-"
	OpTypeMul    = "*"
	OpTypeDiv    = "/"
	OpTypeMod    = "%"
	OpTypePow    = "^"
	OpTypeCmpEQ  = "=="
	OpTypeNEQ    = "!="
	OpTypeGT     = ">"
	OpTypeGTE    = ">="
	OpTypeLT     = "<"
	OpTypeLTE    = "<="

	// Unwrap conversions.
	OpConvBytes           = "bytes"
	OpConvDuration        = "duration"
	OpConvDurationSeconds = "duration_seconds"

	// logfmt flags.
	OpStrict    = "--strict"
	OpKeepEmpty = "--keep-empty"

	// ErrorLabel and ErrorDetailsLabel are the labels a failing stage sets.
	ErrorLabel        = "__error__"
	ErrorDetailsLabel = "__error_details__"
)

// IsComparisonOperator reports whether op is == != > >= < <=.
func IsComparisonOperator(op string) bool {
	switch op {
	case OpTypeCmpEQ, OpTypeNEQ, OpTypeGT, OpTypeGTE, OpTypeLT, OpTypeLTE:
		return true
	}
	return false
}

// IsLogicalBinOp reports whether op is one of the set operators and, or, unless.
func IsLogicalBinOp(op string) bool {
	return op == OpTypeOr || op == OpTypeAnd || op == OpTypeUnless
}

// Grouping is `by (…)` or `without (…)`. Groups is nil for `by ()`, which
// differs from no grouping only in how it is written.
type Grouping struct {
	Without bool
	Groups  []string
}

// RangeAggregationExpr is a function over a log range:
// count_over_time({app="api"}[5m]), quantile_over_time(0.99, … | unwrap d [5m]) by (path).
type RangeAggregationExpr struct {
	Op       string // an OpRangeType constant
	Left     *LogRangeExpr
	Param    *float64  // φ of quantile_over_time, else nil
	Grouping *Grouping // nil when absent; only unwrapped functions allow one
}

// Selector returns the log query the aggregation reads.
func (e *RangeAggregationExpr) Selector() LogSelectorExpr { return e.Left.Left }

// VectorAggregationExpr is an aggregation over a metric query:
// sum by (app) (rate(…)), topk(10, …).
type VectorAggregationExpr struct {
	Op       string // an OpType constant
	Left     SampleExpr
	Grouping *Grouping // nil when absent
	Param    int       // k of topk, bottomk and approx_topk, else 0
}

// VectorMatchCardinality is the cardinality of a vector binary operation.
type VectorMatchCardinality int

// The cardinalities: one-to-one, or group_left / group_right.
const (
	CardOneToOne VectorMatchCardinality = iota
	CardManyToOne
	CardOneToMany
)

func (c VectorMatchCardinality) String() string {
	switch c {
	case CardOneToOne:
		return "one-to-one"
	case CardManyToOne:
		return "many-to-one"
	case CardOneToMany:
		return "one-to-many"
	}
	return fmt.Sprintf("VectorMatchCardinality(%d)", int(c))
}

// VectorMatching is the on/ignoring clause of a binary operation and its
// group_left/group_right. With On false MatchingLabels are the ignored labels.
type VectorMatching struct {
	On             bool
	MatchingLabels []string
	Card           VectorMatchCardinality
	Include        []string // labels of group_left (…) / group_right (…)
}

// BinOpExpr is a binary operation. Two constant legs are kept as written
// (ConstantValue evaluates them); Loki's engine folds them with its scalar
// rules, which this package documents there.
type BinOpExpr struct {
	Op         string // an OpType binary operator constant
	LHS, RHS   SampleExpr
	ReturnBool bool
	// VectorMatching is nil without on/ignoring.
	VectorMatching *VectorMatching
}

// LiteralExpr is a number: 2, -1.5, 1e3. A query made of literals is a scalar.
type LiteralExpr struct {
	Val float64
}

// VectorExpr is vector(1): a one-element vector without labels.
type VectorExpr struct {
	Val float64
}

// LabelReplaceExpr is label_replace(v, "dst", "replacement", "src", "regex");
// the regexp is anchored at both ends.
type LabelReplaceExpr struct {
	Left        SampleExpr
	Dst         string
	Replacement string
	Src         string
	Regex       string
}

// LabelFilter is a node of a label filter expression: *StringLabelFilter,
// *NumericLabelFilter, *DurationLabelFilter, *BytesLabelFilter,
// *IPLabelFilter or *BinaryLabelFilter.
type LabelFilter interface {
	fmt.Stringer
	isLabelFilter()
}

// FilterOp is the comparison of a typed label filter.
type FilterOp int

// The comparisons; `=` and `==` are both FilterEqual.
const (
	FilterEqual FilterOp = iota
	FilterNotEqual
	FilterGreaterThan
	FilterGreaterThanOrEqual
	FilterLesserThan
	FilterLesserThanOrEqual
)

var filterOpNames = [...]string{"==", "!=", ">", ">=", "<", "<="}

func (op FilterOp) String() string {
	if op < 0 || int(op) >= len(filterOpNames) {
		return fmt.Sprintf("FilterOp(%d)", int(op))
	}
	return filterOpNames[op]
}

// StringLabelFilter compares a label as a string: = != =~ !~ "value".
type StringLabelFilter struct {
	Matcher *labels.Matcher
}

// NumericLabelFilter compares a label converted to a number: status >= 500.
type NumericLabelFilter struct {
	Name  string
	Op    FilterOp
	Value float64
}

// DurationLabelFilter compares a label converted to a duration: latency > 250ms.
type DurationLabelFilter struct {
	Name  string
	Op    FilterOp
	Value time.Duration
}

// BytesLabelFilter compares a label converted to a byte size: size > 20MB.
type BytesLabelFilter struct {
	Name  string
	Op    FilterOp
	Value uint64
}

// IPLabelFilter matches a label holding an IP address against ip("…"); Op
// is FilterEqual or FilterNotEqual.
type IPLabelFilter struct {
	Name    string
	Op      FilterOp
	Pattern string
}

// BinaryLabelFilter combines two filters with and (also written `,` or as
// juxtaposition) or or. And binds tighter than or; chains of and are kept
// left-deep.
type BinaryLabelFilter struct {
	Left, Right LabelFilter
	And         bool
}

func (*StringLabelFilter) isLabelFilter()   {}
func (*NumericLabelFilter) isLabelFilter()  {}
func (*DurationLabelFilter) isLabelFilter() {}
func (*BytesLabelFilter) isLabelFilter()    {}
func (*IPLabelFilter) isLabelFilter()       {}
func (*BinaryLabelFilter) isLabelFilter()   {}

// newAndFilter joins two filters with and, keeping and-chains left-deep so
// that `a, b, c` (which Loki's grammar nests to the right) and `a and b and
// c` give the same tree; and is associative, so the meaning is unchanged.
func newAndFilter(left, right LabelFilter) LabelFilter {
	if r, ok := right.(*BinaryLabelFilter); ok && r.And {
		return newAndFilter(newAndFilter(left, r.Left), r.Right)
	}
	return &BinaryLabelFilter{Left: left, Right: right, And: true}
}
