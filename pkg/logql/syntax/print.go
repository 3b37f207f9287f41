package syntax

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// quote quotes a string for LogQL: back-quoted when that spares escaping
// backslashes (regexps read better), else double-quoted with Go escapes.
func quote(s string) string {
	if strings.IndexByte(s, '\\') >= 0 && strconv.CanBackquote(s) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// formatDuration prints a duration the lexer reads back exactly: in
// Prometheus units (1h30m, 1w) when it is whole milliseconds, else in Go's.
func formatDuration(d time.Duration) string {
	if d%time.Millisecond == 0 {
		return model.Duration(d).String()
	}
	return d.String()
}

var byteUnitNames = []struct {
	name string
	size uint64
}{
	{"TiB", 1 << 40}, {"TB", 1e12},
	{"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6},
	{"KiB", 1 << 10}, {"kB", 1e3},
}

// formatBytes prints a byte size exactly, in the largest unit that divides
// it. There is no PB: Loki's lexer reads its P as an exponent.
func formatBytes(b uint64) string {
	if b == 0 {
		return "0kB" // "0B" would read as an empty binary literal
	}
	for _, u := range byteUnitNames {
		if b%u.size == 0 {
			return strconv.FormatUint(b/u.size, 10) + u.name
		}
	}
	return strconv.FormatUint(b, 10) + "B"
}

func writeMatcher(sb *strings.Builder, m *labels.Matcher) {
	sb.WriteString(m.Name)
	sb.WriteString(m.Type.String())
	sb.WriteString(quote(m.Value))
}

// MatchersString prints matchers as a stream selector: {a="b", c=~"d"}.
func MatchersString(ms []*labels.Matcher) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			sb.WriteString(", ")
		}
		writeMatcher(&sb, m)
	}
	sb.WriteByte('}')
	return sb.String()
}

func (e *MatchersExpr) String() string { return MatchersString(e.Mts) }

func (e *PipelineExpr) String() string {
	var sb strings.Builder
	sb.WriteString(e.Left.String())
	for _, s := range e.Pipeline {
		sb.WriteByte(' ')
		sb.WriteString(s.String())
	}
	return sb.String()
}

func (e *LineFilterExpr) String() string {
	var sb strings.Builder
	sb.WriteString(e.Op.String())
	for i, v := range e.Values {
		if i > 0 {
			sb.WriteString(" or")
		}
		sb.WriteByte(' ')
		if v.IP {
			sb.WriteString(`ip(` + quote(v.Value) + `)`)
		} else {
			sb.WriteString(quote(v.Value))
		}
	}
	return sb.String()
}

func (e *LabelFilterExpr) String() string { return "| " + e.Filter.String() }

func writeExtractions(sb *strings.Builder, params []LabelExtraction) {
	for i, x := range params {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(x.Name)
		sb.WriteByte('=')
		sb.WriteString(quote(x.Expression))
	}
}

func (e *JSONParserExpr) String() string {
	if len(e.Params) == 0 {
		return "| json"
	}
	var sb strings.Builder
	sb.WriteString("| json ")
	writeExtractions(&sb, e.Params)
	return sb.String()
}

func (e *LogfmtParserExpr) String() string {
	var sb strings.Builder
	sb.WriteString("| logfmt")
	if e.Strict {
		sb.WriteString(" " + OpStrict)
	}
	if e.KeepEmpty {
		sb.WriteString(" " + OpKeepEmpty)
	}
	if len(e.Params) > 0 {
		sb.WriteByte(' ')
		writeExtractions(&sb, e.Params)
	}
	return sb.String()
}

func (e *RegexpParserExpr) String() string  { return "| regexp " + quote(e.Regexp) }
func (e *PatternParserExpr) String() string { return "| pattern " + quote(e.Pattern) }
func (e *UnpackParserExpr) String() string  { return "| unpack" }
func (e *DecolorizeExpr) String() string    { return "| decolorize" }
func (e *LineFmtExpr) String() string       { return "| line_format " + quote(e.Template) }

