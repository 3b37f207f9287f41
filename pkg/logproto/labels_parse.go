package logproto

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
)

// ParseLabels parses a stream's label string in the Prometheus text form
// that Loki accepts on push, {app="web", env="prod"}, exactly as Loki does
// with the Prometheus parser's ParseMetric: names are identifiers
// [a-zA-Z_][a-zA-Z0-9_]* or quoted strings, values are "double", 'single' or
// `raw` quoted strings with Go escapes; spaces, newlines, # comments and a
// trailing comma are allowed; the empty string and {} give empty labels; an
// optional metric name before the braces (foo{...}) and a lone quoted
// string inside them become __name__.
//
// The result is sorted by name and labels with empty values are dropped, as
// Loki does. A syntax error is a *LabelSyntaxError (wrapping
// ErrInvalidLabels) whose text matches Prometheus' error for the same
// input; a name given twice is a *DuplicateLabelError (wrapping
// ErrDuplicateLabelName).
//
// ParseLabels runs for every stream of every push: valid input costs one
// allocation (the labels' storage) plus one per value with escapes.
func ParseLabels(s string) (labels.Labels, error) {
	var arr [16]labels.Label
	p := labelParser{in: s}
	ls, err := p.parse(arr[:0])
	if err != nil {
		return labels.EmptyLabels(), err
	}
	if len(ls) > 16 {
		slices.SortFunc(ls, func(a, b labels.Label) int { return strings.Compare(a.Name, b.Name) })
	}
	for i := 1; i < len(ls); i++ { // insertion sort: pushed labels are nearly always sorted
		for j := i; j > 0 && ls[j].Name < ls[j-1].Name; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
	for i := 1; i < len(ls); i++ {
		if ls[i].Name == ls[i-1].Name {
			return labels.EmptyLabels(), &DuplicateLabelError{Name: ls[i].Name}
		}
	}
	return labels.New(ls...), nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokErr         // lexer error: msg is the text, pos where it is reported
	tokLBrace
	tokRBrace
	tokComma
	tokEq
	tokIdent  // inside braces: [a-zA-Z_][a-zA-Z0-9_]*
	tokWord   // outside braces: a word usable as a metric name
	tokString // a quoted string; esc is set when it holds a backslash escape
	tokOther  // anything the grammar never accepts here: msg describes it
)

// token is a lexed token; the text of a tokErr or tokOther is in the
// parser's msg, as parsing ends at the first of them.
type token struct {
	kind tokKind
	esc  bool
	pos  int // byte offset of the token (for tokErr: of the error)
	end  int
}

// labelParser is a hand-written equivalent of the part of the Prometheus
// lexer and grammar that ParseMetric uses. Where the input is invalid it
// reports the first error the Prometheus parser reports, with the same
// position and text. The one approximation is a number or duration where a
// metric name or the end of input belongs: it is always an error, but its
// text may differ from Prometheus' in details.
type labelParser struct {
	in  string
	pos int
	msg string // the text of the last tokErr or tokOther
}

func (p *labelParser) parse(dst []labels.Label) ([]labels.Label, error) {
	var metric string
	t := p.lexTop()
	switch t.kind {
	case tokEOF:
		return dst, nil
	case tokLBrace:
	case tokWord:
		metric = p.in[t.pos:t.end]
		t = p.lexTop()
		if t.kind == tokEOF {
			return append(dst, labels.Label{Name: labels.MetricName, Value: metric}), nil
		}
		if t.kind != tokLBrace {
			return nil, p.unexpected(t, "", "")
		}
	default:
		return nil, p.unexpected(t, "", "")
	}
	dst, err := p.parseBraces(dst, metric != "")
	if err != nil {
		return nil, err
	}
	if t = p.lexTop(); t.kind != tokEOF {
		return nil, p.unexpected(t, "", "")
	}
	if metric != "" {
		return withMetricName(dst, metric), nil
	}
	return dst, nil
}

// withMetricName applies a metric name written before the braces the way
// the Prometheus grammar does, with a labels.Builder over the braces'
// labels: a name with an empty value anywhere is dropped everywhere, and
// one __name__ inside is replaced by the metric name (so that two of them
// still make a duplicate).
func withMetricName(ls []labels.Label, metric string) []labels.Label {
	empty := map[string]bool{}
	for _, l := range ls {
		if l.Value == "" {
			empty[l.Name] = true
		}
	}
	replaced := false
	out := ls[:0]
	for _, l := range ls {
		if empty[l.Name] {
			continue
		}
		if l.Name == labels.MetricName && !replaced {
			replaced = true
			continue
		}
		out = append(out, l)
	}
	return append(out, labels.Label{Name: labels.MetricName, Value: metric})
}

// parseBraces parses the label set after its opening brace, appending its
// labels to dst, those with empty values only if keepEmpty.
func (p *labelParser) parseBraces(dst []labels.Label, keepEmpty bool) ([]labels.Label, error) {
	t := p.lexBraces()
	if t.kind == tokRBrace {
		return dst, nil
	}
	for {
		switch t.kind {
		case tokIdent, tokString:
			var name string
			if t.kind == tokIdent {
				name = p.in[t.pos:t.end]
			} else {
				name = p.unquote(t)
			}
			ident := t.kind == tokIdent
			t = p.lexBraces()
			switch {
			case t.kind == tokEq:
				if t = p.lexBraces(); t.kind != tokString {
					return nil, p.unexpected(t, "label set", "string")
				}
				if v := p.unquote(t); v != "" || keepEmpty {
					dst = append(dst, labels.Label{Name: name, Value: v})
				}
				t = p.lexBraces()
			case ident:
				return nil, p.unexpected(t, "label set", `"="`)
			case name != "" || keepEmpty:
				// A lone quoted string names the metric.
				dst = append(dst, labels.Label{Name: labels.MetricName, Value: name})
			}
		default:
			return nil, p.unexpected(t, "label set", `identifier or "}"`)
		}
		switch t.kind {
		case tokRBrace:
			return dst, nil
		case tokComma:
			if t = p.lexBraces(); t.kind == tokRBrace {
				return dst, nil
			}
		default:
			return nil, p.unexpected(t, "label set", `"," or "}"`)
		}
	}
}

// unexpected builds the error for token t in the Prometheus parser's words.
func (p *labelParser) unexpected(t token, context, expected string) error {
	if t.kind == tokErr {
		return p.errorAt(t.pos, p.msg)
	}
	var b strings.Builder
	b.WriteString("unexpected ")
	b.WriteString(p.describe(t))
	if context != "" {
		b.WriteString(" in ")
		b.WriteString(context)
	}
	if expected != "" {
		b.WriteString(", expected ")
		b.WriteString(expected)
	}
	return p.errorAt(t.pos, b.String())
}

func (p *labelParser) errorAt(pos int, msg string) error {
	before := p.in[:pos]
	return &LabelSyntaxError{
		Line: 1 + strings.Count(before, "\n"),
		Col:  pos - strings.LastIndexByte(before, '\n'),
		Msg:  msg,
	}
}

func (p *labelParser) describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokLBrace:
		return `"{"`
	case tokRBrace:
		return `"}"`
	case tokComma:
		return `","`
	case tokEq:
		return `"="`
	case tokString:
		return "string " + quoteItem(p.in[t.pos:t.end])
	case tokIdent:
		return fmt.Sprintf("identifier %q", p.in[t.pos:t.end])
	case tokWord:
		word := p.in[t.pos:t.end]
		if kw, ok := promqlKeywords[strings.ToLower(word)]; ok && (!kw.onlyBeforeParen || p.parenFollows(t.end)) {
			return kw.describe(word)
		}
		if strings.IndexByte(word, ':') >= 0 {
			return fmt.Sprintf("metric identifier %q", word)
		}
		return fmt.Sprintf("identifier %q", word)
	}
	return p.msg
}

