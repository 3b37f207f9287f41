package syntax

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// lexer splits a query into tokens. It follows Loki's lexer (Go's
// text/scanner plus LogQL's own rules for durations, bytes, ranges, flags and
// function names) closely, because what it accepts and where it reports an
// error are part of the wire contract.
type lexer struct {
	input string
	pos   int // byte offset of the next character
	line  int // line of pos, from 1
	col   int // characters already read on the line
	// read reports whether any character was read: an empty query reports
	// its errors at line 0, col 0, as Loki does.
	read bool
}

func newLexer(input string) lexer {
	return lexer{input: input, line: 1}
}

// peekRune returns the character at byte offset i and its width; width 0 at
// the end of the input.
func (l *lexer) peekRune(i int) (rune, int) {
	if i >= len(l.input) {
		return 0, 0
	}
	if c := l.input[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(l.input[i:])
}

// advance consumes one character.
func (l *lexer) advance() rune {
	r, w := l.peekRune(l.pos)
	if w == 0 {
		return 0
	}
	l.pos += w
	l.read = true
	if r == '\n' {
		l.line++
		l.col = 0
	} else {
		l.col++
	}
	return r
}

// advanceBytes consumes the characters in the next n bytes.
func (l *lexer) advanceBytes(n int) {
	for end := l.pos + n; l.pos < end; {
		l.advance()
	}
}

func (l *lexer) tok(kind tokenKind, text string, line, col int) token {
	return token{kind: kind, text: text, line: line, col: col}
}

func (l *lexer) errTok(msg string, line, col int) token {
	return token{kind: tokError, text: msg, line: line, col: col}
}

// badChar reports whether s holds a character Go's scanner refuses: invalid
// UTF-8 or NUL. It returns the message for it.
func badChar(s string) (string, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0 {
			return "invalid character NUL", true
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			return "invalid UTF-8 encoding", true
		}
		i += w
	}
	return "", false
}

// next returns the next token.
func (l *lexer) next() token {
	for {
		for l.pos < len(l.input) {
			c := l.input[l.pos]
			// Go's scanner skips a byte-order mark at the start.
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' && !(l.pos == 0 && strings.HasPrefix(l.input, "\uFEFF")) {
				break
			}
			l.advance()
		}
		if l.pos >= len(l.input) {
			if !l.read {
				return token{kind: tokEOF}
			}
			return token{kind: tokEOF, line: l.line, col: l.col + 1}
		}
		if l.input[l.pos] != '#' {
			break
		}
		line, col, start := l.line, l.col+1, l.pos
		for l.pos < len(l.input) && l.advance() != '\n' {
		}
		if msg, bad := badChar(l.input[start:l.pos]); bad {
			return l.errTok(msg, line, col)
		}
	}

	line, col, start := l.line, l.col+1, l.pos
	r, w := l.peekRune(l.pos)
	if r == utf8.RuneError && w == 1 || r == 0 {
		msg, _ := badChar(l.input[l.pos : l.pos+1])
		l.advance()
		return l.errTok(msg, line, col)
	}
	switch {
	case r == '"':
		return l.scanString(line, col)
	case r == '`':
		return l.scanRawString(line, col)
	case r == '\'':
		return l.scanChar(line, col)
	case isDecimal(r) || r == '.' && l.pos+1 < len(l.input) && isDecimal(rune(l.input[l.pos+1])):
		return l.scanNumberToken(line, col)
	case r == '-':
		return l.scanMinus(line, col)
	case r == '[':
		return l.scanRange(line, col)
	case r == '_' || unicode.IsLetter(r):
		return l.scanIdentifier(line, col)
	}

	l.advance()
	two := func(second byte, pair, single tokenKind) token {
		if l.pos < len(l.input) && l.input[l.pos] == second {
			l.advance()
			// Loki's lexer reads the second character ahead, which drops the
			// line from the error position.
			return l.tok(pair, l.input[start:l.pos], 0, col)
		}
		return l.tok(single, l.input[start:l.pos], line, col)
	}
	switch r {
	case '!':
		if l.pos < len(l.input) {
			switch l.input[l.pos] {
			case '=':
				return two('=', tokNeq, tokIllegal)
			case '~':
				return two('~', tokNre, tokIllegal)
			case '>':
				return two('>', tokNpa, tokIllegal)
			}
		}
		return l.tok(tokIllegal, "!", line, col)
	case '=':
		if l.pos < len(l.input) && l.input[l.pos] == '~' {
			return two('~', tokRe, tokEq)
		}
		return two('=', tokCmpEq, tokEq)
	case '|':
		if l.pos < len(l.input) {
			switch l.input[l.pos] {
			case '=':
				return two('=', tokPipeExact, tokPipe)
			case '~':
				return two('~', tokPipeMatch, tokPipe)
			case '>':
				return two('>', tokPipePattern, tokPipe)
			}
		}
		return l.tok(tokPipe, "|", line, col)
	case '>':
		return two('=', tokGte, tokGt)
	case '<':
		return two('=', tokLte, tokLt)
	case ',':
		return l.tok(tokComma, ",", line, col)
	case '.':
		return l.tok(tokDot, ".", line, col)
	case '{':
		return l.tok(tokOpenBrace, "{", line, col)
	case '}':
		return l.tok(tokCloseBrace, "}", line, col)
	case '(':
		return l.tok(tokOpenParen, "(", line, col)
	case ')':
		return l.tok(tokCloseParen, ")", line, col)
	case ']':
		return l.tok(tokCloseBracket, "]", line, col)
	case '+':
		return l.tok(tokAdd, "+", line, col)
	case '*':
		return l.tok(tokMul, "*", line, col)
	case '/':
		return l.tok(tokDiv, "/", line, col)
	case '%':
		return l.tok(tokMod, "%", line, col)
	case '^':
		return l.tok(tokPow, "^", line, col)
	}
	return l.tok(tokIllegal, l.input[start:l.pos], line, col)
}

