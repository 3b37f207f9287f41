package logproto

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// jsonScanner is a small pull scanner over a JSON document held in a
// string. Strings without escapes are returned as substrings of the
// document (no copy); unescaped strings are written to a shared arena.
//
// It is lenient where Loki's jsoniter and jsonparser are: string contents
// are not checked for valid UTF-8 or for raw control characters.
type jsonScanner struct {
	s     string
	i     int
	what  string // "push JSON" or "legacy push JSON", for errors
	arena byteArena
}

// maxJSONDepth bounds the nesting of values the scanner skips.
const maxJSONDepth = 10000

// jsonPath locates a value for error messages:
// streams[si].<list>[ei]<tail>, with si or ei -1 when not inside (the
// list itself is streams[si].<list>).
type jsonPath struct {
	si   int
	list string // "values" or "entries"
	ei   int
	tail string
}

var noPath = jsonPath{si: -1, ei: -1}

func (p jsonPath) String() string {
	if p.si < 0 {
		if p.tail == "" {
			return ""
		}
		return p.tail + ": "
	}
	s := fmt.Sprintf("streams[%d]", p.si)
	if p.ei >= 0 {
		s += fmt.Sprintf(".%s[%d]", p.list, p.ei)
	} else if p.list != "" {
		s += "." + p.list
	}
	return s + p.tail + ": "
}

func (d *jsonScanner) fail(p jsonPath, format string, args ...any) error {
	return malformedf("invalid %s at offset %d: %s%s", d.what, d.i, p, fmt.Sprintf(format, args...))
}

// ws skips white space.
func (d *jsonScanner) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (d *jsonScanner) peek() byte {
	d.ws()
	if d.i >= len(d.s) {
		return 0
	}
	return d.s[d.i]
}

// found describes what is at d.i, for "expected X, found Y" errors.
func (d *jsonScanner) found() string {
	switch c := d.peek(); {
	case d.i >= len(d.s):
		return "end of input"
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '-' || isDigit(c):
		return "number"
	case strings.HasPrefix(d.s[d.i:], "true"), strings.HasPrefix(d.s[d.i:], "false"):
		return "boolean"
	case strings.HasPrefix(d.s[d.i:], "null"):
		return "null"
	default:
		r, _ := utf8.DecodeRuneInString(d.s[d.i:])
		return fmt.Sprintf("%q", r)
	}
}

func (d *jsonScanner) expected(p jsonPath, what string) error {
	return d.fail(p, "expected %s, found %s", what, d.found())
}

// null consumes a null literal if one is next.
func (d *jsonScanner) null() bool {
	if d.peek() == 'n' && strings.HasPrefix(d.s[d.i:], "null") {
		d.i += 4
		return true
	}
	return false
}

// beginArray consumes '[' and reports whether the array is empty (then
// its ']' is consumed too).
func (d *jsonScanner) beginArray(p jsonPath, what string) (empty bool, err error) {
	if d.peek() != '[' {
		return false, d.expected(p, what)
	}
	d.i++
	if d.peek() == ']' {
		d.i++
		return true, nil
	}
	return false, nil
}

// nextElem consumes the ',' or ']' after an array element and reports
// whether another element follows.
func (d *jsonScanner) nextElem(p jsonPath) (more bool, err error) {
	switch d.peek() {
	case ',':
		d.i++
		return true, nil
	case ']':
		d.i++
		return false, nil
	}
	return false, d.expected(p, "',' or ']' after array element")
}

// beginObject consumes '{' and reports whether the object is empty (then
// its '}' is consumed too).
func (d *jsonScanner) beginObject(p jsonPath, what string) (empty bool, err error) {
	if d.peek() != '{' {
		return false, d.expected(p, what)
	}
	d.i++
	if d.peek() == '}' {
		d.i++
		return true, nil
	}
	return false, nil
}

// nextMember consumes the ',' or '}' after an object member and reports
// whether another member follows.
func (d *jsonScanner) nextMember(p jsonPath) (more bool, err error) {
	switch d.peek() {
	case ',':
		d.i++
		return true, nil
	case '}':
		d.i++
		return false, nil
	}
	return false, d.expected(p, "',' or '}' after object member")
}

// key reads an object key and the ':' after it.
func (d *jsonScanner) key(p jsonPath) (string, error) {
	if d.peek() != '"' {
		return "", d.expected(p, "string key")
	}
	k, err := d.str(p)
	if err != nil {
		return "", err
	}
	if d.peek() != ':' {
		return "", d.expected(p, "':' after object key")
	}
	d.i++
	return k, nil
}

