package syntax

import (
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
)

// parseLogExpr parses a stream selector and its pipeline.
func (p *parser) parseLogExpr() LogSelectorExpr {
	sel := p.parseSelector()
	stages, _ := p.parsePipeline(false)
	if len(stages) == 0 {
		return sel
	}
	return &PipelineExpr{Left: sel, Pipeline: stages}
}

// parseSelector parses {name op "value", …}.
func (p *parser) parseSelector() *MatchersExpr {
	p.expect(tokOpenBrace, tokOpenBrace)
	sel := &MatchersExpr{}
	switch p.tok.kind {
	case tokCloseBrace:
		p.next()
		return sel
	case tokIdentifier:
	default:
		p.unexpected(tokIdentifier, tokCloseBrace)
	}
	for {
		sel.Mts = append(sel.Mts, p.parseMatcher())
		switch p.tok.kind {
		case tokComma:
			p.next()
		case tokCloseBrace:
			p.next()
			return sel
		default:
			p.unexpected(tokCloseBrace, tokComma)
		}
	}
}

var matchTypes = map[tokenKind]labels.MatchType{
	tokEq:  labels.MatchEqual,
	tokNeq: labels.MatchNotEqual,
	tokRe:  labels.MatchRegexp,
	tokNre: labels.MatchNotRegexp,
}

// parseMatcher parses name op "value".
func (p *parser) parseMatcher() *labels.Matcher {
	name := p.expect(tokIdentifier, tokIdentifier).text
	mt, ok := matchTypes[p.tok.kind]
	if !ok {
		p.unexpected(tokEq, tokNeq, tokRe, tokNre)
	}
	p.next()
	value := p.expect(tokString, tokString).text
	return p.newMatcher(mt, name, value)
}

func (p *parser) newMatcher(mt labels.MatchType, name, value string) *labels.Matcher {
	m, err := labels.NewMatcher(mt, name, value)
	if err != nil {
		p.fail(newParseError(err.Error()))
	}
	return m
}

// parsePipeline parses pipeline stages, and with allowUnwrap a final unwrap.
func (p *parser) parsePipeline(allowUnwrap bool) ([]StageExpr, *UnwrapExpr) {
	var stages []StageExpr
	for {
		if op, ok := lineFilterOps[p.tok.kind]; ok {
			stages = append(stages, p.parseLineFilter(op))
			continue
		}
		if p.tok.kind != tokPipe {
			return stages, nil
		}
		p.next()
		if p.tok.kind == tokUnwrap {
			if !allowUnwrap {
				p.unexpected()
			}
			return stages, p.parseUnwrap()
		}
		stages = append(stages, p.parseStage())
	}
}

// parseLineFilter parses op "value" [or "value" …]; ip("…") may replace a value.
func (p *parser) parseLineFilter(op LineMatchType) *LineFilterExpr {
	p.next()
	f := &LineFilterExpr{Op: op}
	for {
		var v LineFilterValue
		switch p.tok.kind {
		case tokString:
			v.Value = p.tok.text
			p.next()
		case tokIP:
			v.IP = true
			v.Value = p.parseIPArg()
		default:
			p.unexpected(tokString, tokIP)
		}
		f.Values = append(f.Values, v)
		if p.tok.kind != tokOr {
			break
		}
		p.next()
	}
	p.checkLineFilter(f)
	return f
}

// parseIPArg parses ip("pattern").
func (p *parser) parseIPArg() string {
	p.expect(tokIP, tokIP)
	p.expect(tokOpenParen, tokOpenParen)
	v := p.expect(tokString, tokString).text
	p.expect(tokCloseParen, tokCloseParen)
	return v
}

