package log

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// logfmtDecoder reads key=value pairs from one line, as Loki's decoder (an
// adaptation of go-logfmt) does. A key without = has no value; a syntax
// error skips to the next white space and is remembered in err.
type logfmtDecoder struct {
	line  []byte
	pos   int
	key   []byte
	value []byte
	err   logfmtError
	buf   []byte // unquoted values
}

// logfmtError is Loki's logfmt syntax error; msg "" means none.
type logfmtError struct {
	msg string
	pos int
}

func (e logfmtError) Error() string {
	return "logfmt syntax error at pos " + strconv.Itoa(e.pos) + " : " + e.msg
}

func (d *logfmtDecoder) reset(line []byte) {
	d.line, d.pos, d.err = line, 0, logfmtError{}
	d.buf = d.buf[:0]
}

func (d *logfmtDecoder) eol() bool { return d.pos >= len(d.line) }

func (d *logfmtDecoder) syntaxError(msg string) {
	d.err = logfmtError{msg: msg, pos: d.pos + 1}
}

func (d *logfmtDecoder) unexpected(c byte) {
	d.err = logfmtError{msg: fmt.Sprintf("unexpected %q", c), pos: d.pos + 1}
}

// skipValue skips to the next white space after an error.
func (d *logfmtDecoder) skipValue() bool {
	for p, c := range d.line[d.pos:] {
		if c <= ' ' {
			d.pos += p
			return false
		}
	}
	d.pos = len(d.line)
	return false
}

// scan reads the next pair; it returns false at the end of the line or on
// a syntax error.
func (d *logfmtDecoder) scan() bool {
	d.key, d.value = nil, nil
	line := d.line
	found := false
	for p, c := range line[d.pos:] {
		if c > ' ' {
			d.pos += p
			found = true
			break
		}
	}
	if !found {
		d.pos = len(line)
		return false
	}

	start, multibyte := d.pos, false
	for p, c := range line[d.pos:] {
		switch {
		case c == '=':
			d.pos += p
			if d.pos > start {
				d.key = line[start:d.pos]
				if multibyte && bytes.ContainsRune(d.key, utf8.RuneError) {
					d.syntaxError("invalid key")
					return d.skipValue()
				}
			}
			if d.key == nil {
				d.unexpected(c)
				return d.skipValue()
			}
			return d.scanValue()
		case c == '"':
			d.pos += p
			d.unexpected(c)
			return d.skipValue()
		case c <= ' ':
			d.pos += p
			if d.pos > start {
				d.key = line[start:d.pos]
				if multibyte && bytes.ContainsRune(d.key, utf8.RuneError) {
					d.syntaxError("invalid key")
					return false
				}
			}
			return true
		case c >= utf8.RuneSelf:
			multibyte = true
		}
	}
	d.pos = len(line)
	if d.pos > start {
		d.key = line[start:d.pos]
		if multibyte && bytes.ContainsRune(d.key, utf8.RuneError) {
			d.syntaxError("invalid key")
			return false
		}
	}
	return true
}

// scanValue reads the value after the = at d.pos.
func (d *logfmtDecoder) scanValue() bool {
	line := d.line
	d.pos++
	if d.pos >= len(line) {
		return true
	}
	switch c := line[d.pos]; {
	case c <= ' ':
		return true
	case c == '"':
		return d.scanQuoted()
	}
	start := d.pos
	for p, c := range line[d.pos:] {
		switch {
		case c == '=' || c == '"':
			d.pos += p
			d.unexpected(c)
			return d.skipValue()
		case c <= ' ':
			d.pos += p
			if d.pos > start {
				d.value = line[start:d.pos]
			}
			return true
		}
	}
	d.pos = len(line)
	if d.pos > start {
		d.value = line[start:d.pos]
	}
	return true
}

func (d *logfmtDecoder) scanQuoted() bool {
	line := d.line
	hasEsc, esc := false, false
	start := d.pos
	for p, c := range line[d.pos+1:] {
		switch {
		case esc:
			esc = false
		case c == '\\':
			hasEsc, esc = true, true
		case c == '"':
			d.pos += p + 2
			if hasEsc {
				n := len(d.buf)
				var ok bool
				if d.buf, ok = appendLogfmtUnquoted(d.buf, line[start+1:d.pos-1]); !ok {
					d.syntaxError("invalid quoted value")
					return false
				}
				d.value = d.buf[n:]
				if len(d.value) == 0 {
					d.value = nil
				}
			} else if end := d.pos - 1; end > start+1 {
				d.value = line[start+1 : end]
			}
			return true
		}
	}
	d.pos = len(line)
	d.syntaxError("unterminated quoted value")
	return false
}

