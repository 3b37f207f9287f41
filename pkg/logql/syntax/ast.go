package syntax

import (
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Expr is a node of a parsed query. String prints it back in canonical form:
// parsing that text gives an identical tree. Use Walk to traverse a tree.
type Expr interface {
	fmt.Stringer
	isExpr()
}

// LogSelectorExpr is a log query: a stream selector and its pipeline. It is
// either a *MatchersExpr (no pipeline) or a *PipelineExpr.
type LogSelectorExpr interface {
	Expr
	// Matchers are the stream selector's matchers.
	Matchers() []*labels.Matcher
	// Stages are the pipeline stages, in order; nil without a pipeline.
	Stages() []StageExpr
	isLogSelector()
}

// SampleExpr is a metric query: *RangeAggregationExpr,
// *VectorAggregationExpr, *BinOpExpr, *LiteralExpr, *VectorExpr or
// *LabelReplaceExpr.
type SampleExpr interface {
	Expr
	isSampleExpr()
}

// StageExpr is one stage of a pipeline: *LineFilterExpr, *LabelFilterExpr, a
// parser (*JSONParserExpr, *LogfmtParserExpr, *RegexpParserExpr,
// *PatternParserExpr, *UnpackParserExpr), *LineFmtExpr, *LabelFmtExpr,
// *DropLabelsExpr, *KeepLabelsExpr or *DecolorizeExpr.
type StageExpr interface {
	Expr
	isStage()
}

// MatchersExpr is a stream selector: {app="api", env=~"prod|dev"}.
type MatchersExpr struct {
	Mts []*labels.Matcher
}

// PipelineExpr is a stream selector followed by one or more stages:
// {app="api"} |= "error" | json | status >= 500.
type PipelineExpr struct {
	Left     *MatchersExpr
	Pipeline []StageExpr
}

// Matchers implements LogSelectorExpr.
func (e *MatchersExpr) Matchers() []*labels.Matcher { return e.Mts }

// Stages implements LogSelectorExpr: a bare selector has none.
func (e *MatchersExpr) Stages() []StageExpr { return nil }

// Matchers implements LogSelectorExpr.
func (e *PipelineExpr) Matchers() []*labels.Matcher { return e.Left.Mts }

// Stages implements LogSelectorExpr.
func (e *PipelineExpr) Stages() []StageExpr { return e.Pipeline }

// LineMatchType is the operator of a line filter.
type LineMatchType int

// The line filter operators.
const (
	LineMatchEqual      LineMatchType = iota // |=  line contains
	LineMatchNotEqual                        // !=  line does not contain
	LineMatchRegexp                          // |~  line matches the regexp (unanchored)
	LineMatchNotRegexp                       // !~  line does not match the regexp
	LineMatchPattern                         // |>  line matches the pattern (<_> wildcards)
	LineMatchNotPattern                      // !>  line does not match the pattern
)

var lineMatchNames = [...]string{"|=", "!=", "|~", "!~", "|>", "!>"}

func (t LineMatchType) String() string {
	if t < 0 || int(t) >= len(lineMatchNames) {
		return fmt.Sprintf("LineMatchType(%d)", int(t))
	}
	return lineMatchNames[t]
}

// Negated reports whether the operator keeps the lines that do not match.
func (t LineMatchType) Negated() bool {
	return t == LineMatchNotEqual || t == LineMatchNotRegexp || t == LineMatchNotPattern
}

// LineFilterExpr is one line filter stage: an operator and one or more
// alternatives joined by `or` (|= "a" or "b" or ip("10.0.0.0/8")).
//
// A positive operator (|=, |~, |>) keeps a line when any alternative
// matches; a negated one (!=, !~, !>) keeps it when none matches, so
// `!= "a" or "b"` is `!= "a" != "b"`, as in Loki. Consecutive filters are
// separate stages (they AND).
type LineFilterExpr struct {
	Op     LineMatchType
	Values []LineFilterValue
}

// LineFilterValue is one alternative of a line filter: a string, regexp or
// pattern, or with IP set an ip("…") matcher (an address, a CIDR or a range
// a-b) that matches a line containing a matching IP address.
type LineFilterValue struct {
	Value string
	IP    bool
}

// LabelFilterExpr is a label filter stage: | status >= 500 and level="error".
type LabelFilterExpr struct {
	Filter LabelFilter
}

// LabelExtraction is a parameter of json or logfmt: extract Expression into
// label Name (`name="a.b[0]"`; a bare `name` extracts the key name).
type LabelExtraction struct {
	Name       string
	Expression string
}

// JSONParserExpr is `| json`: without Params every field is extracted
// (nested keys joined with _); with Params only those expressions.
type JSONParserExpr struct {
	Params []LabelExtraction
}

// LogfmtParserExpr is `| logfmt [--strict] [--keep-empty] [params]`.
type LogfmtParserExpr struct {
	Strict    bool
	KeepEmpty bool
	Params    []LabelExtraction
}

// RegexpParserExpr is `| regexp "(?P<name>…)"`: named groups become labels.
type RegexpParserExpr struct {
	Regexp string
}

// PatternParserExpr is `| pattern "<ip> - <_> …"`: named captures become labels.
type PatternParserExpr struct {
	Pattern string
}

// UnpackParserExpr is `| unpack`: the JSON written by Promtail's pack stage.
type UnpackParserExpr struct{}

// DecolorizeExpr is `| decolorize`: strips ANSI colour codes from the line.
type DecolorizeExpr struct{}

// LineFmtExpr is `| line_format "template"`.
type LineFmtExpr struct {
	Template string
}

// LabelFmtExpr is `| label_format dst=src, dst2="{{template}}"`.
type LabelFmtExpr struct {
	Formats []LabelFmt
}

// LabelFmt is one assignment of label_format. With Rename, Value is a label
// name (dst=src renames src); otherwise Value is a template.
type LabelFmt struct {
	Name   string
	Value  string
	Rename bool
}

// DropLabelsExpr is `| drop a, b="v", c=~"re"`.
type DropLabelsExpr struct {
	Labels []NamedMatcher
}

// KeepLabelsExpr is `| keep a, b="v"`.
type KeepLabelsExpr struct {
	Labels []NamedMatcher
}

// NamedMatcher names a label to drop or keep: by Name alone, or by Matcher
// (the label is dropped or kept only when the matcher matches its value).
// Exactly one of the two is set.
type NamedMatcher struct {
	Name    string
	Matcher *labels.Matcher
}

// UnwrapExpr is `| unwrap label` or `| unwrap bytes(label)` with the
// conversion in Conv (OpConvBytes, OpConvDuration, OpConvDurationSeconds or
// ""), followed by label filters applied to the samples.
type UnwrapExpr struct {
	Label       string
	Conv        string
	PostFilters []LabelFilter
}

// LogRangeExpr is the log query of a range aggregation with its range:
// `{app="api"} |= "x" | unwrap latency [5m] offset 1h`.
type LogRangeExpr struct {
	Left     LogSelectorExpr
	Interval time.Duration
	Offset   time.Duration
	Unwrap   *UnwrapExpr // nil without unwrap
}

func (*MatchersExpr) isExpr()          {}
func (*PipelineExpr) isExpr()          {}
func (*LineFilterExpr) isExpr()        {}
func (*LabelFilterExpr) isExpr()       {}
func (*JSONParserExpr) isExpr()        {}
func (*LogfmtParserExpr) isExpr()      {}
func (*RegexpParserExpr) isExpr()      {}
func (*PatternParserExpr) isExpr()     {}
func (*UnpackParserExpr) isExpr()      {}
func (*DecolorizeExpr) isExpr()        {}
func (*LineFmtExpr) isExpr()           {}
func (*LabelFmtExpr) isExpr()          {}
func (*DropLabelsExpr) isExpr()        {}
func (*KeepLabelsExpr) isExpr()        {}
func (*UnwrapExpr) isExpr()            {}
func (*LogRangeExpr) isExpr()          {}
func (*RangeAggregationExpr) isExpr()  {}
func (*VectorAggregationExpr) isExpr() {}
func (*BinOpExpr) isExpr()             {}
func (*LiteralExpr) isExpr()           {}
func (*VectorExpr) isExpr()            {}
func (*LabelReplaceExpr) isExpr()      {}

func (*MatchersExpr) isLogSelector() {}
func (*PipelineExpr) isLogSelector() {}

func (*LineFilterExpr) isStage()    {}
func (*LabelFilterExpr) isStage()   {}
func (*JSONParserExpr) isStage()    {}
func (*LogfmtParserExpr) isStage()  {}
func (*RegexpParserExpr) isStage()  {}
func (*PatternParserExpr) isStage() {}
func (*UnpackParserExpr) isStage()  {}
func (*DecolorizeExpr) isStage()    {}
func (*LineFmtExpr) isStage()       {}
func (*LabelFmtExpr) isStage()      {}
func (*DropLabelsExpr) isStage()    {}
func (*KeepLabelsExpr) isStage()    {}

func (*RangeAggregationExpr) isSampleExpr()  {}
func (*VectorAggregationExpr) isSampleExpr() {}
func (*BinOpExpr) isSampleExpr()             {}
func (*LiteralExpr) isSampleExpr()           {}
func (*VectorExpr) isSampleExpr()            {}
func (*LabelReplaceExpr) isSampleExpr()      {}
