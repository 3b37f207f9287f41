package log

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"unsafe"
)

// ipMatcher matches an address against ip("…"): one address, a CIDR prefix
// or a range "from-to" of one family.
type ipMatcher struct {
	addr     netip.Addr
	prefix   netip.Prefix
	from, to netip.Addr
	kind     byte // 'a', 'p' or 'r'
}

func newIPMatcher(pattern string) (*ipMatcher, error) {
	if a, err := netip.ParseAddr(pattern); err == nil {
		return &ipMatcher{addr: a, kind: 'a'}, nil
	}
	if p, err := netip.ParsePrefix(pattern); err == nil {
		return &ipMatcher{prefix: p, kind: 'p'}, nil
	}
	if from, to, ok := strings.Cut(pattern, "-"); ok {
		a, err1 := netip.ParseAddr(from)
		b, err2 := netip.ParseAddr(to)
		if err1 == nil && err2 == nil && a.BitLen() == b.BitLen() && !b.Less(a) && a.Zone() == "" && b.Zone() == "" {
			return &ipMatcher{from: a, to: b, kind: 'r'}, nil
		}
	}
	return nil, fmt.Errorf("ip: invalid pattern: %q", pattern)
}

func (m *ipMatcher) contains(ip netip.Addr) bool {
	switch m.kind {
	case 'a':
		return m.addr.Compare(ip) == 0
	case 'p':
		return m.prefix.Contains(ip)
	}
	return ip.BitLen() == m.from.BitLen() && ip.Zone() == "" && !ip.Less(m.from) && !m.to.Less(ip)
}

// inText reports whether text holds an address the matcher matches. Like
// Loki it looks for candidates where a digit is followed by a dot within
// three bytes (IPv4) or where hex digits are followed by a colon (IPv6),
// takes the longest run of address characters there and parses it.
func (m *ipMatcher) inText(s []byte) bool {
	n := len(s)
	for i := 0; i < n; i++ {
		c := s[i]
		if c != ':' && !isHex(c) {
			continue
		}
		var set *[256]bool
		switch {
		case i+3 < n && isDigit(c) && (s[i+1] == '.' || s[i+2] == '.' || s[i+3] == '.'):
			set = &ipv4Chars
		case i+4 < n && ipv6Hint(s[i:i+5]):
			set = &ipv6Chars
		default:
			continue
		}
		j := i
		for j < n && set[s[j]] {
			j++
		}
		if set == &ipv4Chars {
			if ip, ok := parseIPv4(s[i:j]); ok && m.contains(ip) {
				return true
			}
		} else if maybeIPv6(s[i:j]) {
			if ip, err := netip.ParseAddr(unsafeString(s[i:j])); err == nil && m.contains(ip) {
				return true
			}
		}
		i = j
	}
	return false
}

// maybeIPv6 rejects, without allocating, text that cannot be an IPv6
// address: one needs "::" or seven colons (six before an embedded IPv4).
func maybeIPv6(s []byte) bool {
	colons := bytes.Count(s, []byte(":"))
	return len(s) <= 45 && (bytes.Contains(s, []byte("::")) || colons == 7 || colons == 6 && bytes.IndexByte(s, '.') >= 0)
}

// Characters of IPv4 and IPv6 addresses.
var (
	ipv4Chars = charset("0123456789.")
	ipv6Chars = charset("0123456789abcdefABCDEF:.")
)

func charset(s string) [256]bool {
	var set [256]bool
	for i := 0; i < len(s); i++ {
		set[s[i]] = true
	}
	return set
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

func ipv6Hint(p []byte) bool {
	return p[0] == ':' && p[1] == ':' && isHex(p[2]) ||
		isHex(p[0]) && p[1] == ':' ||
		isHex(p[0]) && isHex(p[1]) && p[2] == ':' ||
		isHex(p[0]) && isHex(p[1]) && isHex(p[2]) && p[3] == ':' ||
		isHex(p[0]) && isHex(p[1]) && isHex(p[2]) && isHex(p[3]) && p[4] == ':'
}

// ipFilter is the Filterer of `|= ip("…")`.
type ipFilter struct{ m *ipMatcher }

func (f ipFilter) Filter(line []byte) bool { return len(line) > 0 && f.m.inText(line) }

// NewIPFilter keeps the lines that contain an IP address matching pattern
// (an address, a CIDR prefix or a range a-b; IPv4 or IPv6).
func NewIPFilter(pattern string) (Filterer, error) {
	m, err := newIPMatcher(pattern)
	if err != nil {
		return nil, err
	}
	return ipFilter{m: m}, nil
}

// unsafeString views b as a string without copying; b must not change while
// the string is in use.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// parseIPv4 parses dotted-quad text exactly as netip.ParseAddr does (four
// decimal fields up to 255, no leading zeros) without allocating on failure.
func parseIPv4(s []byte) (netip.Addr, bool) {
	var ip [4]byte
	field, val, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || field > 3 {
				return netip.Addr{}, false
			}
			ip[field] = byte(val)
			field, val, digits = field+1, 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits > 0 && val == 0 {
			return netip.Addr{}, false
		}
		val = val*10 + int(c-'0')
		digits++
		if val > 255 {
			return netip.Addr{}, false
		}
	}
	if field != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}

// unsafeBytes views s as bytes; they must not be modified.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
