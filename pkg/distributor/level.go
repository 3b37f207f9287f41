package distributor

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
)

// LevelLabel is the structured-metadata field that carries an entry's
// detected level, as Loki 3 names it.
const LevelLabel = "detected_level"

// The levels detection normalises to.
const (
	levelTrace    = "trace"
	levelDebug    = "debug"
	levelInfo     = "info"
	levelWarn     = "warn"
	levelError    = "error"
	levelCritical = "critical"
	levelFatal    = "fatal"
	levelUnknown  = "unknown"
)

// levelDetector finds an entry's level the way Loki's distributor does: from a
// level-like stream label, else a level-like structured-metadata field, else
// the OTLP severity_number field, else a level field in a JSON or logfmt
// line, else a level word in the line.
type levelDetector struct {
	fields   []string            // in order of preference
	fieldSet map[string]struct{} // for JSON keys at any depth
}

func newLevelDetector(fields []string) *levelDetector {
	d := &levelDetector{fields: fields, fieldSet: make(map[string]struct{}, len(fields))}
	for _, f := range fields {
		d.fieldSet[f] = struct{}{}
	}
	return d
}

// fromLabels returns the normalised level named by a stream label, if any.
func (d *levelDetector) fromLabels(lbls labels.Labels) (string, bool) {
	for _, f := range d.fields {
		if v := lbls.Get(f); v != "" {
			return normalizeLevel(v), true
		}
	}
	return "", false
}

// detect returns the level of one entry whose stream has no level label:
// from a level-like metadata field, else from OTLP's severity_number, else
// from the line.
func (d *levelDetector) detect(sm []logproto.LabelAdapter, line string) string {
	for _, f := range d.fields {
		for _, p := range sm {
			if p.Name == f {
				return normalizeLevel(p.Value)
			}
		}
	}
	for _, p := range sm {
		if p.Name == severityNumberField && p.Value != "" {
			return levelFromSeverityNumber(p.Value)
		}
	}
	var v string
	var found bool
	switch {
	case looksLikeJSON(line):
		v, found = d.jsonLevel(line)
	case strings.IndexByte(line, '=') >= 0:
		v, found = d.logfmtLevel(line)
	default:
		return levelFromWords(line)
	}
	if found {
		if l, ok := knownLevel(v); ok {
			return l
		}
	}
	return levelFromWords(line)
}

// severityNumberField is the structured-metadata field in which OTLP
// ingestion keeps a record's severity number.
const severityNumberField = "severity_number"

// levelFromSeverityNumber maps an OTLP severity number to a level as Loki
// does: 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 error, 21-24
// fatal (numbers below 1 other than 0 count as trace); 0 and numbers above
// 24 are unknown, and a value that is no integer is info.
func levelFromSeverityNumber(v string) string {
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return levelInfo
	case n == 0:
		return levelUnknown
	case n <= 4:
		return levelTrace
	case n <= 8:
		return levelDebug
	case n <= 12:
		return levelInfo
	case n <= 16:
		return levelWarn
	case n <= 20:
		return levelError
	case n <= 24:
		return levelFatal
	}
	return levelUnknown
}

// normalizeLevel maps the spellings of the known levels to their canonical
// names and keeps any other value as it is.
func normalizeLevel(v string) string {
	if l, ok := knownLevel(v); ok {
		return l
	}
	return v
}

func knownLevel(v string) (string, bool) {
	switch {
	case strings.EqualFold(v, "trace"), strings.EqualFold(v, "trc"):
		return levelTrace, true
	case strings.EqualFold(v, "debug"), strings.EqualFold(v, "dbg"):
		return levelDebug, true
	case strings.EqualFold(v, "info"), strings.EqualFold(v, "inf"), strings.EqualFold(v, "information"):
		return levelInfo, true
	case strings.EqualFold(v, "warn"), strings.EqualFold(v, "wrn"), strings.EqualFold(v, "warning"):
		return levelWarn, true
	case strings.EqualFold(v, "error"), strings.EqualFold(v, "err"):
		return levelError, true
	case strings.EqualFold(v, "critical"):
		return levelCritical, true
	case strings.EqualFold(v, "fatal"):
		return levelFatal, true
	}
	return "", false
}

