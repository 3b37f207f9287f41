package otlp

import "strings"

// normalizeName turns an attribute name into a label name the way Loki
// does (Prometheus' OTLP translator, UTF-8 names off): every run of
// characters other than ASCII letters and digits becomes one "_"
// (underscores included, so "a__b" becomes "a_b"), a name starting with a
// digit gets the prefix "key_", and a name wrapped in "__" on both sides
// keeps that wrapping around its sanitised middle.
//
// Loki refuses a whole request when a name comes out empty or as
// underscores only; Skald keeps such names ("_", "__") rather than lose the
// request, and an empty name stays empty (the caller drops it).
func normalizeName(name string) string {
	if name == "" || isNormalName(name) {
		return name
	}
	var reserved bool
	if len(name) >= 4 && strings.HasPrefix(name, "__") && strings.HasSuffix(name, "__") {
		reserved, name = true, name[2:len(name)-2]
	}
	var b strings.Builder
	b.Grow(len(name) + 8)
	if reserved {
		b.WriteString("__")
	}
	underscore := false
	for _, r := range name {
		if r < 0x80 && isAlnum(byte(r)) {
			b.WriteRune(r)
			underscore = false
		} else if !underscore {
			b.WriteByte('_')
			underscore = true
		}
	}
	if reserved {
		b.WriteString("__")
	}
	out := b.String()
	if out[0] >= '0' && out[0] <= '9' {
		out = "key_" + out
	}
	return out
}

// isNormalName reports whether normalizeName leaves name as it is: ASCII
// letters, digits and single underscores, not starting with a digit.
func isNormalName(name string) bool {
	if name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' {
			if i > 0 && name[i-1] == '_' {
				return false
			}
			continue
		}
		if !isAlnum(c) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
