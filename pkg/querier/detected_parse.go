package querier

import (
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Line parsing for field detection. Loki detects the fields of a line by
// running its json parser and, when the line is not a JSON object, its
// logfmt parser (not strict, empty values dropped). These are small,
// self-contained versions of both with the same output: label names
// sanitized as Loki sanitizes them, nested JSON objects flattened with "_",
// JSON arrays and nulls skipped, and a name that is already a stream label
// suffixed with "_extracted".

// Parser names as Loki reports them in a detected field's "parsers".
const (
	parserJSON   = "json"
	parserLogfmt = "logfmt"
)

// extractedSuffix is what Loki appends to a parsed name that collides with a
// stream label.
const extractedSuffix = "_extracted"

// maxJSONDepth bounds the nesting the JSON walker follows; deeper documents
// are treated as malformed.
const maxJSONDepth = 1000

// maxJSONPrefixBytes bounds the bytes of the object keys the names of one
// line's nested members repeat (a member's name holds every key above it):
// a line beyond is treated as malformed, so that a short line cannot make
// names quadratic in its length.
const maxJSONPrefixBytes = 1 << 20

// maxInternedNames bounds the names kept across lines; the table starts
// over when full.
const maxInternedNames = 1 << 14

// lineFields are the fields parsed from one line. The slices are reused
// from line to line; the strings in them (names, values, paths) are
// immutable and safe to keep: values are parts of the line or unescaped
// copies, names and paths are interned across lines.
type lineFields struct {
	parser string   // parserJSON, parserLogfmt, or "" when neither parsed
	names  []string // sanitized, de-duplicated names
	values []string
	paths  [][]string // JSON only: the keys leading to each value, unsanitized

	seen     map[string]struct{}
	isLabel  func(string) bool // reports stream label names
	keyBuf   []byte
	pathBuf  []string
	prefixed int // bytes of key prefixes in this line's names
	interned map[string]*internedName
}

// internedName is a field name and the JSON path it was first seen at.
type internedName struct {
	name, extracted string // extracted: name + "_extracted", made when needed
	path            []string
}

// parse fills f with the fields of line. isLabel reports the names of the
// stream's labels.
func (f *lineFields) parse(line string, isLabel func(string) bool) {
	f.reset(isLabel)
	if f.parseJSON(line) {
		f.parser = parserJSON
		return
	}
	f.reset(isLabel)
	if f.parseLogfmt(line) {
		f.parser = parserLogfmt
		return
	}
	f.reset(isLabel)
}

func (f *lineFields) reset(isLabel func(string) bool) {
	f.parser = ""
	f.names, f.values, f.paths = f.names[:0], f.values[:0], f.paths[:0]
	if f.seen == nil {
		f.seen = map[string]struct{}{}
	}
	clear(f.seen)
	f.isLabel = isLabel
}

// add records the field named by f.keyBuf; the first value of a name wins,
// as in Loki. path is the field's JSON path (nil for logfmt).
func (f *lineFields) add(value string, path []string) {
	if len(f.keyBuf) == 0 {
		return
	}
	in, ok := f.interned[string(f.keyBuf)]
	if !ok {
		if f.interned == nil || len(f.interned) >= maxInternedNames {
			f.interned = map[string]*internedName{}
		}
		in = &internedName{name: string(f.keyBuf)}
		if path != nil {
			in.path = slices.Clone(path)
		}
		f.interned[in.name] = in
	}
	name := in.name
	if f.isLabel != nil && f.isLabel(name) {
		if in.extracted == "" {
			in.extracted = name + extractedSuffix
		}
		name = in.extracted
	}
	if _, dup := f.seen[name]; dup {
		return
	}
	f.seen[name] = struct{}{}
	f.names = append(f.names, name)
	f.values = append(f.values, value)
	if path != nil {
		p := in.path
		if !slices.Equal(p, path) { // another path sanitized to the same name
			p = slices.Clone(path)
		}
		f.paths = append(f.paths, p)
	}
}

// appendSanitized appends key with every byte outside [a-zA-Z0-9_] replaced
// by '_' (one '_' per invalid UTF-8 sequence or rune), after trimming
// spaces; with prefix, a key starting with a digit gets a leading '_'.
func appendSanitized(dst []byte, key string, prefix bool) []byte {
	key = trimSpace(key)
	if key == "" {
		return dst
	}
	if prefix && key[0] >= '0' && key[0] <= '9' {
		dst = append(dst, '_')
	}
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
				dst = append(dst, c)
			} else {
				dst = append(dst, '_')
			}
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(key[i:])
		dst = append(dst, '_')
		i += size
	}
	return dst
}

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// --- logfmt ---