// quoteItem prints a token's text as Prometheus does in errors.
func quoteItem(s string) string {
	if len(s) > 10 {
		return fmt.Sprintf("%.10q...", s)
	}
	return fmt.Sprintf("%q", s)
}

// skipSpace skips spaces and # comments.
func (p *labelParser) skipSpace() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		case '#':
			for p.pos < len(p.in) && p.in[p.pos] != '\n' && p.in[p.pos] != '\r' {
				p.pos++
			}
		default:
			return
		}
	}
}

// runeAt returns the rune at i, or -1 at the end of input.
func (p *labelParser) runeAt(i int) rune {
	if i >= len(p.in) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(p.in[i:])
	return r
}

func (p *labelParser) tok(kind tokKind, n int) token {
	t := token{kind: kind, pos: p.pos, end: p.pos + n}
	p.pos += n
	return t
}

func (p *labelParser) other(n int, desc string) token {
	p.msg = desc
	return p.tok(tokOther, n)
}

func (p *labelParser) fail(pos int, format string, args ...any) token {
	p.pos = len(p.in)
	p.msg = fmt.Sprintf(format, args...)
	return token{kind: tokErr, pos: pos}
}

// lexBraces returns the next token inside braces.
func (p *labelParser) lexBraces() token {
	p.skipSpace()
	if p.pos >= len(p.in) {
		return p.fail(p.pos, "unexpected end of input inside braces")
	}
	switch c := p.in[p.pos]; {
	case isNameStart(c):
		i := p.pos + 1
		for i < len(p.in) && isNameChar(p.in[i]) {
			i++
		}
		return p.tok(tokIdent, i-p.pos)
	case c == ',':
		return p.tok(tokComma, 1)
	case c == '}':
		return p.tok(tokRBrace, 1)
	case c == '=':
		if p.pos+1 < len(p.in) && p.in[p.pos+1] == '~' {
			return p.other(2, "<op:=~>")
		}
		return p.tok(tokEq, 1)
	case c == '"', c == '\'':
		return p.lexString(c)
	case c == '`':
		return p.lexRawString()
	case c == '!':
		switch r := p.runeAt(p.pos + 1); r {
		case '~':
			return p.other(2, "<op:!~>")
		case '=':
			return p.other(2, "<op:!=>")
		default:
			return p.fail(p.pos, "unexpected character after '!' inside braces: %q", r)
		}
	case c == '{':
		return p.fail(p.pos, "unexpected left brace '{'")
	default:
		return p.fail(p.pos, "unexpected character inside braces: %q", p.runeAt(p.pos))
	}
}

