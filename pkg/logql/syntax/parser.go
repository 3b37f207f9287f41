package syntax

import (
	"fmt"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
)

// MaxInputSize is the longest query accepted, in bytes (Loki's limit).
const MaxInputSize = 131072

// ParseExpr parses any LogQL query and validates it: every stream selector
// must have a matcher that does not match the empty string.
func ParseExpr(input string) (Expr, error) {
	return parseAndValidate(input, true)
}

// ParseLogSelector parses a log query. With validate, its stream selector
// must have a matcher that does not match the empty string; the other
// checks always apply.
func ParseLogSelector(input string, validate bool) (LogSelectorExpr, error) {
	expr, p, err := parse(input)
	if err != nil {
		return nil, err
	}
	sel, ok := expr.(LogSelectorExpr)
	if !ok {
		return nil, ErrNotLogSelector
	}
	if err := p.validate(expr, validate); err != nil {
		return nil, err
	}
	return sel, nil
}

// ParseSampleExpr parses and validates a metric query.
func ParseSampleExpr(input string) (SampleExpr, error) {
	expr, err := parseAndValidate(input, true)
	if err != nil {
		return nil, err
	}
	sample, ok := expr.(SampleExpr)
	if !ok {
		return nil, ErrNotSampleExpr
	}
	return sample, nil
}

// ParseMatchers parses a stream selector alone, {app="api"}, as the match[]
// of /series and the query of /labels carry it. With validate, a matcher
// must not match the empty string.
func ParseMatchers(input string, validate bool) ([]*labels.Matcher, error) {
	expr, p, err := parse(input)
	if err != nil {
		return nil, err
	}
	if validate {
		if err := p.validate(expr, true); err != nil {
			return nil, err
		}
	}
	m, ok := expr.(*MatchersExpr)
	if !ok {
		return nil, ErrNotMatchers
	}
	if !validate {
		if err := p.validate(expr, false); err != nil {
			return nil, err
		}
	}
	return m.Mts, nil
}

func parseAndValidate(input string, requireMatchers bool) (Expr, error) {
	expr, p, err := parse(input)
	if err != nil {
		return nil, err
	}
	if err := p.validate(expr, requireMatchers); err != nil {
		return nil, err
	}
	return expr, nil
}

// parser is a recursive-descent parser for Loki's grammar. Errors unwind
// the recursion with a bailout panic that parse recovers.
type parser struct {
	lex      lexer
	tok      token // the current token
	ahead    token
	hasAhead bool
	// deferred holds errors Loki finds after parsing (when it validates the
	// tree or builds a pipeline), keyed by node; validate reports them in
	// Loki's order.
	deferred map[any]error
	// stageErrs holds the errors Loki finds when it builds a pipeline, after
	// the checks above.
	stageErrs map[any]error
}

type bailout struct{ err error }

func parse(input string) (expr Expr, p *parser, err error) {
	if len(input) >= MaxInputSize {
		return nil, nil, newParseError(fmt.Sprintf("input size too long (%d > %d)", len(input), MaxInputSize))
	}
	p = &parser{lex: newLexer(input)}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			expr, p, err = nil, nil, b.err
		}
	}()
	p.next()
	expr = p.parseExpr(0)
	if p.tok.kind != tokEOF {
		p.unexpected()
	}
	return expr, p, nil
}

func (p *parser) fail(err error) { panic(bailout{err}) }

func (p *parser) next() {
	if p.hasAhead {
		p.tok, p.hasAhead = p.ahead, false
		return
	}
	p.tok = p.lex.next()
}

func (p *parser) peek() token {
	if !p.hasAhead {
		p.ahead, p.hasAhead = p.lex.next(), true
	}
	return p.ahead
}

// unexpected fails at the current token, naming the tokens that could have
// been there (only when the caller names them, as goyacc would).
func (p *parser) unexpected(expected ...tokenKind) {
	if p.tok.kind == tokError {
		p.fail(&ParseError{Line: p.tok.line, Col: p.tok.col, Msg: p.tok.text})
	}
	p.fail(syntaxError(p.tok, expected))
}

// expect consumes a token of kind k, or fails naming expected.
func (p *parser) expect(k tokenKind, expected ...tokenKind) token {
	if p.tok.kind != k {
		p.unexpected(expected...)
	}
	t := p.tok
	p.next()
	return t
}

// later records an error that Loki reports when it validates the tree.
func (p *parser) later(node any, err error) {
	if p.deferred == nil {
		p.deferred = map[any]error{}
	}
	if _, ok := p.deferred[node]; !ok {
		p.deferred[node] = err
	}
}

// stageLater records an error that Loki reports when it builds a pipeline.
func (p *parser) stageLater(node any, err error) {
	if p.stageErrs == nil {
		p.stageErrs = map[any]error{}
	}
	if _, ok := p.stageErrs[node]; !ok {
		p.stageErrs[node] = err
	}
}

