package api

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
)

// The encoders here append JSON to a byte slice: no reflection, no
// intermediate maps, so a 5000-entry response costs one growing buffer.

const hexDigits = "0123456789abcdef"

// jsonSafe[c] / htmlSafe[c] report whether ASCII byte c is written as is in
// a JSON string (htmlSafe additionally escapes <, > and &, as Loki does for
// log lines).
var jsonSafe, htmlSafe = func() (j, h [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		j[c] = c != '"' && c != '\\'
		h[c] = j[c] && c != '<' && c != '>' && c != '&'
	}
	return j, h
}()

// appendString appends s as a JSON string. Control characters are escaped
// (\n, \r, \t short, others \u00XX) and invalid UTF-8 becomes \ufffd, so the
// output is always valid JSON. With html, <, >, & and U+2028/U+2029 are
// escaped too, as Loki's encoder does for log lines.
func appendString(dst []byte, s string, html bool) []byte {
	safe := &jsonSafe
	if html {
		safe = &htmlSafe
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if html && (r == '\u2028' || r == '\u2029') {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendStrings appends a JSON array of strings, null for nil.
func appendStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s, false)
	}
	return append(dst, ']')
}

// appendLabels appends a label set as a JSON object; labels.Labels are
// sorted by name, so the keys are too.
func appendLabels(dst []byte, ls labels.Labels) []byte {
	dst = append(dst, '{')
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, l.Name, false)
		dst = append(dst, ':')
		dst = appendString(dst, l.Value, false)
	})
	return append(dst, '}')
}

// appendAdapters appends name/value pairs as a JSON object with sorted keys;
// of two pairs with the same name the later wins. scratch is reused between
// calls to sort without allocating.
func appendAdapters(dst []byte, ls []logproto.LabelAdapter, scratch *[]logproto.LabelAdapter) []byte {
	if !adaptersSortedUnique(ls) {
		*scratch = append((*scratch)[:0], ls...)
		slices.SortStableFunc(*scratch, func(a, b logproto.LabelAdapter) int { return cmp.Compare(a.Name, b.Name) })
		ls = *scratch
	}
	dst = append(dst, '{')
	first := true
	for i, l := range ls {
		if i+1 < len(ls) && ls[i+1].Name == l.Name {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, l.Name, false)
		dst = append(dst, ':')
		dst = appendString(dst, l.Value, false)
	}
	return append(dst, '}')
}

func adaptersSortedUnique(ls []logproto.LabelAdapter) bool {
	for i := 1; i < len(ls); i++ {
		if ls[i-1].Name >= ls[i].Name {
			return false
		}
	}
	return true
}

// appendUnixMillisAsSeconds appends a millisecond timestamp as a JSON
// number of seconds with up to three decimals and no trailing zeros
// (1795448520, 1795449874.663), which is how Prometheus' model.Time prints.
func appendUnixMillisAsSeconds(dst []byte, ms int64) []byte {
	if ms < 0 {
		dst = append(dst, '-')
		if ms == math.MinInt64 {
			// -ms overflows; MinInt64 ms is a multiple of neither 10 nor
			// 1000, so print it directly.
			return append(dst, "9223372036854775.808"...)
		}
		ms = -ms
	}
	dst = strconv.AppendInt(dst, ms/1000, 10)
	frac := ms % 1000
	if frac == 0 {
		return dst
	}
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for digits[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, digits[:n]...)
}

// appendSampleValue appends a sample value as a JSON string formatted as
// Prometheus does: shortest round-trip decimal, NaN, +Inf, -Inf.
func appendSampleValue(dst []byte, v float64) []byte {
	dst = append(dst, '"')
	dst = strconv.AppendFloat(dst, v, 'f', -1, 64)
	return append(dst, '"')
}

// appendFloat appends a float as a JSON number (0 for NaN or infinities,
// which JSON cannot hold).
func appendFloat(dst []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, '0')
	}
	return strconv.AppendFloat(dst, v, 'f', -1, 64)
}