// scanIdentifier scans a word and resolves it to a keyword, a function name
// (only when a call follows) or an identifier. Keywords are matched without
// regard to case, as Loki does.
func (l *lexer) scanIdentifier(line, col int) token {
	start := l.pos
	l.advance()
	for {
		r, w := l.peekRune(l.pos)
		if w == 0 || !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			break
		}
		l.advance()
	}
	text := l.input[start:l.pos]
	var buf [32]byte
	if len(text) <= len(buf) {
		lower := buf[:len(text)]
		ascii := true
		for i := 0; i < len(text); i++ {
			c := text[i]
			if c >= utf8.RuneSelf {
				ascii = false
				break
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower[i] = c
		}
		if ascii {
			if kind, ok := functions[string(lower)]; ok {
				if l.callFollows() {
					return l.tok(kind, text, line, col)
				}
				return l.tok(tokIdentifier, text, line, col)
			}
			if kind, ok := keywords[string(lower)]; ok {
				return l.tok(kind, text, line, col)
			}
		}
	}
	return l.tok(tokIdentifier, text, line, col)
}

// callFollows reports whether the input after the current word opens a
// function call: "(" or "by (" or "without (", spaces allowed.
func (l *lexer) callFollows() bool {
	i := skipSpaces(l.input, l.pos)
	rest := l.input[i:]
	switch {
	case strings.HasPrefix(rest, "("):
		return true
	case len(rest) >= 2 && strings.EqualFold(rest[:2], "by"):
		i = skipSpaces(l.input, i+2)
	case len(rest) >= 7 && strings.EqualFold(rest[:7], "without"):
		i = skipSpaces(l.input, i+7)
	default:
		return false
	}
	return i < len(l.input) && l.input[i] == '('
}

func skipSpaces(s string, i int) int {
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += w
	}
	return i
}

// scanString scans a double-quoted string with Go escapes.
func (l *lexer) scanString(line, col int) token {
	start := l.pos
	l.advance()
	errMsg := ""
	setErr := func(msg string) {
		if errMsg == "" {
			errMsg = msg
		}
	}
	for {
		if l.pos >= len(l.input) || l.input[l.pos] == '\n' {
			setErr("literal not terminated")
			return l.errTok(errMsg, line, col)
		}
		r := l.advance()
		if r == '"' {
			break
		}
		if r == '\\' {
			if msg := l.scanEscape('"'); msg != "" {
				setErr(msg)
			}
		}
	}
	text := l.input[start:l.pos]
	if msg, bad := badChar(text); bad {
		return l.errTok(msg, line, col)
	}
	if errMsg != "" {
		return l.errTok(errMsg, line, col)
	}
	value, err := unquote(text)
	if err != nil {
		return l.errTok("invalid syntax", line, col)
	}
	return l.tok(tokString, value, line, col)
}