func (e *LabelFmtExpr) String() string {
	var sb strings.Builder
	sb.WriteString("| label_format ")
	for i, f := range e.Formats {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(f.Name)
		sb.WriteByte('=')
		if f.Rename {
			sb.WriteString(f.Value)
		} else {
			sb.WriteString(quote(f.Value))
		}
	}
	return sb.String()
}

func namedMatchersString(stage string, ms []NamedMatcher) string {
	var sb strings.Builder
	sb.WriteString(stage)
	for i, m := range ms {
		if i > 0 {
			sb.WriteByte(',')
		}
		if m.Matcher != nil {
			writeMatcher(&sb, m.Matcher)
		} else {
			sb.WriteString(m.Name)
		}
	}
	return sb.String()
}

func (e *DropLabelsExpr) String() string { return namedMatchersString("| drop ", e.Labels) }
func (e *KeepLabelsExpr) String() string { return namedMatchersString("| keep ", e.Labels) }

func (e *UnwrapExpr) String() string {
	var sb strings.Builder
	sb.WriteString("| unwrap ")
	if e.Conv != "" {
		sb.WriteString(e.Conv + "(" + e.Label + ")")
	} else {
		sb.WriteString(e.Label)
	}
	for _, f := range e.PostFilters {
		sb.WriteString(" | ")
		sb.WriteString(f.String())
	}
	return sb.String()
}

func (e *LogRangeExpr) String() string {
	var sb strings.Builder
	sb.WriteString(e.Left.String())
	if e.Unwrap != nil {
		sb.WriteByte(' ')
		sb.WriteString(e.Unwrap.String())
	}
	if e.Unwrap != nil || len(e.Left.Stages()) > 0 {
		sb.WriteByte(' ')
	}
	sb.WriteString("[" + model.Duration(e.Interval).String() + "]")
	if e.Offset != 0 {
		sb.WriteString(" offset " + formatDuration(e.Offset))
	}
	return sb.String()
}

func (g *Grouping) String() string {
	var sb strings.Builder
	if g.Without {
		sb.WriteString("without (")
	} else {
		sb.WriteString("by (")
	}
	sb.WriteString(strings.Join(g.Groups, ", "))
	sb.WriteByte(')')
	return sb.String()
}

func (e *RangeAggregationExpr) String() string {
	var sb strings.Builder
	sb.WriteString(e.Op)
	sb.WriteByte('(')
	if e.Param != nil {
		sb.WriteString(formatFloat(*e.Param))
		sb.WriteString(", ")
	}
	sb.WriteString(e.Left.String())
	sb.WriteByte(')')
	if e.Grouping != nil {
		sb.WriteByte(' ')
		sb.WriteString(e.Grouping.String())
	}
	return sb.String()
}

func (e *VectorAggregationExpr) String() string {
	var sb strings.Builder
	sb.WriteString(e.Op)
	if e.Grouping != nil {
		sb.WriteByte(' ')
		sb.WriteString(e.Grouping.String())
		sb.WriteByte(' ')
	}
	sb.WriteByte('(')
	switch e.Op {
	case OpTypeTopK, OpTypeBottomK, OpTypeApproxTopK:
		sb.WriteString(strconv.Itoa(e.Param))
		sb.WriteString(", ")
	}
	sb.WriteString(e.Left.String())
	sb.WriteByte(')')
	return sb.String()
}

// binOpPrecedence is the precedence of a binary operator, 1 (or) to 6 (^):
// the parser climbs it and String parenthesizes by it.
func binOpPrecedence(op string) int {
	switch op {
	case OpTypeOr:
		return 1
	case OpTypeAnd, OpTypeUnless:
		return 2
	case OpTypeCmpEQ, OpTypeNEQ, OpTypeGT, OpTypeGTE, OpTypeLT, OpTypeLTE:
		return 3
	case OpTypeAdd, OpTypeSub:
		return 4
	case OpTypeMul, OpTypeDiv, OpTypeMod:
		return 5
	case OpTypePow:
		return 6
	}
	return 7
}

