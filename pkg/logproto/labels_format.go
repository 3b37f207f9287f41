package logproto

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
)

// LabelsString returns lbls in Loki's canonical text form, as Loki prints a
// stream in error messages: {app="web", env="prod"}, in the order of lbls
// (sorted, for labels from ParseLabels), comma+space separated, values
// quoted with Go escapes, names that are not identifiers quoted too.
//
// It matches Prometheus' labels.Labels.String except that a U+FFFD
// character is escaped as \ufffd (Prometheus' parser refuses it literally),
// so that ParseLabels(LabelsString(l)) returns l for every l with non-empty
// values.
func LabelsString(lbls labels.Labels) string {
	var arr [512]byte
	return string(AppendLabelsString(arr[:0], lbls))
}

// AppendLabelsString appends LabelsString(lbls) to dst.
func AppendLabelsString(dst []byte, lbls labels.Labels) []byte {
	dst = append(dst, '{')
	first := true
	lbls.Range(func(l labels.Label) {
		if !first {
			dst = append(dst, ',', ' ')
		}
		first = false
		if isIdentifier(l.Name) {
			dst = append(dst, l.Name...)
		} else {
			dst = appendQuoted(dst, l.Name)
		}
		dst = append(dst, '=')
		dst = appendQuoted(dst, l.Value)
	})
	return append(dst, '}')
}

// isIdentifier reports whether s is a valid unquoted label name.
func isIdentifier(s string) bool {
	if s == "" || !isNameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

// appendQuoted appends s double-quoted with Go escapes (strconv.Quote),
// escaping U+FFFD as well.
func appendQuoted(dst []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	dst = append(dst, '"')
	for {
		i := strings.Index(s, "\uFFFD")
		seg := s
		if i >= 0 {
			seg = s[:i]
		}
		// Quote seg and keep what is between its quotes.
		n := len(dst)
		dst = strconv.AppendQuote(dst, seg)
		copy(dst[n:], dst[n+1:len(dst)-1])
		dst = dst[:len(dst)-2]
		if i < 0 {
			break
		}
		dst = append(dst, `\ufffd`...)
		s = s[i+utf8.RuneLen(utf8.RuneError):]
	}
	return append(dst, '"')
}