// parseLogfmt reads line as logfmt. It reports false on a syntax error (a
// quote or '=' where a key or bare value is expected, an unterminated or
// invalid quoted value, a key with invalid UTF-8); keys without a value are
// dropped.
func (f *lineFields) parseLogfmt(line string) bool {
	i := 0
	for {
		for i < len(line) && line[i] <= ' ' {
			i++
		}
		if i >= len(line) {
			return true
		}
		start := i
		multibyte := false
		for i < len(line) && line[i] > ' ' && line[i] != '=' {
			switch c := line[i]; {
			case c == '"':
				return false
			case c >= utf8.RuneSelf:
				multibyte = true
			}
			i++
		}
		key := line[start:i]
		if key == "" { // '=' where a key was expected
			return false
		}
		if multibyte && !utf8.ValidString(key) {
			return false
		}
		if i >= len(line) || line[i] != '=' {
			continue // a key alone: no value, dropped
		}
		i++ // '='
		var value string
		switch {
		case i >= len(line) || line[i] <= ' ':
		case line[i] == '"':
			end, v, ok := scanLogfmtQuoted(line, i)
			if !ok {
				return false
			}
			value, i = v, end
		default:
			vs := i
			for i < len(line) && line[i] > ' ' {
				if line[i] == '=' || line[i] == '"' {
					return false
				}
				i++
			}
			value = line[vs:i]
		}
		if value == "" {
			continue
		}
		f.keyBuf = appendSanitized(f.keyBuf[:0], key, true)
		f.add(value, nil)
	}
}

// scanLogfmtQuoted reads the quoted value starting at line[i] == '"' and
// returns the index after it and the unquoted value.
func scanLogfmtQuoted(line string, i int) (int, string, bool) {
	escaped, esc := false, false
	for j := i + 1; j < len(line); j++ {
		switch c := line[j]; {
		case esc:
			esc = false
		case c == '\\':
			escaped, esc = true, true
		case c == '"':
			if !escaped {
				return j + 1, line[i+1 : j], true
			}
			v, ok := unescapeJSON(line[i+1 : j])
			return j + 1, v, ok
		}
	}
	return len(line), "", false
}

// --- JSON ---

// jsonWalker walks one JSON document held in a string.
type jsonWalker struct {
	s string
	i int
	f *lineFields
}

// parseJSON reads line as a JSON object and records its scalar members,
// flattened. It reports false when the line is not a well-formed object.
// Bytes after the object are ignored.
func (f *lineFields) parseJSON(line string) bool {
	w := jsonWalker{s: line, f: f}
	w.ws()
	if w.i >= len(w.s) || w.s[w.i] != '{' {
		return false
	}
	f.keyBuf = f.keyBuf[:0]
	f.pathBuf = f.pathBuf[:0]
	f.prefixed = 0
	return w.object(0)
}

func (w *jsonWalker) ws() {
	for w.i < len(w.s) && (w.s[w.i] == ' ' || w.s[w.i] == '\t' || w.s[w.i] == '\n' || w.s[w.i] == '\r') {
		w.i++
	}
}