// parseStage parses the stage after a "|".
func (p *parser) parseStage() StageExpr {
	switch p.tok.kind {
	case tokJSON:
		p.next()
		return &JSONParserExpr{Params: p.parseExtractions()}
	case tokLogfmt:
		p.next()
		e := &LogfmtParserExpr{}
		for p.tok.kind == tokParserFlag {
			switch p.tok.text {
			case OpStrict:
				e.Strict = true
			case OpKeepEmpty:
				e.KeepEmpty = true
			}
			p.next()
		}
		e.Params = p.parseExtractions()
		return e
	case tokRegexp:
		p.next()
		e := &RegexpParserExpr{Regexp: p.expect(tokString, tokString).text}
		if err := checkRegexpParser(e.Regexp); err != nil {
			p.fail(newParseError("invalid regexp parser: " + err.Error()))
		}
		return e
	case tokPattern:
		p.next()
		e := &PatternParserExpr{Pattern: p.expect(tokString, tokString).text}
		if err := checkPatternParser(e.Pattern); err != nil {
			p.fail(newParseError("invalid pattern parser: " + err.Error()))
		}
		return e
	case tokUnpack:
		p.next()
		return &UnpackParserExpr{}
	case tokDecolorize:
		p.next()
		return &DecolorizeExpr{}
	case tokLineFmt:
		p.next()
		return &LineFmtExpr{Template: p.expect(tokString, tokString).text}
	case tokLabelFmt:
		p.next()
		return p.parseLabelFmt()
	case tokDrop:
		p.next()
		return &DropLabelsExpr{Labels: p.parseNamedMatchers()}
	case tokKeep:
		p.next()
		return &KeepLabelsExpr{Labels: p.parseNamedMatchers()}
	case tokIdentifier, tokOpenParen:
		e := &LabelFilterExpr{Filter: p.parseLabelFilter(0)}
		p.checkLabelFilter(e, e.Filter)
		return e
	}
	p.unexpected()
	return nil
}

// parseExtractions parses the optional parameters of json and logfmt:
// name="expression", name, ….
func (p *parser) parseExtractions() []LabelExtraction {
	if p.tok.kind != tokIdentifier {
		return nil
	}
	var params []LabelExtraction
	for {
		name := p.expect(tokIdentifier, tokIdentifier).text
		expr := name
		if p.tok.kind == tokEq {
			p.next()
			expr = p.expect(tokString, tokString).text
		}
		params = append(params, LabelExtraction{Name: name, Expression: expr})
		if p.tok.kind != tokComma {
			return params
		}
		p.next()
	}
}

// parseLabelFmt parses dst=src, dst="template", ….
func (p *parser) parseLabelFmt() *LabelFmtExpr {
	e := &LabelFmtExpr{}
	for {
		f := LabelFmt{Name: p.expect(tokIdentifier, tokIdentifier).text}
		p.expect(tokEq, tokEq)
		switch p.tok.kind {
		case tokIdentifier:
			f.Value, f.Rename = p.tok.text, true
		case tokString:
			f.Value = p.tok.text
		default:
			p.unexpected(tokIdentifier, tokString)
		}
		p.next()
		e.Formats = append(e.Formats, f)
		if p.tok.kind != tokComma {
			break
		}
		p.next()
	}
	p.checkLabelFmt(e)
	return e
}

// parseNamedMatchers parses the labels of drop and keep: name or name op "value".
func (p *parser) parseNamedMatchers() []NamedMatcher {
	var ms []NamedMatcher
	for {
		name := p.expect(tokIdentifier, tokIdentifier).text
		if mt, ok := matchTypes[p.tok.kind]; ok {
			p.next()
			value := p.expect(tokString, tokString).text
			ms = append(ms, NamedMatcher{Matcher: p.newMatcher(mt, name, value)})
		} else {
			ms = append(ms, NamedMatcher{Name: name})
		}
		if p.tok.kind != tokComma {
			return ms
		}
		p.next()
	}
}

// parseLabelFilter parses a label filter expression with precedence
// climbing: or (1) below and (2). A `,` or a filter written right after
// another is also and, but binds as Loki's grammar does: to the single
// filter before it and to the whole rest of the expression after it.
func (p *parser) parseLabelFilter(minPrec int) LabelFilter {
	left := p.parseLabelFilterUnit()
	for {
		var prec int
		switch p.tok.kind {
		case tokOr:
			prec = 1
		case tokAnd:
			prec = 2
		default:
			return left
		}
		if prec < minPrec {
			return left
		}
		p.next()
		right := p.parseLabelFilter(prec + 1)
		if prec == 2 {
			left = newAndFilter(left, right)
		} else {
			left = &BinaryLabelFilter{Left: left, Right: right}
		}
	}
}

