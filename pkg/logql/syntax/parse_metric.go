package syntax

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// parseRangeAggregation parses op([param,] logRange) [by|without (…)].
func (p *parser) parseRangeAggregation(op string) *RangeAggregationExpr {
	p.next()
	p.expect(tokOpenParen, tokOpenParen)
	e := &RangeAggregationExpr{Op: op}
	var param string
	hasParam := false
	switch p.tok.kind {
	case tokNumber:
		param, hasParam = p.tok.text, true
		p.next()
		p.expect(tokComma, tokComma)
		if p.tok.kind != tokOpenBrace && p.tok.kind != tokOpenParen {
			p.unexpected(tokOpenBrace, tokOpenParen)
		}
	case tokOpenBrace, tokOpenParen:
	default:
		p.unexpected(tokNumber, tokOpenBrace, tokOpenParen)
	}
	e.Left = p.parseLogRange()
	p.expect(tokCloseParen, tokCloseParen)
	if p.tok.kind == tokBy || p.tok.kind == tokWithout {
		e.Grouping = p.parseGrouping()
	}

	switch {
	case hasParam && op != OpRangeTypeQuantile:
		p.later(e, newParseError(fmt.Sprintf("parameter %s not supported for operation %s", param, op)))
	case hasParam:
		v, err := strconv.ParseFloat(param, 64)
		if err != nil {
			p.later(e, newParseError(fmt.Sprintf("invalid parameter for operation %s: %s", op, err)))
		}
		e.Param = &v
	case op == OpRangeTypeQuantile:
		p.later(e, newParseError(fmt.Sprintf("parameter required for operation %s", op)))
	}
	if err := checkRangeAggregation(e); err != nil {
		p.later(e, newParseError(err.Error()))
	}
	return e
}

// checkRangeAggregation applies Loki's rules on grouping and unwrap.
func checkRangeAggregation(e *RangeAggregationExpr) error {
	if e.Grouping != nil {
		switch e.Op {
		case OpRangeTypeAvg, OpRangeTypeStddev, OpRangeTypeStdvar, OpRangeTypeQuantile,
			OpRangeTypeMax, OpRangeTypeMin, OpRangeTypeFirst, OpRangeTypeLast:
		default:
			return fmt.Errorf("grouping not allowed for %s aggregation", e.Op)
		}
	}
	if e.Left.Unwrap != nil {
		switch e.Op {
		case OpRangeTypeAvg, OpRangeTypeSum, OpRangeTypeMax, OpRangeTypeMin, OpRangeTypeStddev,
			OpRangeTypeStdvar, OpRangeTypeQuantile, OpRangeTypeRate, OpRangeTypeRateCounter,
			OpRangeTypeAbsent, OpRangeTypeFirst, OpRangeTypeLast:
			return nil
		}
		return fmt.Errorf("invalid aggregation %s with unwrap", e.Op)
	}
	switch e.Op {
	case OpRangeTypeBytes, OpRangeTypeBytesRate, OpRangeTypeCount, OpRangeTypeRate, OpRangeTypeAbsent:
		return nil
	}
	return fmt.Errorf("invalid aggregation %s without unwrap", e.Op)
}

// parseLogRange parses the log range of a range aggregation. Loki accepts
// the range right after the selector or after the pipeline (and before or
// after an unwrap), and parentheses around the log query:
//
//	{…}[5m] [offset d] [pipeline] [unwrap]
//	{…} [pipeline] [unwrap] [5m] [offset d]
//	({…} [pipeline] [unwrap])[5m] [offset d]
//	(logRange)
func (p *parser) parseLogRange() *LogRangeExpr {
	if p.tok.kind == tokOpenParen {
		p.next()
		switch p.tok.kind {
		case tokOpenParen:
			r := p.parseLogRange()
			p.expect(tokCloseParen, tokCloseParen)
			return r
		case tokOpenBrace:
		default:
			p.unexpected(tokOpenBrace, tokOpenParen)
		}
		sel := p.parseSelector()
		if p.tok.kind == tokRange {
			r := p.parseRangeFirst(sel)
			p.expect(tokCloseParen, tokCloseParen)
			return r
		}
		stages, unwrap := p.parsePipeline(true)
		if p.tok.kind == tokRange {
			r := p.finishLogRange(sel, stages, unwrap)
			p.expect(tokCloseParen, tokCloseParen)
			return r
		}
		p.expect(tokCloseParen)
		if p.tok.kind != tokRange {
			p.unexpected(tokRange)
		}
		return p.finishLogRange(sel, stages, unwrap)
	}

	sel := p.parseSelector()
	if p.tok.kind == tokRange {
		return p.parseRangeFirst(sel)
	}
	stages, unwrap := p.parsePipeline(true)
	if p.tok.kind != tokRange {
		if unwrap != nil {
			p.unexpected(tokRange, tokPipe)
		}
		p.unexpected()
	}
	return p.finishLogRange(sel, stages, unwrap)
}