// lexTop returns the next token outside braces.
func (p *labelParser) lexTop() token {
	p.skipSpace()
	if p.pos >= len(p.in) {
		return token{kind: tokEOF, pos: p.pos, end: p.pos}
	}
	c := p.in[p.pos]
	next := p.runeAt(p.pos + 1)
	switch {
	case c == '{':
		return p.tok(tokLBrace, 1)
	case isNameStart(c) || c == ':':
		return p.lexWord()
	case c == ',':
		return p.other(1, `","`)
	case strings.IndexByte("*/%+-^@", c) >= 0:
		return p.other(1, "<op:"+string(c)+">")
	case c == '=':
		switch next {
		case '=':
			return p.other(2, "<op:==>")
		case '~':
			return p.fail(p.pos, "unexpected character after '=': '~'")
		}
		return p.other(1, `"="`)
	case c == '!':
		if next != '=' {
			return p.fail(p.pos, "unexpected character after '!': %q", next)
		}
		return p.other(2, "<op:!=>")
	case c == '<' || c == '>':
		if next == '=' || next == '/' {
			return p.other(2, "<op:"+p.in[p.pos:p.pos+2]+">")
		}
		return p.other(1, "<op:"+string(c)+">")
	case isDigit(c) || (c == '.' && next >= '0' && next <= '9'):
		// Prometheus lexes a number or a duration here; either way it
		// is unexpected. Approximate its extent.
		i := p.pos
		for i < len(p.in) && (isNameChar(p.in[i]) || p.in[i] == '.') {
			i++
		}
		return p.other(i-p.pos, "number "+quoteItem(p.in[p.pos:i]))
	case c == '"', c == '\'':
		t := p.lexString(c)
		return p.asOther(t)
	case c == '`':
		t := p.lexRawString()
		return p.asOther(t)
	case c == '(':
		return p.other(1, `"("`)
	case c == '[':
		return p.other(1, `"["`)
	case c == ')':
		// Prometheus reports this one after the parenthesis.
		return p.fail(p.pos+1, "unexpected right parenthesis ')'")
	case c == ']':
		return p.fail(p.pos, "unexpected right bracket ']'")
	default:
		return p.fail(p.pos, "unexpected character: %q", p.runeAt(p.pos))
	}
}