// parseLabelFilterUnit parses one filter and a `,` or juxtaposed and after it.
func (p *parser) parseLabelFilterUnit() LabelFilter {
	f := p.parseLabelFilterPrimary()
	switch p.tok.kind {
	case tokComma:
		p.next()
	case tokIdentifier, tokOpenParen:
	default:
		return f
	}
	return newAndFilter(f, p.parseLabelFilter(0))
}

var filterOps = map[tokenKind]FilterOp{
	tokEq:    FilterEqual,
	tokCmpEq: FilterEqual,
	tokNeq:   FilterNotEqual,
	tokGt:    FilterGreaterThan,
	tokGte:   FilterGreaterThanOrEqual,
	tokLt:    FilterLesserThan,
	tokLte:   FilterLesserThanOrEqual,
}

// parseLabelFilterPrimary parses (filters) or name op value, where the type
// of the value (string, number, duration, bytes, ip) types the filter.
func (p *parser) parseLabelFilterPrimary() LabelFilter {
	switch p.tok.kind {
	case tokOpenParen:
		p.next()
		f := p.parseLabelFilter(0)
		p.expect(tokCloseParen)
		return f
	case tokIdentifier:
	default:
		p.unexpected(tokIdentifier, tokOpenParen)
	}
	name := p.tok.text
	p.next()
	opTok := p.tok.kind
	if opTok == tokRe || opTok == tokNre {
		p.next()
		value := p.expect(tokString, tokString).text
		return &StringLabelFilter{Matcher: p.newMatcher(matchTypes[opTok], name, value)}
	}
	op, ok := filterOps[opTok]
	if !ok {
		p.unexpected()
	}
	p.next()
	equality := opTok == tokEq || opTok == tokNeq
	switch k := p.tok.kind; {
	case k == tokString && equality:
		value := p.tok.text
		p.next()
		return &StringLabelFilter{Matcher: p.newMatcher(matchTypes[opTok], name, value)}
	case k == tokIP && equality:
		return &IPLabelFilter{Name: name, Op: op, Pattern: p.parseIPArg()}
	case k == tokDuration:
		d := p.tok.dur
		p.next()
		return &DurationLabelFilter{Name: name, Op: op, Value: d}
	case k == tokBytes:
		b := p.tok.bytes
		p.next()
		return &BytesLabelFilter{Name: name, Op: op, Value: b}
	case k == tokNumber || k == tokAdd || k == tokSub:
		negative := k == tokSub
		if k != tokNumber {
			p.next()
			if p.tok.kind != tokNumber {
				p.unexpected(tokNumber)
			}
		}
		v, err := strconv.ParseFloat(p.tok.text, 64)
		if err != nil {
			p.fail(newParseError("unable to parse literal as a float: " + err.Error()))
		}
		p.next()
		if negative {
			v = -v
		}
		if v == 0 {
			v = 0 // no negative zero: "-0" would read back as a duration
		}
		return &NumericLabelFilter{Name: name, Op: op, Value: v}
	}
	p.unexpected()
	return nil
}

// parseUnwrap parses unwrap label | unwrap conv(label), after the "|", and
// the label filters after it.
func (p *parser) parseUnwrap() *UnwrapExpr {
	p.expect(tokUnwrap, tokUnwrap)
	u := &UnwrapExpr{}
	switch p.tok.kind {
	case tokIdentifier:
		u.Label = p.tok.text
		p.next()
	case tokBytesConv, tokDurationConv, tokDurationSecondsConv:
		u.Conv = map[tokenKind]string{
			tokBytesConv:           OpConvBytes,
			tokDurationConv:        OpConvDuration,
			tokDurationSecondsConv: OpConvDurationSeconds,
		}[p.tok.kind]
		p.next()
		p.expect(tokOpenParen, tokOpenParen)
		u.Label = p.expect(tokIdentifier, tokIdentifier).text
		p.expect(tokCloseParen, tokCloseParen)
	default:
		p.unexpected(tokIdentifier, tokBytesConv, tokDurationConv, tokDurationSecondsConv)
	}
	for p.tok.kind == tokPipe {
		p.next()
		f := p.parseLabelFilter(0)
		p.checkLabelFilter(u, f)
		u.PostFilters = append(u.PostFilters, f)
	}
	return u
}