// parseExpr parses binary operations of precedence at least minPrec by
// precedence climbing; all operators are left-associative but ^.
func (p *parser) parseExpr(minPrec int) Expr {
	lhs := p.parseUnary()
	for {
		op, isOp := binOps[p.tok.kind]
		if !isOp {
			return lhs
		}
		prec := binOpPrecedence(op)
		if prec < minPrec {
			return lhs
		}
		p.next()
		bin := &BinOpExpr{Op: op}
		p.parseBinOpModifiers(bin)
		next := prec + 1
		if op == OpTypePow {
			next = prec
		}
		rhs := p.parseExpr(next)
		lhs = p.newBinOp(bin, lhs, rhs)
	}
}

// parseBinOpModifiers parses [bool] [on|ignoring (…) [group_left|group_right [(…)]]].
func (p *parser) parseBinOpModifiers(bin *BinOpExpr) {
	if p.tok.kind == tokBool {
		bin.ReturnBool = true
		p.next()
	}
	if p.tok.kind != tokOn && p.tok.kind != tokIgnoring {
		return
	}
	vm := &VectorMatching{On: p.tok.kind == tokOn}
	p.next()
	vm.MatchingLabels = p.parseLabelList()
	switch p.tok.kind {
	case tokGroupLeft:
		vm.Card = CardManyToOne
	case tokGroupRight:
		vm.Card = CardOneToMany
	default:
		bin.VectorMatching = vm
		return
	}
	p.next()
	if p.tok.kind == tokOpenParen {
		vm.Include = p.parseLabelList()
	}
	bin.VectorMatching = vm
}

// parseLabelList parses "(a, b)" or "()"; an empty list is nil.
func (p *parser) parseLabelList() []string {
	p.expect(tokOpenParen, tokOpenParen)
	var names []string
	if p.tok.kind == tokCloseParen {
		p.next()
		return nil
	}
	for {
		names = append(names, p.expect(tokIdentifier, tokIdentifier, tokCloseParen).text)
		switch p.tok.kind {
		case tokComma:
			p.next()
			if p.tok.kind != tokIdentifier {
				p.unexpected(tokIdentifier)
			}
		case tokCloseParen:
			p.next()
			return names
		default:
			p.unexpected(tokComma, tokCloseParen)
		}
	}
}

// newBinOp completes a binary operation and records what Loki rejects
// after parsing: log queries as operands, literals around and/or/unless.
func (p *parser) newBinOp(bin *BinOpExpr, lhs, rhs Expr) *BinOpExpr {
	l, lok := lhs.(SampleExpr)
	r, rok := rhs.(SampleExpr)
	bin.LHS, bin.RHS = l, r
	switch {
	case !lok:
		p.later(bin, newParseError(fmt.Sprintf("unexpected type for left leg of binary operation (%s): %T", bin.Op, lhs)))
	case !rok:
		p.later(bin, newParseError(fmt.Sprintf("unexpected type for right leg of binary operation (%s): %T", bin.Op, rhs)))
	case IsLogicalBinOp(bin.Op):
		if v, ok := ConstantValue(l); ok {
			p.later(bin, newParseError(fmt.Sprintf("unexpected literal for left leg of logical/set binary operation (%s): %f", bin.Op, v)))
		} else if v, ok := ConstantValue(r); ok {
			p.later(bin, newParseError(fmt.Sprintf("unexpected literal for right leg of logical/set binary operation (%s): %f", bin.Op, v)))
		}
	}
	return bin
}

func (p *parser) parseUnary() Expr {
	switch k := p.tok.kind; {
	case k == tokOpenBrace:
		return p.parseLogExpr()
	case k == tokOpenParen:
		p.next()
		e := p.parseExpr(0)
		p.expect(tokCloseParen)
		return e
	case k == tokNumber:
		return p.parseLiteral(false)
	case k == tokAdd || k == tokSub:
		p.next()
		if p.tok.kind != tokNumber {
			p.unexpected(tokNumber)
		}
		return p.parseLiteral(k == tokSub)
	case k == tokVector:
		return p.parseVector()
	case k == tokLabelReplace:
		return p.parseLabelReplace()
	}
	if op, ok := rangeOps[p.tok.kind]; ok {
		return p.parseRangeAggregation(op)
	}
	if op, ok := vectorOps[p.tok.kind]; ok {
		return p.parseVectorAggregation(op)
	}
	p.unexpected()
	return nil
}

// parseLiteral parses the number at the current token.
func (p *parser) parseLiteral(negative bool) *LiteralExpr {
	t := p.expect(tokNumber)
	lit := &LiteralExpr{}
	v, err := strconv.ParseFloat(t.text, 64)
	if err != nil {
		p.later(lit, newParseError("unable to parse literal as a float: "+err.Error()))
	}
	if negative {
		v = -v
	}
	if v == 0 {
		v = 0 // no negative zero: "-0" would read back as a duration
	}
	lit.Val = v
	return lit
}

// parseMetricArg parses an expression that must be a metric query. A log
// query there is a syntax error at the token after it, where Loki's parser
// notices.
func (p *parser) parseMetricArg() SampleExpr {
	e := p.parseExpr(0)
	s, ok := e.(SampleExpr)
	if !ok {
		p.unexpected()
	}
	return s
}