// asOther turns a string token outside braces, which is never valid there,
// into an unexpected token.
func (p *labelParser) asOther(t token) token {
	if t.kind == tokString {
		t.kind = tokOther
		p.msg = "string " + quoteItem(p.in[t.pos:t.end])
	}
	return t
}

// lexWord lexes an identifier outside braces, where it may contain colons
// and may be a PromQL keyword. Words that the grammar accepts as a metric
// name are tokWord.
func (p *labelParser) lexWord() token {
	i := p.pos
	for i < len(p.in) && (isNameChar(p.in[i]) || p.in[i] == ':') {
		i++
	}
	word := p.in[p.pos:i]
	if kw, ok := promqlKeywords[strings.ToLower(word)]; ok && !kw.metricName {
		return p.other(i-p.pos, kw.describe(word))
	}
	return p.tok(tokWord, i-p.pos)
}

// parenFollows reports whether the next non-space character from i is '('.
func (p *labelParser) parenFollows(i int) bool {
	for ; i < len(p.in); i++ {
		switch p.in[i] {
		case ' ', '\t', '\n', '\r':
		case '(':
			return true
		default:
			return false
		}
	}
	return false
}

// lexString lexes a string quoted with q, validating escapes like the
// Prometheus lexer.
func (p *labelParser) lexString(q byte) token {
	start := p.pos
	esc := false
	for i := start + 1; ; {
		if i >= len(p.in) {
			return p.fail(start, "unterminated quoted string")
		}
		c := p.in[i]
		switch {
		case c == q:
			p.pos = i + 1
			return token{kind: tokString, esc: esc, pos: start, end: i + 1}
		case c == '\n':
			return p.fail(start, "unterminated quoted string")
		case c == '\\':
			esc = true
			var msg string
			if i, msg = p.lexEscape(i+1, q); msg != "" {
				return p.fail(start, "%s", msg)
			}
		case c < utf8.RuneSelf:
			i++
		default:
			r, w := utf8.DecodeRuneInString(p.in[i:])
			if r == utf8.RuneError {
				return p.fail(start, "invalid UTF-8 rune")
			}
			i += w
		}
	}
}

// lexEscape validates the escape sequence after the backslash at i-1 and
// returns the offset after it, or an error message.
func (p *labelParser) lexEscape(i int, q byte) (int, string) {
	next := func() rune {
		if i >= len(p.in) {
			return -1
		}
		r, w := utf8.DecodeRuneInString(p.in[i:])
		i += w
		return r
	}
	var n int
	var base, maxVal uint32
	ch := next()
	switch ch {
	case 'a', 'b', 'f', 'n', 'r', 't', 'v', '\\', rune(q):
		return i, ""
	case '0', '1', '2', '3', '4', '5', '6', '7':
		n, base, maxVal = 3, 8, 255
	case 'x':
		ch = next()
		n, base, maxVal = 2, 16, 255
	case 'u':
		ch = next()
		n, base, maxVal = 4, 16, utf8.MaxRune
	case 'U':
		ch = next()
		n, base, maxVal = 8, 16, utf8.MaxRune
	case -1:
		return i, "escape sequence not terminated"
	default:
		return i, fmt.Sprintf("unknown escape sequence %#U", ch)
	}
	var x uint32
	for n > 0 {
		d := uint32(digitVal(ch))
		if d >= base {
			if ch == -1 {
				return i, "escape sequence not terminated"
			}
			return i, fmt.Sprintf("illegal character %#U in escape sequence", ch)
		}
		x = x*base + d
		n--
		if n > 0 {
			ch = next()
		}
	}
	if x > maxVal || 0xD800 <= x && x < 0xE000 {
		return i, "escape sequence is an invalid Unicode code point"
	}
	return i, ""
}

func (p *labelParser) lexRawString() token {
	start := p.pos
	for i := start + 1; ; {
		if i >= len(p.in) {
			return p.fail(start, "unterminated raw string")
		}
		c := p.in[i]
		switch {
		case c == '`':
			p.pos = i + 1
			return token{kind: tokString, pos: start, end: i + 1}
		case c < utf8.RuneSelf:
			i++
		default:
			r, w := utf8.DecodeRuneInString(p.in[i:])
			if r == utf8.RuneError {
				return p.fail(start, "invalid UTF-8 rune")
			}
			i += w
		}
	}
}

