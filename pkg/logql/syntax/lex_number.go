package syntax

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

func isDecimal(r rune) bool { return '0' <= r && r <= '9' }

func isHex(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r|0x20 && r|0x20 <= 'f'
}

// isDurationRune reports the characters of duration units:
// ns, us, µs, ms, s, m, h, d, w, y.
func isDurationRune(r rune) bool {
	switch r {
	case 'n', 'u', 'µ', 'm', 's', 'h', 'd', 'w', 'y':
		return true
	}
	return false
}

// isBytesRune reports the characters of byte units: B, kB, KB, KiB, MB …
func isBytesRune(r rune) bool {
	switch r {
	case 'B', 'i', 'k', 'K', 'M', 'G', 'T', 'P':
		return true
	}
	return false
}

// scanNumberToken scans a number and, when unit characters follow it
// directly, a duration (5m, 1.5h) or a byte size (20MB, 1.5KiB).
func (l *lexer) scanNumberToken(line, col int) token {
	start := l.pos
	if msg := l.scanNumber(); msg != "" {
		return l.errTok(msg, line, col)
	}
	if t, ok := l.tryDuration(start, col); ok {
		return t
	}
	if t, ok := l.tryBytes(start, col); ok {
		return t
	}
	return l.tok(tokNumber, l.input[start:l.pos], line, col)
}

// unitRun returns the end of the run of characters after l.pos that may
// continue a number into a duration or a byte size.
func (l *lexer) unitRun(unit func(rune) bool) int {
	end := l.pos
	for end < len(l.input) {
		r, w := utf8.DecodeRuneInString(l.input[end:])
		if unicode.IsSpace(r) || !(unicode.IsNumber(r) || unit(r) || r == '.') {
			break
		}
		end += w
	}
	return end
}

// tryDuration turns the number (or "-") that starts at start into a
// duration token when the characters after it complete a duration.
func (l *lexer) tryDuration(start, col int) (token, bool) {
	end := l.unitRun(isDurationRune)
	if end == l.pos {
		return token{}, false
	}
	d, err := parseDuration(l.input[start:end])
	if err != nil {
		return token{}, false
	}
	l.advanceBytes(end - l.pos)
	t := l.tok(tokDuration, l.input[start:end], 0, col)
	t.dur = d
	return t, true
}

// tryBytes turns the number that starts at start into a byte-size token when
// the characters after it complete a size.
func (l *lexer) tryBytes(start, col int) (token, bool) {
	end := l.unitRun(isBytesRune)
	if end == l.pos {
		return token{}, false
	}
	b, err := ParseBytes(l.input[start:end])
	if err != nil {
		return token{}, false
	}
	l.advanceBytes(end - l.pos)
	t := l.tok(tokBytes, l.input[start:end], 0, col)
	t.bytes = b
	return t, true
}

// parseDuration parses a Prometheus duration (1h30m, 5d, 1w) or, failing
// that, a Go duration (1.5h, -5m, 250µs), as Loki does.
func parseDuration(s string) (time.Duration, error) {
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return time.ParseDuration(s)
}

// ParseBytes parses a byte size as Loki does (go-humanize's ParseBytes):
// a decimal number, optionally with thousands commas, then an optional
// unit, case-insensitive: B, kB/K, KiB/Ki, MB/M, MiB/Mi, … up to EB/EiB.
// It reads byte-size literals (20MB, 1.5KiB) and, in the log pipeline,
// label values (| size > 1KB, unwrap bytes(size)).
func ParseBytes(s string) (uint64, error) {
	i := 0
	for i < len(s) && (isDecimal(rune(s[i])) || s[i] == '.' || s[i] == ',') {
		i++
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s[:i], ",", ""), 64)
	if err != nil {
		return 0, err
	}
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	m, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unhandled size name: %v", unit)
	}
	f *= m
	if f >= math.MaxUint64 {
		return 0, fmt.Errorf("too large: %v", s)
	}
	return uint64(f), nil
}

// byteUnits are the multipliers of the byte units, lower-cased, as the
// humanize library Loki uses reads them: SI (kb = 1000), IEC (kib, ki =
// 1024), and the bare initials, which are SI.
var byteUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1e6, "mb": 1e6, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1e9, "gb": 1e9, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1e12, "tb": 1e12, "ti": 1 << 40, "tib": 1 << 40,
	"p": 1e15, "pb": 1e15, "pi": 1 << 50, "pib": 1 << 50,
	"e": 1e18, "eb": 1e18, "ei": 1 << 60, "eib": 1 << 60,
}

