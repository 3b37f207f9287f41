package syntax

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// sexpr prints a tree in a compact, fully parenthesised test notation that
// shows every node type and field, so that table tests can state the
// expected shape of a parse.
func sexpr(e Expr) string {
	switch n := e.(type) {
	case nil:
		return "<nil>"
	case *MatchersExpr:
		parts := make([]string, len(n.Mts))
		for i, m := range n.Mts {
			parts[i] = matcherSexpr(m)
		}
		return "{" + strings.Join(parts, ",") + "}"
	case *PipelineExpr:
		parts := []string{sexpr(n.Left)}
		for _, s := range n.Pipeline {
			parts = append(parts, sexpr(s))
		}
		return strings.Join(parts, " | ")
	case *LineFilterExpr:
		parts := make([]string, len(n.Values))
		for i, v := range n.Values {
			parts[i] = strconv.Quote(v.Value)
			if v.IP {
				parts[i] = "ip(" + parts[i] + ")"
			}
		}
		return n.Op.String() + " " + strings.Join(parts, " or ")
	case *LabelFilterExpr:
		return "lf(" + filterSexpr(n.Filter) + ")"
	case *JSONParserExpr:
		return "json" + extractionsSexpr(n.Params)
	case *LogfmtParserExpr:
		s := "logfmt"
		if n.Strict {
			s += "[strict]"
		}
		if n.KeepEmpty {
			s += "[keep-empty]"
		}
		return s + extractionsSexpr(n.Params)
	case *RegexpParserExpr:
		return "regexp(" + strconv.Quote(n.Regexp) + ")"
	case *PatternParserExpr:
		return "pattern(" + strconv.Quote(n.Pattern) + ")"
	case *UnpackParserExpr:
		return "unpack"
	case *DecolorizeExpr:
		return "decolorize"
	case *LineFmtExpr:
		return "line_format(" + strconv.Quote(n.Template) + ")"
	case *LabelFmtExpr:
		parts := make([]string, len(n.Formats))
		for i, f := range n.Formats {
			if f.Rename {
				parts[i] = f.Name + "=" + f.Value
			} else {
				parts[i] = f.Name + "=" + strconv.Quote(f.Value)
			}
		}
		return "label_format(" + strings.Join(parts, ",") + ")"
	case *DropLabelsExpr:
		return "drop(" + namedSexpr(n.Labels) + ")"
	case *KeepLabelsExpr:
		return "keep(" + namedSexpr(n.Labels) + ")"
	case *UnwrapExpr:
		s := "unwrap(" + n.Label
		if n.Conv != "" {
			s = "unwrap(" + n.Conv + ":" + n.Label
		}
		for _, f := range n.PostFilters {
			s += " | " + filterSexpr(f)
		}
		return s + ")"
	case *LogRangeExpr:
		s := "range(" + sexpr(n.Left) + ", " + n.Interval.String()
		if n.Offset != 0 {
			s += ", offset " + n.Offset.String()
		}
		if n.Unwrap != nil {
			s += ", " + sexpr(n.Unwrap)
		}
		return s + ")"
	case *RangeAggregationExpr:
		s := n.Op + "("
		if n.Param != nil {
			s += fmt.Sprintf("%g, ", *n.Param)
		}
		return s + sexpr(n.Left) + ")" + groupingSexpr(n.Grouping)
	case *VectorAggregationExpr:
		s := n.Op + "("
		if n.Param != 0 {
			s += fmt.Sprintf("%d, ", n.Param)
		}
		return s + sexpr(n.Left) + ")" + groupingSexpr(n.Grouping)
	case *BinOpExpr:
		op := n.Op
		if n.ReturnBool {
			op += " bool"
		}
		if vm := n.VectorMatching; vm != nil {
			if vm.On {
				op += " on(" + strings.Join(vm.MatchingLabels, ",") + ")"
			} else {
				op += " ignoring(" + strings.Join(vm.MatchingLabels, ",") + ")"
			}
			switch vm.Card {
			case CardManyToOne:
				op += " group_left(" + strings.Join(vm.Include, ",") + ")"
			case CardOneToMany:
				op += " group_right(" + strings.Join(vm.Include, ",") + ")"
			}
		}
		return "(" + sexpr(n.LHS) + " " + op + " " + sexpr(n.RHS) + ")"
	case *LiteralExpr:
		return fmt.Sprintf("%g", n.Val)
	case *VectorExpr:
		return fmt.Sprintf("vector(%g)", n.Val)
	case *LabelReplaceExpr:
		return fmt.Sprintf("label_replace(%s, %q, %q, %q, %q)", sexpr(n.Left), n.Dst, n.Replacement, n.Src, n.Regex)
	}
	return fmt.Sprintf("<%T>", e)
}