// looksLikeJSON reports whether the line starts with '{' and ends with '}'
// once surrounding white space is ignored.
func looksLikeJSON(line string) bool {
	t := strings.TrimSpace(line)
	return len(t) >= 2 && t[0] == '{' && t[len(t)-1] == '}'
}

// jsonLevel finds the first string value, in document order, whose key is one
// of the level fields, in the top-level object or objects nested in it (not
// in arrays), as Loki's detection does. It allocates nothing unless the
// value holds escapes.
func (d *levelDetector) jsonLevel(line string) (string, bool) {
	s := jsonScanner{s: line}
	s.skipSpace()
	if !s.consume('{') {
		return "", false
	}
	return d.jsonObject(&s, 0)
}

// maxJSONDepth bounds the nesting the level search descends into.
const maxJSONDepth = 64

// jsonObject scans the members of an object whose '{' was consumed.
func (d *levelDetector) jsonObject(s *jsonScanner, depth int) (string, bool) {
	s.skipSpace()
	if s.consume('}') {
		return "", false
	}
	for {
		s.skipSpace()
		key, ok := s.rawString()
		if !ok {
			return "", false
		}
		s.skipSpace()
		if !s.consume(':') {
			return "", false
		}
		s.skipSpace()
		switch s.peek() {
		case '"':
			val, ok := s.rawString()
			if !ok {
				return "", false
			}
			if _, hit := d.fieldSet[key]; hit {
				return unescapeJSON(val), true
			}
		case '{':
			s.pos++
			if depth+1 >= maxJSONDepth {
				return "", false
			}
			if v, ok := d.jsonObject(s, depth+1); ok {
				return v, true
			}
			if s.failed {
				return "", false
			}
		default:
			if !s.skipValue() {
				return "", false
			}
		}
		s.skipSpace()
		if s.consume(',') {
			continue
		}
		s.consume('}')
		return "", false
	}
}

// jsonScanner walks JSON text without building values.
type jsonScanner struct {
	s      string
	pos    int
	failed bool
}

func (s *jsonScanner) peek() byte {
	if s.pos < len(s.s) {
		return s.s[s.pos]
	}
	return 0
}