// writeOperand prints an operand of a binary operation, in parentheses when
// the precedence and associativity of the operation require them.
func writeOperand(sb *strings.Builder, e SampleExpr, parentPrec int, parens bool) {
	if child, ok := e.(*BinOpExpr); ok {
		prec := binOpPrecedence(child.Op)
		if prec < parentPrec || prec == parentPrec && parens {
			sb.WriteByte('(')
			sb.WriteString(e.String())
			sb.WriteByte(')')
			return
		}
	}
	sb.WriteString(e.String())
}

func (e *BinOpExpr) String() string {
	var sb strings.Builder
	prec := binOpPrecedence(e.Op)
	pow := e.Op == OpTypePow // right-associative
	writeOperand(&sb, e.LHS, prec, pow)
	sb.WriteByte(' ')
	sb.WriteString(e.Op)
	if e.ReturnBool {
		sb.WriteString(" bool")
	}
	if vm := e.VectorMatching; vm != nil {
		if vm.On {
			sb.WriteString(" on (")
		} else {
			sb.WriteString(" ignoring (")
		}
		sb.WriteString(strings.Join(vm.MatchingLabels, ", "))
		sb.WriteByte(')')
		switch vm.Card {
		case CardManyToOne:
			sb.WriteString(" group_left")
		case CardOneToMany:
			sb.WriteString(" group_right")
		}
		if vm.Card != CardOneToOne && len(vm.Include) > 0 {
			sb.WriteString(" (" + strings.Join(vm.Include, ", ") + ")")
		}
	}
	sb.WriteByte(' ')
	writeOperand(&sb, e.RHS, prec, !pow)
	return sb.String()
}

func (e *LiteralExpr) String() string { return formatFloat(e.Val) }

func (e *VectorExpr) String() string { return "vector(" + formatFloat(e.Val) + ")" }

func (e *LabelReplaceExpr) String() string {
	return "label_replace(" + e.Left.String() + ", " + quote(e.Dst) + ", " + quote(e.Replacement) +
		", " + quote(e.Src) + ", " + quote(e.Regex) + ")"
}

func (f *StringLabelFilter) String() string {
	var sb strings.Builder
	writeMatcher(&sb, f.Matcher)
	return sb.String()
}

func (f *NumericLabelFilter) String() string {
	return f.Name + " " + f.Op.String() + " " + formatFloat(f.Value)
}

func (f *DurationLabelFilter) String() string {
	return f.Name + " " + f.Op.String() + " " + formatDuration(f.Value)
}

func (f *BytesLabelFilter) String() string {
	return f.Name + " " + f.Op.String() + " " + formatBytes(f.Value)
}

func (f *IPLabelFilter) String() string {
	op := "="
	if f.Op == FilterNotEqual {
		op = "!="
	}
	return f.Name + op + "ip(" + quote(f.Pattern) + ")"
}

// labelFilterPrecedence: or 1, and 2, a single filter 3.
func labelFilterPrecedence(f LabelFilter) int {
	if b, ok := f.(*BinaryLabelFilter); ok {
		if b.And {
			return 2
		}
		return 1
	}
	return 3
}

func (f *BinaryLabelFilter) String() string {
	prec := labelFilterPrecedence(f)
	var sb strings.Builder
	if labelFilterPrecedence(f.Left) < prec {
		sb.WriteString("(" + f.Left.String() + ")")
	} else {
		sb.WriteString(f.Left.String())
	}
	if f.And {
		sb.WriteString(" and ")
	} else {
		sb.WriteString(" or ")
	}
	if labelFilterPrecedence(f.Right) <= prec {
		sb.WriteString("(" + f.Right.String() + ")")
	} else {
		sb.WriteString(f.Right.String())
	}
	return sb.String()
}