// stringValue reads a string value; what names it in the error when
// something else is there.
func (d *jsonScanner) stringValue(p jsonPath, what string) (string, error) {
	if d.peek() != '"' {
		return "", d.fail(p, "%s must be a string, found %s", what, d.found())
	}
	return d.str(p)
}

// str reads the string starting at d.i, which is '"'.
func (d *jsonScanner) str(p jsonPath) (string, error) {
	start := d.i + 1
	n := strings.IndexByte(d.s[start:], '"')
	if n < 0 {
		return "", d.fail(p, "unterminated string")
	}
	if strings.IndexByte(d.s[start:start+n], '\\') < 0 {
		d.i = start + n + 1
		return d.s[start : start+n], nil
	}
	// The quote found may be escaped: it ends the string only after an
	// even number of backslashes.
	end := start + n
	for {
		k := end - 1
		for k >= start && d.s[k] == '\\' {
			k--
		}
		if (end-1-k)%2 == 0 {
			break
		}
		next := strings.IndexByte(d.s[end+1:], '"')
		if next < 0 {
			return "", d.fail(p, "unterminated string")
		}
		end += 1 + next
	}
	v, err := d.unescape(p, d.s[start:end])
	if err != nil {
		return "", err
	}
	d.i = end + 1
	return v, nil
}

// unescape decodes the escapes of raw, a string's content, into the arena.
func (d *jsonScanner) unescape(p jsonPath, raw string) (string, error) {
	b := d.arena.room(len(raw)) // decoding never lengthens a string
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := strings.IndexByte(raw[i:], '\\')
			if j < 0 {
				j = len(raw) - i
			}
			b = append(b, raw[i:i+j]...)
			i += j
			continue
		}
		if i+1 >= len(raw) {
			return "", d.fail(p, "unterminated escape sequence in string")
		}
		c = raw[i+1]
		i += 2
		switch c {
		case '"', '\\', '/':
			b = append(b, c)
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
		case 'u':
			r, ok := hex4(raw[i:])
			if !ok {
				return "", d.fail(p, "invalid \\u escape in string")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A pair makes one character; a lone surrogate is
				// replaced, as encoding/json does.
				r2, ok := rune(-1), false
				if strings.HasPrefix(raw[i:], `\u`) {
					r2, ok = hex4(raw[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", d.fail(p, "invalid escape sequence %q in string", "\\"+string(rune(c)))
		}
	}
	return d.arena.commit(b), nil
}

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		v := digitVal(rune(s[i]))
		if v > 15 {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// skipValue skips any JSON value, checking its syntax.
func (d *jsonScanner) skipValue(p jsonPath, depth int) error {
	if depth > maxJSONDepth {
		return d.fail(p, "values nested too deeply")
	}
	switch c := d.peek(); {
	case c == '"':
		_, err := d.str(p)
		return err
	case c == '{':
		empty, err := d.beginObject(p, "object")
		for more := !empty; more && err == nil; {
			if _, err = d.key(p); err != nil {
				break
			}
			if err = d.skipValue(p, depth+1); err != nil {
				break
			}
			more, err = d.nextMember(p)
		}
		return err
	case c == '[':
		empty, err := d.beginArray(p, "array")
		for more := !empty; more && err == nil; {
			if err = d.skipValue(p, depth+1); err != nil {
				break
			}
			more, err = d.nextElem(p)
		}
		return err
	case c == '-' || isDigit(c):
		return d.number(p)
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if strings.HasPrefix(d.s[d.i:], lit) {
			d.i += len(lit)
			return nil
		}
	}
	return d.expected(p, "value")
}

// number consumes a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *jsonScanner) number(p jsonPath) error {
	s, i := d.s, d.i
	digits := func() int {
		n := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		d.i = i
		return d.fail(p, "invalid number")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			d.i = i
			return d.fail(p, "invalid number")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			d.i = i
			return d.fail(p, "invalid number")
		}
	}
	d.i = i
	return nil
}

// end checks that nothing but white space follows the document.
func (d *jsonScanner) end() error {
	if d.peek(); d.i < len(d.s) {
		return d.fail(noPath, "unexpected %s after the top-level value", d.found())
	}
	return nil
}

// byteArena holds the decoded strings of one request. Strings point into
// its chunks, which are only ever appended to.
type byteArena struct {
	buf []byte
}

// room returns an empty slice with capacity for n bytes at the end of the
// arena.
func (a *byteArena) room(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(n, 2*cap(a.buf), 4096))
	}
	return a.buf[len(a.buf):len(a.buf)]
}

// commit makes b, filled from room, a string and keeps its bytes.
func (a *byteArena) commit(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	a.buf = a.buf[:len(a.buf)+len(b)]
	return unsafe.String(unsafe.SliceData(b), len(b))
}
