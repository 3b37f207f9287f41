// Package syntax parses LogQL: a lexer, a recursive-descent parser and the
// syntax tree, with String methods that print a tree back in a canonical
// form that parses to an identical tree.
//
// The language and the error messages follow Grafana Loki's grammar, so that
// a query Loki accepts parses here and a query Loki refuses is refused with
// the same text ("parse error at line 1, col 13: syntax error: unexpected
// $end, expecting } or ,").
//
// # The tree
//
// A query is a log query (LogSelectorExpr) or a metric query (SampleExpr).
//
// A log query is a *MatchersExpr, {app="api"}, or a *PipelineExpr: the
// selector and its stages (StageExpr), in order:
//
//	|= "x", != "x", |~ `re`, !~, |>, !>   *LineFilterExpr (with "or" alternatives, ip())
//	| json, | json a="b.c"                *JSONParserExpr
//	| logfmt --strict a, b="c"            *LogfmtParserExpr
//	| regexp "(?P<a>…)"                   *RegexpParserExpr
//	| pattern "<a> <_>"                   *PatternParserExpr
//	| unpack                              *UnpackParserExpr
//	| decolorize                          *DecolorizeExpr
//	| status >= 500 or level="error"      *LabelFilterExpr (a tree of LabelFilter)
//	| line_format "{{.a}}"                *LineFmtExpr
//	| label_format a=b, c="{{.d}}"        *LabelFmtExpr
//	| drop a, b="v"                       *DropLabelsExpr
//	| keep a, b=~"v"                      *KeepLabelsExpr
//
// A metric query is built from:
//
//	rate({…} | unwrap x [5m] offset 1h) by (a)   *RangeAggregationExpr over a *LogRangeExpr (with *UnwrapExpr)
//	sum by (a) (…), topk(5, …)                   *VectorAggregationExpr
//	a / on (x) group_left b, a > bool 1          *BinOpExpr
//	1.5                                          *LiteralExpr
//	vector(1)                                    *VectorExpr
//	label_replace(…, "dst", "$1", "src", "re")   *LabelReplaceExpr
//
// Values are typed: durations are time.Duration, numbers float64, byte sizes
// uint64, matchers *labels.Matcher from Prometheus (regexps fully anchored).
// Walk traverses a tree; Selectors, OnlyLineFilters, HeadLineFilters and
// ConstantValue answer what the engine asks most.
//
// # Errors
//
// Every error is a *ParseError (or one of the ErrNot… values) and
// errors.Is(err, ErrParse) holds. Syntax errors carry Loki's line and column;
// errors found after parsing (a grouping a function does not allow, a
// selector that matches every stream, a stage that cannot be built) carry
// none and read "parse error : …", as in Loki.
package syntax