// unquote returns the value of a double-quoted Go string; strings without
// escapes are returned without copying.
func unquote(text string) (string, error) {
	inner := text[1 : len(text)-1]
	if strings.IndexByte(inner, '\\') < 0 {
		return inner, nil
	}
	return strconv.Unquote(text)
}

// scanEscape checks the escape after a backslash, as text/scanner does.
func (l *lexer) scanEscape(quote rune) string {
	r, w := l.peekRune(l.pos)
	if w == 0 {
		return "invalid char escape"
	}
	digits := func(base, n int) string {
		for ; n > 0; n-- {
			r, w := l.peekRune(l.pos)
			if w == 0 || digitVal(r) >= base {
				return "invalid char escape"
			}
			l.advance()
		}
		return ""
	}
	switch r {
	case 'a', 'b', 'f', 'n', 'r', 't', 'v', '\\', quote:
		l.advance()
		return ""
	case '0', '1', '2', '3', '4', '5', '6', '7':
		return digits(8, 3)
	case 'x':
		l.advance()
		return digits(16, 2)
	case 'u':
		l.advance()
		return digits(16, 4)
	case 'U':
		l.advance()
		return digits(16, 8)
	}
	return "invalid char escape"
}

func digitVal(r rune) int {
	switch {
	case '0' <= r && r <= '9':
		return int(r - '0')
	case 'a' <= r && r <= 'f':
		return int(r - 'a' + 10)
	case 'A' <= r && r <= 'F':
		return int(r - 'A' + 10)
	}
	return 16
}

// scanRawString scans a back-quoted string: its value is its text.
func (l *lexer) scanRawString(line, col int) token {
	l.advance()
	start := l.pos
	end := strings.IndexByte(l.input[start:], '`')
	if end < 0 {
		l.advanceBytes(len(l.input) - start)
		return l.errTok("literal not terminated", line, col)
	}
	l.advanceBytes(end + 1)
	value := l.input[start : start+end]
	if msg, bad := badChar(value); bad {
		return l.errTok(msg, line, col)
	}
	return l.tok(tokString, value, line, col)
}

// scanChar scans a single-quoted character. Loki's lexer turns it into an
// IDENTIFIER that no rule accepts; a malformed one is a lexical error.
func (l *lexer) scanChar(line, col int) token {
	start := l.pos
	l.advance()
	n := 0
	for {
		if l.pos >= len(l.input) || l.input[l.pos] == '\n' {
			return l.errTok("literal not terminated", line, col)
		}
		r := l.advance()
		if r == '\'' {
			break
		}
		if r == '\\' {
			if msg := l.scanEscape('\''); msg != "" {
				return l.errTok(msg, line, col)
			}
		}
		n++
	}
	if n != 1 {
		return l.errTok("invalid char literal", line, col)
	}
	return l.tok(tokIllegal, l.input[start:l.pos], line, col)
}

// scanMinus scans "-": a parser flag (--strict, --keep-empty), a negative
// duration (-5m) or the minus operator.
func (l *lexer) scanMinus(line, col int) token {
	start := l.pos
	l.advance()
	if l.pos < len(l.input) && l.input[l.pos] == '-' {
		end := l.pos
		for end < len(l.input) {
			r, w := utf8.DecodeRuneInString(l.input[end:])
			if !unicode.IsLetter(r) && r != '-' {
				break
			}
			end += w
		}
		if flag := l.input[start:end]; flag == OpStrict || flag == OpKeepEmpty {
			l.advanceBytes(end - l.pos)
			return l.tok(tokParserFlag, flag, 0, col)
		}
	}
	if t, ok := l.tryDuration(start, col); ok {
		return t
	}
	return l.tok(tokSub, "-", line, col)
}

// scanRange scans a range "[5m]": everything up to "]" must be a Prometheus
// duration.
func (l *lexer) scanRange(_, col int) token {
	l.advance()
	start := l.pos
	end := strings.IndexByte(l.input[start:], ']')
	if end < 0 {
		l.advanceBytes(len(l.input) - start)
		return l.errTok("missing closing ']' in duration", 0, col)
	}
	l.advanceBytes(end + 1)
	text := l.input[start : start+end]
	if msg, bad := badChar(text); bad {
		return l.errTok(msg, 0, col)
	}
	d, err := model.ParseDuration(text)
	if err != nil {
		return l.errTok(err.Error(), 0, col)
	}
	t := l.tok(tokRange, l.input[start-1:l.pos], 0, col)
	t.dur = time.Duration(d)
	return t
}