// appendLogfmtUnquoted decodes the escapes of a quoted logfmt value (JSON's
// escapes plus \') and coerces the text to valid UTF-8.
func appendLogfmtUnquoted(dst, s []byte) ([]byte, bool) {
	start := len(dst)
	for len(s) > 0 {
		c := s[0]
		switch {
		case c == '\\':
			if len(s) < 2 {
				return dst[:start], false
			}
			switch s[1] {
			case '"', '\\', '/', '\'':
				dst = append(dst, s[1])
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, ok := hex4(s)
				if !ok {
					return dst[:start], false
				}
				s = s[6:]
				if r >= 0xD800 && r <= 0xDFFF {
					if r2, ok := hex4(s); ok && r2 >= 0xDC00 && r2 <= 0xDFFF && r < 0xDC00 {
						r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
						s = s[6:]
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default:
				return dst[:start], false
			}
			s = s[2:]
		case c == '"':
			return dst[:start], false
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			s = s[1:]
		default:
			r, n := utf8.DecodeRune(s)
			dst = utf8.AppendRune(dst, r)
			s = s[n:]
		}
	}
	return dst, true
}

// logfmtValue returns a label value of a logfmt value: invalid UTF-8 and
// U+FFFD become spaces.
func logfmtValue(b *builder, v []byte) string {
	if !needsUTF8Fix(v) {
		return unsafeString(v)
	}
	start := len(b.arena)
	b.arena = appendUTF8Fixed(b.arena, v)
	return arenaTail(b, start)
}

// logfmtParser is `| logfmt [--strict] [--keep-empty]`: every key becomes
// a label (sanitized, _extracted when a stream label has the name). Pairs
// without a value are skipped unless keepEmpty. Without strict, malformed
// pairs are skipped; with it parsing stops at the first one and the entry
// gets __error__=LogfmtParserErr.
type logfmtParser struct {
	strict, keepEmpty bool
	dec               logfmtDecoder
	keys              keyTable
	scratch           []byte
}

func newLogfmtParser(strict, keepEmpty bool) stageMaker {
	return func() stage { return &logfmtParser{strict: strict, keepEmpty: keepEmpty} }
}

func (l *logfmtParser) process(_ int64, line []byte, b *builder) ([]byte, bool) {
	l.dec.reset(line)
	for !l.dec.eol() {
		if !l.dec.scan() {
			if l.strict && l.dec.err.msg != "" {
				break
			}
			continue
		}
		key := l.dec.key
		if !l.keepEmpty && len(l.dec.value) == 0 {
			continue
		}
		value := logfmtValue(b, l.dec.value)
		l.keys.set(b, key, value, func() string {
			l.scratch = appendSanitized(l.scratch[:0], key)
			return withSuffix(b, l.scratch)
		})
	}
	if l.strict && l.dec.err.msg != "" {
		b.setErr(errLogfmt, l.dec.err.Error())
	}
	return line, true
}

// logfmtExprParser is `| logfmt name="key", …`: each named key's value
// becomes the label; every name is set (to "" when the key is missing).
type logfmtExprParser struct {
	strict bool
	ids    []string // label names, as written
	keys   []string // the logfmt key each id reads
	dec    logfmtDecoder
	names  []string // per stream: the label each id sets
	byKey  keyTable
}

func newLogfmtExprParser(ids, keys []string, strict bool) stageMaker {
	return func() stage { return &logfmtExprParser{strict: strict, ids: ids, keys: keys} }
}

func (l *logfmtExprParser) process(_ int64, line []byte, b *builder) ([]byte, bool) {
	if l.names == nil {
		for _, id := range l.ids {
			name := id
			if b.baseHas(id) {
				name += duplicateSuffix
			}
			l.names = append(l.names, name)
		}
	}
	for _, id := range l.ids {
		if !b.baseHas(id) {
			b.set(id, "")
		}
	}
	l.dec.reset(line)
	for !l.dec.eol() {
		if !l.dec.scan() {
			if l.strict && l.dec.err.msg != "" {
				break
			}
			continue
		}
		i := l.idOf(l.dec.key, b)
		if i < 0 {
			continue
		}
		v := l.dec.value
		if bytes.ContainsRune(v, utf8.RuneError) {
			v = nil
		}
		b.set(l.names[i], logfmtValue(b, v))
	}
	if l.strict && l.dec.err.msg != "" {
		b.setErr(errLogfmt, l.dec.err.Error())
	}
	return line, true
}

// idOf returns the parameter a logfmt key feeds, or -1. Like Loki, a key
// named like a parameter's label feeds that parameter when no parameter
// reads the key itself.
func (l *logfmtExprParser) idOf(key []byte, b *builder) int {
	e := l.byKey.get(key)
	if e == nil {
		name := sanitizeName(string(key))
		idx := -1
		for i, k := range l.keys {
			if k == name {
				idx = i
				break
			}
		}
		if idx < 0 {
			for i, id := range l.ids {
				if id == name {
					idx = i
					break
				}
			}
		}
		if e = l.byKey.add(key, name, false, b); e == nil {
			return idx
		}
		e.slot = idx // this table never sets labels: slot holds the parameter
	}
	if name := e.name; name == "" {
		return -1
	}
	return e.slot
}