func matcherSexpr(m *labels.Matcher) string {
	return m.Name + m.Type.String() + strconv.Quote(m.Value)
}

func filterSexpr(f LabelFilter) string {
	switch f := f.(type) {
	case *StringLabelFilter:
		return matcherSexpr(f.Matcher)
	case *NumericLabelFilter:
		return fmt.Sprintf("num(%s%s%g)", f.Name, f.Op, f.Value)
	case *DurationLabelFilter:
		return fmt.Sprintf("dur(%s%s%s)", f.Name, f.Op, f.Value)
	case *BytesLabelFilter:
		return fmt.Sprintf("bytes(%s%s%d)", f.Name, f.Op, f.Value)
	case *IPLabelFilter:
		return fmt.Sprintf("ip(%s%s%q)", f.Name, f.Op, f.Pattern)
	case *BinaryLabelFilter:
		if f.And {
			return "and(" + filterSexpr(f.Left) + ", " + filterSexpr(f.Right) + ")"
		}
		return "or(" + filterSexpr(f.Left) + ", " + filterSexpr(f.Right) + ")"
	}
	return fmt.Sprintf("<%T>", f)
}

func extractionsSexpr(params []LabelExtraction) string {
	if params == nil {
		return ""
	}
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = p.Name + "=" + strconv.Quote(p.Expression)
	}
	return "(" + strings.Join(parts, ",") + ")"
}

func namedSexpr(ms []NamedMatcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		if m.Matcher != nil {
			parts[i] = matcherSexpr(m.Matcher)
		} else {
			parts[i] = m.Name
		}
	}
	return strings.Join(parts, ",")
}

func groupingSexpr(g *Grouping) string {
	if g == nil {
		return ""
	}
	if g.Without {
		return " without(" + strings.Join(g.Groups, ",") + ")"
	}
	return " by(" + strings.Join(g.Groups, ",") + ")"
}

// deepDump prints every exported field of a tree by reflection, so two trees
// with equal dumps are identical (nil and empty slices differ, -0 and 0
// differ); matchers print as type, name and value.
func deepDump(v any) string {
	var sb strings.Builder
	dumpValue(&sb, reflect.ValueOf(v))
	return sb.String()
}

var matcherType = reflect.TypeOf(&labels.Matcher{})

func dumpValue(sb *strings.Builder, v reflect.Value) {
	if !v.IsValid() {
		sb.WriteString("<invalid>")
		return
	}
	if v.Type() == matcherType {
		if v.IsNil() {
			sb.WriteString("nil")
			return
		}
		m := v.Interface().(*labels.Matcher)
		fmt.Fprintf(sb, "matcher(%d,%q,%q)", m.Type, m.Name, m.Value)
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			sb.WriteString("nil")
			return
		}
		if v.Kind() == reflect.Pointer {
			sb.WriteByte('&')
		}
		dumpValue(sb, v.Elem())
	case reflect.Struct:
		sb.WriteString(v.Type().Name() + "{")
		for i := 0; i < v.NumField(); i++ {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			sb.WriteString(v.Type().Field(i).Name + ":")
			dumpValue(sb, v.Field(i))
			sb.WriteByte(' ')
		}
		sb.WriteByte('}')
	case reflect.Slice:
		if v.IsNil() {
			sb.WriteString("nil")
			return
		}
		sb.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			dumpValue(sb, v.Index(i))
			sb.WriteByte(',')
		}
		sb.WriteByte(']')
	case reflect.Float64:
		f := v.Float()
		if f == 0 && math.Signbit(f) {
			sb.WriteString("-0")
			return
		}
		sb.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case reflect.Int64:
		if v.Type() == reflect.TypeOf(time.Duration(0)) {
			sb.WriteString(time.Duration(v.Int()).String())
			return
		}
		fmt.Fprint(sb, v.Interface())
	default:
		fmt.Fprintf(sb, "%#v", v.Interface())
	}
}