func (s *jsonScanner) consume(c byte) bool {
	if s.peek() == c && s.pos < len(s.s) {
		s.pos++
		return true
	}
	return false
}

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.s) {
		switch s.s[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// rawString returns the text of a string between its quotes, escapes not
// decoded.
func (s *jsonScanner) rawString() (string, bool) {
	if !s.consume('"') {
		s.failed = true
		return "", false
	}
	start := s.pos
	for s.pos < len(s.s) {
		switch s.s[s.pos] {
		case '\\':
			s.pos += 2
		case '"':
			v := s.s[start:s.pos]
			s.pos++
			return v, true
		default:
			s.pos++
		}
	}
	s.failed = true
	return "", false
}

// skipValue skips a number, literal, string, array or object.
func (s *jsonScanner) skipValue() bool {
	depth := 0
	for s.pos < len(s.s) {
		switch c := s.s[s.pos]; c {
		case '"':
			if _, ok := s.rawString(); !ok {
				return false
			}
			if depth == 0 {
				return true
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return true // end of the enclosing object: let the caller see it
			}
			depth--
			if depth == 0 {
				s.pos++
				return true
			}
		case ',':
			if depth == 0 {
				return true
			}
		}
		s.pos++
	}
	s.failed = true
	return false
}

// unescapeJSON decodes the escapes of a raw JSON string; most level values
// have none and are returned as they are.
func unescapeJSON(raw string) string {
	if strings.IndexByte(raw, '\\') < 0 {
		return raw
	}
	var v string
	if err := json.Unmarshal([]byte(`"`+raw+`"`), &v); err != nil {
		return raw
	}
	return v
}

// logfmtLevel returns the value of the most preferred level field present in a
// logfmt line (keys compared without regard to case).
func (d *levelDetector) logfmtLevel(line string) (string, bool) {
	best := len(d.fields)
	var val string
	scanLogfmt(line, func(k, v string) bool {
		for i, f := range d.fields[:best] {
			if strings.EqualFold(k, f) {
				best, val = i, v
				return i != 0
			}
		}
		return true
	})
	return val, best < len(d.fields)
}

// scanLogfmt calls fn for each key=value pair of a logfmt line until fn
// returns false. Values may be double-quoted with Go escapes.
func scanLogfmt(s string, fn func(k, v string) bool) {
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] <= ' ' {
			i++
		}
		start := i
		for i < len(s) && s[i] > ' ' && s[i] != '=' && s[i] != '"' {
			i++
		}
		key := s[start:i]
		if i >= len(s) || s[i] != '=' {
			// A bare key or garbage: skip to the next space.
			for i < len(s) && s[i] > ' ' {
				i++
			}
			if key != "" && !fn(key, "") {
				return
			}
			continue
		}
		i++ // '='
		var val string
		if i < len(s) && s[i] == '"' {
			j := i + 1
			escaped := false
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' && j+1 < len(s) {
					escaped = true
					j++
				}
				j++
			}
			val = s[i+1 : min(j, len(s))]
			if escaped {
				val = unescapeLogfmt(val)
			}
			i = j + 1
		} else {
			vs := i
			for i < len(s) && s[i] > ' ' {
				i++
			}
			val = s[vs:i]
		}
		if key != "" && !fn(key, val) {
			return
		}
	}
}

// unescapeLogfmt drops the backslashes of a quoted logfmt value.
func unescapeLogfmt(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// levelWords are tried in this order; the first whose first occurrence in
// the line (ignoring case) stands as a whole word names the level.
var levelWords = [...]struct{ word, level string }{
	{"trace", levelTrace},
	{"debug", levelDebug},
	{"fatal", levelFatal},
	{"critical", levelCritical},
	{"error", levelError},
	{"err", levelError},
	{"warning", levelWarn},
	{"warn", levelWarn},
	{"info", levelInfo},
}

// levelFromWords finds, in one pass and without allocating, the first
// occurrence of each level word (ignoring ASCII case) and returns the level of
// the first word, in levelWords order, whose first occurrence is a whole word.
func levelFromWords(line string) string {
	var first [len(levelWords)]int
	for i := range first {
		first[i] = -1
	}
	// Indexes into levelWords by first letter.
	see := func(w, i int) {
		if first[w] < 0 && hasPrefixFold(line[i:], levelWords[w].word) {
			first[w] = i
		}
	}
	for i := 0; i < len(line); i++ {
		switch line[i] | 0x20 {
		case 't':
			see(0, i)
		case 'd':
			see(1, i)
		case 'f':
			see(2, i)
		case 'c':
			see(3, i)
		case 'e':
			see(4, i)
			see(5, i)
		case 'w':
			see(6, i)
			see(7, i)
		case 'i':
			see(8, i)
		}
	}
	for w, pos := range first {
		if pos >= 0 && isBoundary(line, pos-1) && isBoundary(line, pos+len(levelWords[w].word)) {
			return levelWords[w].level
		}
	}
	return levelUnknown
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word,
// ignoring ASCII case.
func hasPrefixFold(s, word string) bool {
	if len(s) < len(word) {
		return false
	}
	for i := 0; i < len(word); i++ {
		if s[i]|0x20 != word[i] {
			return false
		}
	}
	return true
}

func isBoundary(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return true
	}
	c := s[i] | 0x20
	return !(c >= 'a' && c <= 'z' || s[i] >= '0' && s[i] <= '9' || s[i] == '_' || s[i] >= 0x80)
}
