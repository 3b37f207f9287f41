package log

import (
	"bytes"
	"errors"
	"unicode/utf8"
)

// The JSON scanner below follows the lenient reader Loki uses
// (github.com/grafana/jsonparser) closely enough to give the same labels and
// the same __error_details__ texts: values are delimited rather than fully
// validated (a number runs to the next delimiter; arrays and objects are
// skipped by bracket counting) and errors carry that reader's messages.
var (
	errJSONMalformedJSON   = errors.New("Malformed JSON error")                                       //nolint:staticcheck // Loki's text
	errJSONMalformedString = errors.New("Value is string, but can't find closing '\"' symbol")        //nolint:staticcheck // Loki's text
	errJSONMalformedArray  = errors.New("Value is array, but can't find closing ']' symbol")          //nolint:staticcheck // Loki's text
	errJSONMalformedObject = errors.New("Value looks like object, but can't find closing '}' symbol") //nolint:staticcheck // Loki's text
	errJSONUnknownValue    = errors.New("Unknown value type")                                         //nolint:staticcheck // Loki's text
	errJSONMalformedEscape = errors.New("Encountered an invalid escape sequence in a string")         //nolint:staticcheck // Loki's text
	errJSONNotObject       = errors.New("expecting json object(6), but it is not")
)

// jsonType is the type of a JSON value.
type jsonType uint8

const (
	jsonNotExist jsonType = iota
	jsonString
	jsonNumber
	jsonObject
	jsonArray
	jsonBoolean
	jsonNull
	jsonUnknown
)

// nextToken returns the index of the first non-white-space byte, or -1.
func nextToken(data []byte) int {
	for i, c := range data {
		switch c {
		case ' ', '\n', '\r', '\t':
			continue
		}
		return i
	}
	return -1
}

// stringEnd returns the index after the closing quote of a string whose
// opening quote is just before data, or -1, and whether it holds a
// backslash.
func stringEnd(data []byte) (int, bool) {
	escaped := false
	for i, c := range data {
		if c == '"' {
			if !escaped {
				return i + 1, false
			}
			j := i - 1
			for {
				if j < 0 || data[j] != '\\' {
					return i + 1, true // even number of backslashes
				}
				j--
				if j < 0 || data[j] != '\\' {
					break // odd number of backslashes
				}
				j--
			}
		} else if c == '\\' {
			escaped = true
		}
	}
	return -1, escaped
}