// scanNumber scans a number literal the way Go's text/scanner does: decimal,
// 0x, 0o and 0b prefixes, octal with a leading 0, fractions, exponents and
// '_' separators. It returns the first error text/scanner would report.
func (l *lexer) scanNumber() string {
	start := l.pos
	var errMsg string
	fail := func(format string, args ...any) {
		if errMsg == "" {
			errMsg = fmt.Sprintf(format, args...)
		}
	}
	peek := func() rune {
		r, w := l.peekRune(l.pos)
		if w == 0 {
			return -1
		}
		return r
	}
	base, prefix := 10, rune(0)
	digsep := 0 // bit 0: a digit was seen; bit 1: a '_' was seen
	var invalid rune
	digits := func() {
		for {
			r := peek()
			switch {
			case r == '_':
				digsep |= 2
			case base <= 10 && isDecimal(r):
				if r >= rune('0'+base) && invalid == 0 {
					invalid = r
				}
				digsep |= 1
			case base > 10 && isHex(r):
				digsep |= 1
			default:
				return
			}
			l.advance()
		}
	}

	float := false
	if peek() != '.' {
		if peek() == '0' {
			l.advance()
			switch peek() | 0x20 {
			case 'x':
				l.advance()
				base, prefix = 16, 'x'
			case 'o':
				l.advance()
				base, prefix = 8, 'o'
			case 'b':
				l.advance()
				base, prefix = 2, 'b'
			default:
				base, prefix = 8, '0'
				digsep = 1 // the leading 0
			}
		}
		digits()
		if peek() == '.' {
			l.advance()
			float = true
		}
	} else {
		l.advance()
		float = true
	}
	if float {
		if prefix == 'o' || prefix == 'b' {
			fail("invalid radix point in %s", litName(prefix))
		}
		digits()
	}
	if digsep&1 == 0 {
		fail("%s has no digits", litName(prefix))
	}
	if e := peek(); e|0x20 == 'e' || e|0x20 == 'p' {
		switch {
		case e|0x20 == 'e' && prefix != 0 && prefix != '0':
			fail("%q exponent requires decimal mantissa", e)
		case e|0x20 == 'p' && prefix != 'x':
			fail("%q exponent requires hexadecimal mantissa", e)
		}
		l.advance()
		float = true
		if r := peek(); r == '+' || r == '-' {
			l.advance()
		}
		base = 10
		before := digsep
		digsep = 0
		digits()
		if digsep&1 == 0 {
			fail("exponent has no digits")
		}
		digsep |= before
	} else if prefix == 'x' && float {
		fail("hexadecimal mantissa requires a 'p' exponent")
	}
	if !float && invalid != 0 {
		fail("invalid digit %q in %s", invalid, litName(prefix))
	}
	if digsep&2 != 0 && invalidSep(l.input[start:l.pos]) >= 0 {
		fail("'_' must separate successive digits")
	}
	return errMsg
}

func litName(prefix rune) string {
	switch prefix {
	case 'x':
		return "hexadecimal literal"
	case 'o', '0':
		return "octal literal"
	case 'b':
		return "binary literal"
	}
	return "decimal literal"
}

// invalidSep returns the index of the first '_' in x that does not separate
// two digits, or -1.
func invalidSep(x string) int {
	x1 := ' ' // the prefix letter, if any
	d := '.'  // previous: '_', '0' (a digit) or '.' (anything else)
	i := 0
	if len(x) >= 2 && x[0] == '0' {
		x1 = rune(x[1]) | 0x20
		if x1 == 'x' || x1 == 'o' || x1 == 'b' {
			d = '0'
			i = 2
		}
	}
	for ; i < len(x); i++ {
		p := d
		d = rune(x[i])
		switch {
		case d == '_':
			if p != '0' {
				return i
			}
		case isDecimal(d) || x1 == 'x' && isHex(d):
			d = '0'
		default:
			if p == '_' {
				return i - 1
			}
			d = '.'
		}
	}
	if d == '_' {
		return len(x) - 1
	}
	return -1
}
