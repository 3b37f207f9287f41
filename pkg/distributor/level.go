package distributor

import (
	"bytes"
	"encoding/json"
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
// level-like stream label, else a level-like structured-metadata field, else a
// level field in a JSON or logfmt line, else a level word in the line.
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

// detect returns the level of one entry whose stream has no level label.
func (d *levelDetector) detect(sm []logproto.LabelAdapter, line string) string {
	for _, f := range d.fields {
		for _, p := range sm {
			if p.Name == f {
				return normalizeLevel(p.Value)
			}
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

// jsonLevel finds the first string value, in document order and at any
// depth, whose key is one of the level fields.
func (d *levelDetector) jsonLevel(line string) (string, bool) {
	dec := json.NewDecoder(strings.NewReader(line))
	// Walk tokens; a key is a string token in object-key position.
	type frame struct {
		object  bool
		keyNext bool
	}
	var stack []frame
	var pendingKey string
	havePending := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, keyNext: true})
			case '[':
				stack = append(stack, frame{})
			case '}', ']':
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
				if len(stack) == 0 {
					return "", false
				}
				if top := &stack[len(stack)-1]; top.object {
					top.keyNext = true
				}
			}
			havePending = false
			continue
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].keyNext {
				stack[n-1].keyNext = false
				pendingKey, havePending = t, true
				continue
			}
			if havePending {
				if _, ok := d.fieldSet[pendingKey]; ok {
					return t, true
				}
			}
		}
		havePending = false
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].keyNext = true
		}
	}
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
			var b bytes.Buffer
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
				j++
			}
			val = b.String()
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

// levelWords are tried in this order; the first that occurs as a whole word
// (case-insensitively) at its first occurrence names the level.
var levelWords = []struct{ word, level string }{
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

func levelFromWords(line string) string {
	lower := strings.ToLower(line)
	for _, w := range levelWords {
		pos := strings.Index(lower, w.word)
		if pos < 0 {
			continue
		}
		if isBoundary(lower, pos-1) && isBoundary(lower, pos+len(w.word)) {
			return w.level
		}
	}
	return levelUnknown
}

func isBoundary(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return true
	}
	c := s[i]
	return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80)
}