// object reads an object at w.i; f.keyBuf holds the sanitized prefix of its
// members' names and f.pathBuf their path.
func (w *jsonWalker) object(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	w.i++ // '{'
	w.ws()
	if w.i < len(w.s) && w.s[w.i] == '}' {
		w.i++
		return true
	}
	f := w.f
	for {
		w.ws()
		key, ok := w.str()
		if !ok {
			return false
		}
		w.ws()
		if w.i >= len(w.s) || w.s[w.i] != ':' {
			return false
		}
		w.i++
		w.ws()
		if w.i >= len(w.s) {
			return false
		}
		prefixLen, pathLen := len(f.keyBuf), len(f.pathBuf)
		if f.prefixed += prefixLen; f.prefixed > maxJSONPrefixBytes {
			return false
		}
		if prefixLen > 0 {
			f.keyBuf = append(f.keyBuf, '_')
			f.keyBuf = appendSanitized(f.keyBuf, key, false)
		} else {
			f.keyBuf = appendSanitized(f.keyBuf, key, true)
		}
		f.pathBuf = append(f.pathBuf, key)
		switch c := w.s[w.i]; c {
		case '{':
			if !w.object(depth + 1) {
				return false
			}
		case '[':
			if !w.skip(depth + 1) {
				return false
			}
		case '"':
			v, ok := w.str()
			if !ok {
				return false
			}
			f.add(v, f.pathBuf)
		default:
			start := w.i
			if !w.literal() {
				return false
			}
			if lit := w.s[start:w.i]; lit != "null" {
				f.add(lit, f.pathBuf)
			}
		}
		f.keyBuf, f.pathBuf = f.keyBuf[:prefixLen], f.pathBuf[:pathLen]
		w.ws()
		if w.i >= len(w.s) {
			return false
		}
		switch w.s[w.i] {
		case ',':
			w.i++
		case '}':
			w.i++
			return true
		default:
			return false
		}
	}
}

// str reads a string at w.i and returns it unescaped.
func (w *jsonWalker) str() (string, bool) {
	if w.i >= len(w.s) || w.s[w.i] != '"' {
		return "", false
	}
	start := w.i + 1
	escaped := false
	for j := start; j < len(w.s); j++ {
		switch c := w.s[j]; {
		case c == '\\':
			escaped = true
			j++
		case c == '"':
			w.i = j + 1
			if !escaped {
				return w.s[start:j], true
			}
			return unescapeJSON(w.s[start:j])
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// literal reads a number, true, false or null at w.i.
func (w *jsonWalker) literal() bool {
	start := w.i
	for w.i < len(w.s) {
		c := w.s[w.i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E' {
			w.i++
			continue
		}
		break
	}
	switch lit := w.s[start:w.i]; lit {
	case "true", "false", "null":
		return true
	case "":
		return false
	default:
		return validJSONNumber(lit)
	}
}

// skip passes over the value at w.i (an array here) without recording it.
func (w *jsonWalker) skip(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	switch c := w.s[w.i]; c {
	case '"':
		_, ok := w.str()
		return ok
	case '{', '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		w.i++
		w.ws()
		if w.i < len(w.s) && w.s[w.i] == closer {
			w.i++
			return true
		}
		for {
			w.ws()
			if c == '{' {
				if _, ok := w.str(); !ok {
					return false
				}
				w.ws()
				if w.i >= len(w.s) || w.s[w.i] != ':' {
					return false
				}
				w.i++
				w.ws()
			}
			if w.i >= len(w.s) || !w.skip(depth+1) {
				return false
			}
			w.ws()
			if w.i >= len(w.s) {
				return false
			}
			switch w.s[w.i] {
			case ',':
				w.i++
			case closer:
				w.i++
				return true
			default:
				return false
			}
		}
	default:
		return w.literal()
	}
}

// validJSONNumber reports whether s is a JSON number.
func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(s)
}

// unescapeJSON decodes the escapes of a JSON string body (without quotes).
func unescapeJSON(s string) (string, bool) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(0), false
				if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2, ok2 = hex4(s, i+3)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return string(out), true
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[i:i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}