// unquote returns the value of a string token, whose escapes the lexer has
// validated.
func (p *labelParser) unquote(t token) string {
	s := p.in[t.pos+1 : t.end-1]
	if !t.esc {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		c = s[i+1]
		i += 2
		switch c {
		case 'a':
			b = append(b, '\a')
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'v':
			b = append(b, '\v')
		case 'x', 'u', 'U':
			n := 2
			if c == 'u' {
				n = 4
			} else if c == 'U' {
				n = 8
			}
			var v rune
			for ; n > 0; n-- {
				v = v<<4 | rune(digitVal(rune(s[i])))
				i++
			}
			if c == 'x' {
				b = append(b, byte(v))
			} else {
				b = utf8.AppendRune(b, v)
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := (c-'0')<<6 | (s[i]-'0')<<3 | (s[i+1] - '0')
			i += 2
			b = append(b, v)
		default: // \\ and the quote
			b = append(b, c)
		}
	}
	return string(b)
}

// sortByName sorts ls stably by name: by insertion for the short, nearly
// sorted lists of labels pushes carry, without its quadratic worst case for
// long ones.
func sortByName[T any](ls []T, name func(T) string) {
	if len(ls) > 16 {
		slices.SortStableFunc(ls, func(a, b T) int { return strings.Compare(name(a), name(b)) })
		return
	}
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && name(ls[j]) < name(ls[j-1]); j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

func isNameStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || isDigit(c) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitVal(ch rune) int {
	switch {
	case '0' <= ch && ch <= '9':
		return int(ch - '0')
	case 'a' <= ch && ch <= 'f':
		return int(ch - 'a' + 10)
	case 'A' <= ch && ch <= 'F':
		return int(ch - 'A' + 10)
	}
	return 16
}

// promqlKeyword is how the Prometheus lexer and grammar treat a keyword
// where ParseMetric expects a metric name.
type promqlKeyword struct {
	class           byte // 'o' operator, 'a' aggregator, 'k' keyword, 'n' number, 'p' other
	metricName      bool // the grammar accepts it as a metric name
	onlyBeforeParen bool // it is a keyword only when '(' follows
}

func (k promqlKeyword) describe(word string) string {
	switch k.class {
	case 'o':
		return "<op:" + word + ">"
	case 'a':
		return "<aggr:" + word + ">"
	case 'k':
		return "<" + word + ">"
	case 'n':
		return "number " + quoteItem(word)
	}
	return quoteItem(word)
}

// promqlKeywords are the Prometheus lexer's keywords (promql/parser/lex.go),
// all lexed case-insensitively.
var promqlKeywords = map[string]promqlKeyword{
	"and": {'o', true, false}, "or": {'o', true, false}, "unless": {'o', true, false},
	"atan2": {'o', false, false},

	"sum": {'a', true, false}, "avg": {'a', true, false}, "count": {'a', true, false},
	"min": {'a', true, false}, "max": {'a', true, false}, "group": {'a', true, false},
	"stddev": {'a', true, false}, "stdvar": {'a', true, false}, "topk": {'a', true, false},
	"bottomk": {'a', true, false}, "count_values": {'a', true, false},
	"quantile": {'a', true, false}, "limitk": {'a', true, false}, "limit_ratio": {'a', true, false},

	"offset": {'k', true, false}, "smoothed": {'k', true, false}, "anchored": {'k', true, false},
	"by": {'k', true, false}, "without": {'k', true, false},
	"fill": {'k', true, true}, "fill_left": {'k', true, true}, "fill_right": {'k', true, true},
	"on": {'k', false, false}, "ignoring": {'k', false, false}, "group_left": {'k', false, false},
	"group_right": {'k', false, false}, "bool": {'k', false, false},

	"start": {'p', true, false}, "end": {'p', true, false}, "step": {'p', true, false},
	"range": {'p', true, false}, "max_of": {'p', true, false}, "min_of": {'p', true, false},

	"inf": {'n', false, false}, "nan": {'n', false, false},
}
