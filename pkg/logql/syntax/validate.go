package syntax

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

const errEmptyCompatible = `queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will`

// validate reports what Loki reports after parsing, in Loki's order: first
// the errors of its validation (node by node, outermost first, with the
// selector rule), then those it finds when it builds the pipelines.
func (p *parser) validate(root Expr, requireMatchers bool) error {
	var err error
	Walk(root, func(e Expr) bool {
		if d, ok := p.deferred[e]; ok {
			err = d
			return false
		}
		switch n := e.(type) {
		case *VectorAggregationExpr:
			if (n.Op == OpTypeSort || n.Op == OpTypeSortDesc) && n.Grouping != nil && len(n.Grouping.Groups) > 0 {
				err = newParseError("sort and sort_desc doesn't allow grouping by ")
			}
		case *MatchersExpr:
			if requireMatchers && !SelectsStreams(n.Mts) {
				err = newParseError(errEmptyCompatible)
			}
		}
		return err == nil
	})
	if err != nil || len(p.stageErrs) == 0 {
		return err
	}
	Walk(root, func(e Expr) bool {
		if d, ok := p.stageErrs[e]; ok {
			err = d
		}
		return err == nil
	})
	return err
}

// SelectsStreams reports whether the matchers select streams by themselves:
// at least one of them must not match the empty string, since a matcher that
// does would select every stream that lacks the label.
func SelectsStreams(ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches("") {
			return true
		}
	}
	return false
}

// stageError formats Loki's error for a stage that cannot be built.
func stageError(stage string, err error) error {
	return &ParseError{Msg: fmt.Sprintf("stage '%s' : %s", stage, err)}
}

// Errors of the ip() matcher, with Loki's text.
var (
	errIPInvalidPattern   = errors.New("ip: invalid pattern")
	errIPInvalidOperation = errors.New("ip: invalid operation")
)

// checkIPPattern checks an ip() pattern: an address, a CIDR prefix or a
// range "from-to" of one family.
func checkIPPattern(s string) error {
	switch {
	case strings.Contains(s, "/"):
		if _, err := netip.ParsePrefix(s); err != nil {
			return errIPInvalidPattern
		}
	case strings.Contains(s, "-"):
		from, to, _ := strings.Cut(s, "-")
		a, err1 := netip.ParseAddr(from)
		b, err2 := netip.ParseAddr(to)
		if err1 != nil || err2 != nil || a.Is4() != b.Is4() || b.Less(a) {
			return errIPInvalidPattern
		}
	default:
		if _, err := netip.ParseAddr(s); err != nil {
			return errIPInvalidPattern
		}
	}
	return nil
}

// checkLineFilter checks that regexps compile and that ip() is used with
// |= or != and a valid pattern.
func (p *parser) checkLineFilter(f *LineFilterExpr) {
	for _, v := range f.Values {
		var err error
		switch {
		case v.IP && f.Op != LineMatchEqual && f.Op != LineMatchNotEqual:
			err = errIPInvalidOperation
		case v.IP:
			err = checkIPPattern(v.Value)
		case f.Op == LineMatchRegexp || f.Op == LineMatchNotRegexp:
			_, err = regexp.Compile(v.Value)
		}
		if err != nil {
			p.stageLater(f, NewStageError(f, err))
			return
		}
	}
}

// checkLabelFilter checks the ip() patterns of a label filter; node is the
// stage or unwrap that holds it.
func (p *parser) checkLabelFilter(node Expr, f LabelFilter) {
	switch f := f.(type) {
	case *IPLabelFilter:
		if err := checkIPPattern(f.Pattern); err != nil {
			p.stageLater(node, stageError("| "+f.String(), err))
		}
	case *BinaryLabelFilter:
		p.checkLabelFilter(node, f.Left)
		p.checkLabelFilter(node, f.Right)
	}
}

// checkLabelFmt applies Loki's rules: each label at most once per stage,
// and __error__ cannot be set.
func (p *parser) checkLabelFmt(e *LabelFmtExpr) {
	seen := make(map[string]struct{}, len(e.Formats))
	for _, f := range e.Formats {
		if f.Name == ErrorLabel {
			p.stageLater(e, NewStageError(e, fmt.Errorf("%s cannot be formatted", f.Name)))
			return
		}
		if _, ok := seen[f.Name]; ok {
			p.stageLater(e, NewStageError(e, fmt.Errorf("multiple label name '%s' not allowed in a single format operation", f.Name)))
			return
		}
		seen[f.Name] = struct{}{}
	}
}

var errMissingCapture = errors.New("at least one named capture must be supplied")

// checkRegexpParser checks the regexp of `| regexp`: it compiles and has
// named groups, each name once.
func checkRegexpParser(re string) error {
	r, err := regexp.Compile(re)
	if err != nil {
		return err
	}
	if r.NumSubexp() == 0 {
		return errMissingCapture
	}
	seen := map[string]struct{}{}
	for _, name := range r.SubexpNames() {
		if name == "" {
			continue
		}
		if _, ok := seen[name]; ok {
			return fmt.Errorf("duplicate extracted label name '%s'", name)
		}
		seen[name] = struct{}{}
	}
	if len(seen) == 0 {
		return errMissingCapture
	}
	return nil
}

var errInvalidPattern = errors.New("invalid expression")

// checkPatternParser checks the pattern of `| pattern`: it has a named
// capture, no two captures side by side and no name twice.
func checkPatternParser(pattern string) error {
	if pattern == "" {
		return errors.New("parse error at line 1, col 1: syntax error: unexpected $end, expecting IDENTIFIER or LITERAL")
	}
	type node struct {
		capture bool
		text    string // the capture name or the literal
	}
	var nodes []node
	for i := 0; i < len(pattern); {
		if name, n := patternCapture(pattern[i:]); n > 0 {
			nodes = append(nodes, node{capture: true, text: name})
			i += n
			continue
		}
		j := i + 1
		for j < len(pattern) {
			if _, n := patternCapture(pattern[j:]); n > 0 {
				break
			}
			j++
		}
		nodes = append(nodes, node{text: pattern[i:j]})
		i = j
	}
	named := 0
	for _, n := range nodes {
		if n.capture && n.text != "_" {
			named++
		}
	}
	if named == 0 {
		return errors.New("at least one capture is required")
	}
	for i := 0; i+1 < len(nodes); i++ {
		if nodes[i].capture && nodes[i+1].capture {
			return fmt.Errorf("found consecutive capture '<%s><%s>': %w", nodes[i].text, nodes[i+1].text, errInvalidPattern)
		}
	}
	seen := map[string]struct{}{}
	for _, n := range nodes {
		if !n.capture || n.text == "_" {
			continue
		}
		if _, ok := seen[n.text]; ok {
			return fmt.Errorf("duplicate capture name (%s): %w", n.text, errInvalidPattern)
		}
		seen[n.text] = struct{}{}
	}
	return nil
}

// patternCapture returns the name and length of the capture <name> at the
// start of s, or a length of 0. Names are ASCII letters, digits and _, not
// starting with a digit.
func patternCapture(s string) (string, int) {
	if len(s) < 3 || s[0] != '<' {
		return "", 0
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '>' && i > 1:
			return s[1:i], i + 1
		case c == '_' || 'a' <= c|0x20 && c|0x20 <= 'z':
		case '0' <= c && c <= '9' && i > 1:
		default:
			return "", 0
		}
	}
	return "", 0
}
