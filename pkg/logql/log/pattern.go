package log

import (
	"bytes"
	"errors"
	"fmt"
)

// Errors of pattern expressions, with Loki's text.
var (
	errPatternNoCapture    = errors.New("at least one capture is required")
	errPatternNamedCapture = errors.New("named captures are not allowed")
	errPatternInvalidExpr  = errors.New("invalid expression")
)

// patternNode is a literal run or a capture (<name>, or <_> unnamed).
type patternNode struct {
	lit     []byte
	capture string // "" for a literal
}

func (n patternNode) isCapture() bool { return n.capture != "" }
func (n patternNode) named() bool     { return n.capture != "" && n.capture != "_" }
func (n patternNode) String() string {
	if n.isCapture() {
		return "<" + n.capture + ">"
	}
	return string(n.lit)
}

// patternMatcher is a compiled pattern: `<ip> - <_> "<method> <path>"`.
type patternMatcher struct {
	nodes    []patternNode
	names    []string // named captures, in order
	captures [][]byte
}

// parsePattern splits a pattern into literals and captures. A capture is
// < followed by an ASCII letter or _, letters, digits or _, then >; any
// other text is literal.
func parsePattern(p []byte) []patternNode {
	var nodes []patternNode
	lit := -1
	for i := 0; i < len(p); {
		if n := captureLen(p[i:]); n > 0 {
			if lit >= 0 {
				nodes = append(nodes, patternNode{lit: p[lit:i]})
				lit = -1
			}
			nodes = append(nodes, patternNode{capture: string(p[i+1 : i+n-1])})
			i += n
			continue
		}
		if lit < 0 {
			lit = i
		}
		i++
	}
	if lit >= 0 {
		nodes = append(nodes, patternNode{lit: p[lit:]})
	}
	return nodes
}

// captureLen returns the length of the capture at the start of p, or 0.
func captureLen(p []byte) int {
	if len(p) < 3 || p[0] != '<' || !(p[1] == '_' || 'a' <= p[1]|0x20 && p[1]|0x20 <= 'z') {
		return 0
	}
	for i := 2; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '>':
			return i + 1
		case c == '_' || '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z':
		default:
			return 0
		}
	}
	return 0
}

func checkConsecutive(nodes []patternNode) error {
	for i := 0; i+1 < len(nodes); i++ {
		if nodes[i].isCapture() && nodes[i+1].isCapture() {
			return fmt.Errorf("found consecutive capture '%s': %w", nodes[i].String()+nodes[i+1].String(), errPatternInvalidExpr)
		}
	}
	return nil
}

// newPatternMatcher compiles the pattern of `| pattern`: at least one named
// capture, no two captures side by side, no name twice.
func newPatternMatcher(p string) (*patternMatcher, error) {
	nodes := parsePattern([]byte(p))
	m := &patternMatcher{nodes: nodes}
	for _, n := range nodes {
		if n.named() {
			m.names = append(m.names, n.capture)
		}
	}
	if len(m.names) == 0 {
		return nil, errPatternNoCapture
	}
	if err := checkConsecutive(nodes); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, n := range m.names {
		if seen[n] {
			return nil, fmt.Errorf("duplicate capture name (%s): %w", n, errPatternInvalidExpr)
		}
		seen[n] = true
	}
	m.captures = make([][]byte, 0, len(m.names))
	return m, nil
}

// newPatternLineFilter compiles the pattern of `|>` and `!>`: only unnamed
// captures, none side by side. The empty pattern matches the empty line.
func newPatternLineFilter(p string) (*patternMatcher, error) {
	nodes := parsePattern([]byte(p))
	if err := checkConsecutive(nodes); err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if n.named() {
			return nil, fmt.Errorf("%w: found '%s'", errPatternNamedCapture, n.String())
		}
	}
	return &patternMatcher{nodes: nodes}, nil
}

// matches extracts the named captures from line, as Loki does: a leading
// literal must start the line; each capture runs to the first occurrence of
// the literal after it, or to the end of the line when that literal is
// missing (the captures after it are then not set). It returns nil when
// the pattern does not apply. The result is valid until the next call.
func (m *patternMatcher) matches(in []byte) [][]byte {
	if len(in) == 0 || len(m.nodes) == 0 {
		return nil
	}
	caps := m.captures[:0]
	nodes := m.nodes
	if !nodes[0].isCapture() {
		if !bytes.HasPrefix(in, nodes[0].lit) {
			return nil
		}
		in = in[len(nodes[0].lit):]
		nodes = nodes[1:]
	}
	if len(nodes) == 0 {
		return nil
	}
	for len(nodes) > 0 {
		c := nodes[0]
		if len(nodes) == 1 { // ends on a capture
			if c.named() {
				caps = append(caps, in)
			}
			break
		}
		lit := nodes[1].lit
		nodes = nodes[2:]
		i := bytes.Index(in, lit)
		if i < 0 {
			if c.named() {
				caps = append(caps, in)
			}
			break
		}
		if c.named() {
			caps = append(caps, in[:i])
		}
		in = in[i+len(lit):]
	}
	m.captures = caps
	return caps
}

// test reports whether line matches the pattern as a line filter, with
// Loki's rules: the literals must occur in order, a capture between two
// literals must not be empty, a pattern ending with a literal must end the
// line and one ending with a capture must leave text for it. (Loki does not
// require a leading literal to start the line.)
func (m *patternMatcher) test(in []byte) bool {
	if len(in) == 0 || len(m.nodes) == 0 {
		return len(in) == 0 && len(m.nodes) == 0
	}
	off := 0
	for i, n := range m.nodes {
		if n.isCapture() {
			continue
		}
		j := bytes.Index(in[off:], n.lit)
		if j < 0 || i != 0 && j == 0 {
			return false
		}
		off += j + len(n.lit)
	}
	return m.nodes[len(m.nodes)-1].isCapture() == (off != len(in))
}

// patternFilter is the Filterer of `|> "pattern"`.
type patternFilter struct{ m *patternMatcher }

func (f patternFilter) Filter(line []byte) bool { return f.m.test(line) }

// NewPatternFilter keeps the lines the pattern matches (`|>`).
func NewPatternFilter(pattern string) (Filterer, error) {
	m, err := newPatternLineFilter(pattern)
	if err != nil {
		return nil, err
	}
	return patternFilter{m: m}, nil
}