// blockEnd returns the index after the bracket that closes the one at
// data[0], or -1.
func blockEnd(data []byte, open, closing byte) int {
	level := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			se, _ := stringEnd(data[i+1:])
			if se == -1 {
				return -1
			}
			i += se
		case open:
			level++
		case closing:
			level--
			if level == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// tokenEnd returns the length of the scalar at the start of data.
func tokenEnd(data []byte) int {
	for i, c := range data {
		switch c {
		case ' ', '\n', '\r', '\t', ',', '}', ']':
			return i
		}
	}
	return len(data)
}

// jsonValue reads the value that starts data (after white space): its text
// (strings without quotes), its type and the offset after it.
func jsonValue(data []byte) ([]byte, jsonType, int, error) {
	off := nextToken(data)
	if off < 0 {
		return nil, jsonNotExist, 0, errJSONMalformedJSON
	}
	switch data[off] {
	case '"':
		n, _ := stringEnd(data[off+1:])
		if n < 0 {
			return nil, jsonString, 0, errJSONMalformedString
		}
		end := off + 1 + n
		return data[off+1 : end-1], jsonString, end, nil
	case '[':
		n := blockEnd(data[off:], '[', ']')
		if n < 0 {
			return nil, jsonArray, 0, errJSONMalformedArray
		}
		return data[off : off+n], jsonArray, off + n, nil
	case '{':
		n := blockEnd(data[off:], '{', '}')
		if n < 0 {
			return nil, jsonObject, 0, errJSONMalformedObject
		}
		return data[off : off+n], jsonObject, off + n, nil
	}
	end := off + tokenEnd(data[off:])
	v := data[off:end]
	t := jsonUnknown
	switch data[off] {
	case 't', 'f':
		if string(v) == "true" || string(v) == "false" {
			t = jsonBoolean
		}
	case 'u', 'n':
		if string(v) == "null" {
			t = jsonNull
		}
	case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '-':
		t = jsonNumber
	}
	if t == jsonUnknown {
		return nil, jsonUnknown, 0, errJSONUnknownValue
	}
	return v, t, end, nil
}

// jsonObjectIter walks the members of a JSON object as jsonparser's
// ObjectEach does. Use: it := jsonObjectIter{data: d}; for it.next() {…};
// it.err.
type jsonObjectIter struct {
	data    []byte
	off     int
	started bool
	done    bool
	comma   int
	key     []byte
	escaped bool // key holds escape sequences (raw form)
	value   []byte
	typ     jsonType
	err     error
	// valueErr: err is about the value of key, not about the structure.
	valueErr bool
}

func (it *jsonObjectIter) fail(err error) bool {
	it.err, it.done = err, true
	return false
}

func (it *jsonObjectIter) next() bool {
	if it.done {
		return false
	}
	data := it.data
	if !it.started {
		it.started = true
		off := nextToken(data)
		if off < 0 || data[off] != '{' {
			return it.fail(errJSONMalformedObject)
		}
		it.off = off + 1
		n := nextToken(data[it.off:])
		if n < 0 {
			return it.fail(errJSONMalformedJSON)
		}
		it.off += n
		if data[it.off] == '}' {
			it.done = true
			return false
		}
		it.comma = -1
	} else {
		// Skip the comma after the previous member, or stop at the brace.
		n := nextToken(data[it.off:])
		if n < 0 {
			return it.fail(errJSONMalformedArray)
		}
		it.off += n
		switch data[it.off] {
		case '}':
			it.done = true
			return false
		case ',':
			it.comma = it.off
			it.off++
		default:
			return it.fail(errJSONMalformedObject)
		}
		n = nextToken(data[it.off:])
		if n < 0 {
			return it.fail(errJSONMalformedArray)
		}
		if n > 0 {
			it.comma += n - 1
		}
		it.off += n
	}
	if it.off >= len(data) {
		return it.fail(errJSONMalformedObject)
	}
	switch data[it.off] {
	case '"':
		it.off++
	case '}':
		if it.comma != -1 && it.comma+1 == it.off {
			return it.fail(errJSONMalformedObject)
		}
		it.done = true
		return false
	default:
		return it.fail(errJSONMalformedObject)
	}
	n, esc := stringEnd(data[it.off:])
	if n < 0 {
		return it.fail(errJSONMalformedJSON)
	}
	it.key, it.escaped = data[it.off:it.off+n-1], esc
	it.off += n
	if esc && !validEscapes(it.key) {
		return it.fail(errJSONMalformedEscape)
	}
	n = nextToken(data[it.off:])
	if n < 0 {
		return it.fail(errJSONMalformedJSON)
	}
	it.off += n
	if data[it.off] != ':' {
		return it.fail(errJSONMalformedJSON)
	}
	it.off++
	v, t, end, err := jsonValue(data[it.off:])
	if err != nil {
		it.valueErr = true
		return it.fail(err)
	}
	it.value, it.typ = v, t
	it.off += end
	return true
}

// validEscapes reports whether the escapes of a JSON string are valid.
func validEscapes(s []byte) bool {
	for i := bytes.IndexByte(s, '\\'); i >= 0; {
		n, _ := unescapeOne(s[i:], nil)
		if n < 0 {
			return false
		}
		j := bytes.IndexByte(s[i+n:], '\\')
		if j < 0 {
			break
		}
		i += n + j
	}
	return true
}

// appendUnescaped appends the unescaped form of a JSON string's text to dst.
// It reports false for an invalid escape (dst is then unchanged).
func appendUnescaped(dst, s []byte) ([]byte, bool) {
	start := len(dst)
	for {
		i := bytes.IndexByte(s, '\\')
		if i < 0 {
			return append(dst, s...), true
		}
		dst = append(dst, s[:i]...)
		var buf [utf8.UTFMax]byte
		n, m := unescapeOne(s[i:], buf[:])
		if n < 0 {
			return dst[:start], false
		}
		dst = append(dst, buf[:m]...)
		s = s[i+n:]
	}
}

// unescapeOne decodes the escape at the start of s into out (when not nil)
// and returns the bytes read and written, or -1.
func unescapeOne(s, out []byte) (int, int) {
	if len(s) < 2 || s[0] != '\\' {
		return -1, 0
	}
	var c byte
	switch s[1] {
	case '"', '\\', '/':
		c = s[1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r, ok := hex4(s)
		if !ok {
			return -1, 0
		}
		n := 6
		if r >= 0xD800 && r <= 0xDFFF {
			if len(s) < 12 {
				return -1, 0
			}
			r2, ok := hex4(s[6:])
			if !ok || r2 < 0xDC00 {
				return -1, 0
			}
			r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
			n = 12
		}
		if out == nil {
			return n, 0
		}
		return n, utf8.EncodeRune(out, r)
	default:
		return -1, 0
	}
	if out != nil {
		out[0] = c
	}
	return 2, 1
}

// hex4 decodes \uXXXX at the start of s.
func hex4(s []byte) (rune, bool) {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range s[2:6] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// needsUTF8Fix reports whether s holds invalid UTF-8 or U+FFFD, which Loki
// replaces with spaces in label values.
func needsUTF8Fix(s []byte) bool {
	return !utf8.Valid(s) || bytes.Contains(s, []byte("\uFFFD"))
}

// appendUTF8Fixed appends s to dst with every invalid byte and every U+FFFD
// replaced by a space.
func appendUTF8Fixed(dst, s []byte) []byte {
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError {
			dst = append(dst, ' ')
		} else {
			dst = append(dst, s[:n]...)
		}
		s = s[n:]
	}
	return dst
}

// jsonStringValue returns the label value of a JSON string's text: escapes
// decoded (an invalid escape gives ""), invalid UTF-8 replaced with spaces.
// Text without escapes is returned in place.
func jsonStringValue(b *builder, s []byte) string {
	if bytes.IndexByte(s, '\\') < 0 {
		if !needsUTF8Fix(s) {
			return unsafeString(s)
		}
		start := len(b.arena)
		b.arena = appendUTF8Fixed(b.arena, s)
		return arenaTail(b, start)
	}
	start := len(b.arena)
	var ok bool
	if b.arena, ok = appendUnescaped(b.arena, s); !ok {
		return ""
	}
	if needsUTF8Fix(b.arena[start:]) {
		mid := len(b.arena)
		b.arena = appendUTF8Fixed(b.arena, b.arena[start:mid])
		return unsafeString(b.arena[mid:])
	}
	return arenaTail(b, start)
}

// arenaTail returns the arena bytes from start as a string.
func arenaTail(b *builder, start int) string {
	return unsafeString(b.arena[start:])
}