// finishLogRange parses the range and offset after a log query.
func (p *parser) finishLogRange(sel *MatchersExpr, stages []StageExpr, unwrap *UnwrapExpr) *LogRangeExpr {
	r := &LogRangeExpr{Left: logSelector(sel, stages), Interval: p.tok.dur, Unwrap: unwrap}
	p.next()
	r.Offset = p.parseOffset()
	return r
}

// parseRangeFirst parses [5m] [offset d] [pipeline] [unwrap] after a selector.
func (p *parser) parseRangeFirst(sel *MatchersExpr) *LogRangeExpr {
	interval := p.tok.dur
	p.next()
	offset := p.parseOffset()
	stages, unwrap := p.parsePipeline(true)
	return &LogRangeExpr{Left: logSelector(sel, stages), Interval: interval, Offset: offset, Unwrap: unwrap}
}

func logSelector(sel *MatchersExpr, stages []StageExpr) LogSelectorExpr {
	if len(stages) == 0 {
		return sel
	}
	return &PipelineExpr{Left: sel, Pipeline: stages}
}

// parseOffset parses an optional "offset duration".
func (p *parser) parseOffset() time.Duration {
	if p.tok.kind != tokOffset {
		return 0
	}
	p.next()
	return p.expect(tokDuration, tokDuration).dur
}

// parseGrouping parses by (…) or without (…).
func (p *parser) parseGrouping() *Grouping {
	g := &Grouping{Without: p.tok.kind == tokWithout}
	p.next()
	g.Groups = p.parseLabelList()
	return g
}

// parseVectorAggregation parses op [grouping] ([k,] expr) [grouping].
func (p *parser) parseVectorAggregation(op string) *VectorAggregationExpr {
	p.next()
	e := &VectorAggregationExpr{Op: op}
	switch p.tok.kind {
	case tokBy, tokWithout:
		e.Grouping = p.parseGrouping()
		p.expect(tokOpenParen, tokOpenParen)
	case tokOpenParen:
		p.next()
	default:
		p.unexpected(tokOpenParen, tokBy, tokWithout)
	}
	var param string
	hasParam := p.tok.kind == tokNumber && p.peek().kind == tokComma
	if hasParam {
		param = p.tok.text
		p.next()
		p.next()
	}
	e.Left = p.parseMetricArg()
	p.expect(tokCloseParen)
	if e.Grouping == nil && (p.tok.kind == tokBy || p.tok.kind == tokWithout) {
		e.Grouping = p.parseGrouping()
	}

	switch op {
	case OpTypeBottomK, OpTypeTopK, OpTypeApproxTopK:
		if !hasParam {
			p.later(e, newParseError(fmt.Sprintf("parameter required for operation %s", op)))
			break
		}
		k, err := strconv.Atoi(param)
		switch {
		case err != nil:
			p.later(e, newParseError(fmt.Sprintf("invalid parameter %s(%s,", op, param)))
		case k <= 0:
			p.later(e, newParseError(fmt.Sprintf("invalid parameter (must be greater than 0) %s(%s", op, param)))
		case op == OpTypeApproxTopK && e.Grouping != nil:
			p.later(e, newParseError(fmt.Sprintf("grouping not allowed for %s aggregation", op)))
		}
		e.Param = k
	default:
		if hasParam {
			p.later(e, newParseError(fmt.Sprintf("unsupported parameter for operation %s(%s,", op, param)))
		}
	}
	return e
}

// parseVector parses vector(number).
func (p *parser) parseVector() *VectorExpr {
	p.next()
	p.expect(tokOpenParen, tokOpenParen)
	t := p.expect(tokNumber, tokNumber)
	p.expect(tokCloseParen, tokCloseParen)
	e := &VectorExpr{}
	v, err := strconv.ParseFloat(t.text, 64)
	if err != nil {
		p.later(e, newParseError("unable to parse vectorExpr as a float: "+err.Error()))
	}
	e.Val = v
	return e
}

// parseLabelReplace parses label_replace(expr, "dst", "replacement", "src", "regex").
func (p *parser) parseLabelReplace() *LabelReplaceExpr {
	p.next()
	p.expect(tokOpenParen, tokOpenParen)
	e := &LabelReplaceExpr{Left: p.parseMetricArg()}
	p.expect(tokComma)
	var args [4]string
	for i := range args {
		args[i] = p.expect(tokString, tokString).text
		if i < len(args)-1 {
			p.expect(tokComma, tokComma)
		}
	}
	p.expect(tokCloseParen, tokCloseParen)
	e.Dst, e.Replacement, e.Src, e.Regex = args[0], args[1], args[2], args[3]
	if _, err := regexp.Compile("^(?:" + e.Regex + ")$"); err != nil {
		p.later(e, newParseError("invalid regex in label_replace: "+err.Error()))
	}
	return e
}
