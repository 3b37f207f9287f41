package syntax

import (
	"math"
)

// Walk visits e and its descendants depth-first, parents before children and
// children left to right; it does not descend below a node for which fn
// returns false. Pipeline stages, log ranges and unwraps are nodes; the label
// filters inside a stage are reached through its fields.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch n := e.(type) {
	case *PipelineExpr:
		Walk(n.Left, fn)
		for _, s := range n.Pipeline {
			Walk(s, fn)
		}
	case *LogRangeExpr:
		Walk(n.Left, fn)
		if n.Unwrap != nil {
			Walk(n.Unwrap, fn)
		}
	case *RangeAggregationExpr:
		if n.Left != nil {
			Walk(n.Left, fn)
		}
	case *VectorAggregationExpr:
		Walk(n.Left, fn)
	case *BinOpExpr:
		Walk(n.LHS, fn)
		Walk(n.RHS, fn)
	case *LabelReplaceExpr:
		Walk(n.Left, fn)
	}
}

// Selectors returns every log query in e, left to right: e itself for a log
// query, the log query of each range aggregation for a metric query.
func Selectors(e Expr) []LogSelectorExpr {
	var out []LogSelectorExpr
	Walk(e, func(n Expr) bool {
		if s, ok := n.(LogSelectorExpr); ok {
			out = append(out, s)
			return false
		}
		return true
	})
	return out
}

// OnlyLineFilters reports whether the pipeline of e has line filters only
// (or no stage), so that labels pass through it unchanged.
func OnlyLineFilters(e LogSelectorExpr) bool {
	for _, s := range e.Stages() {
		if _, ok := s.(*LineFilterExpr); !ok {
			return false
		}
	}
	return true
}

// HeadLineFilters returns the line filters of e's pipeline that can run on
// the raw line before any other stage: every line filter that comes before
// the first stage that rewrites the line (line_format, decolorize, unpack).
// The other stages before them only read the line or change labels, and a
// line filter drops or keeps a line whatever they do, so running these
// filters first (for example while scanning chunks) keeps the result.
func HeadLineFilters(e LogSelectorExpr) []*LineFilterExpr {
	var out []*LineFilterExpr
	for _, s := range e.Stages() {
		switch s := s.(type) {
		case *LineFilterExpr:
			out = append(out, s)
		case *LineFmtExpr, *DecolorizeExpr, *UnpackParserExpr:
			return out
		}
	}
	return out
}

// ConstantValue evaluates a metric expression made only of number literals
// (2, -1, (1 + 2) * 3) and reports whether it is one. It applies Loki's
// scalar rules: x/0 and x%0 are NaN, a comparison is 1 or 0 whether or not
// bool is given, and and/or/unless are not constant.
func ConstantValue(e SampleExpr) (float64, bool) {
	switch n := e.(type) {
	case *LiteralExpr:
		return n.Val, true
	case *BinOpExpr:
		if IsLogicalBinOp(n.Op) || n.LHS == nil || n.RHS == nil {
			return 0, false
		}
		l, ok := ConstantValue(n.LHS)
		if !ok {
			return 0, false
		}
		r, ok := ConstantValue(n.RHS)
		if !ok {
			return 0, false
		}
		return ScalarBinOp(n.Op, l, r), true
	}
	return 0, false
}

// ScalarBinOp applies an arithmetic or comparison operator to two scalars
// with Loki's rules: division and modulo by zero give NaN; comparisons give
// 1 for true and 0 for false. Other operators give NaN.
func ScalarBinOp(op string, l, r float64) float64 {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	switch op {
	case OpTypeAdd:
		return l + r
	case OpTypeSub:
		return l - r
	case OpTypeMul:
		return l * r
	case OpTypeDiv:
		if r == 0 {
			return math.NaN()
		}
		return l / r
	case OpTypeMod:
		if r == 0 {
			return math.NaN()
		}
		return math.Mod(l, r)
	case OpTypePow:
		return math.Pow(l, r)
	case OpTypeCmpEQ:
		return b(l == r)
	case OpTypeNEQ:
		return b(l != r)
	case OpTypeGT:
		return b(l > r)
	case OpTypeGTE:
		return b(l >= r)
	case OpTypeLT:
		return b(l < r)
	case OpTypeLTE:
		return b(l <= r)
	}
	return math.NaN()
}
