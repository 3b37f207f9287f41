package log

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"unicode/utf8"
)

// Filterer decides whether a line is kept. Implementations are safe for
// concurrent use and do not retain line.
type Filterer interface {
	Filter(line []byte) bool
}

// FiltererFunc adapts a function to a Filterer.
type FiltererFunc func(line []byte) bool

// Filter calls f.
func (f FiltererFunc) Filter(line []byte) bool { return f(line) }

// containsFilter keeps lines that contain a literal.
type containsFilter struct{ match []byte }

func (f containsFilter) Filter(line []byte) bool { return bytes.Contains(line, f.match) }

// containsFoldFilter keeps lines that contain a literal, ignoring case.
type containsFoldFilter struct{ match []byte }

func (f containsFoldFilter) Filter(line []byte) bool { return containsFold(line, f.match) }

// containsAnyFilter keeps lines that contain any of several literals.
type containsAnyFilter struct {
	matches [][]byte
	fold    bool
}

func (f containsAnyFilter) Filter(line []byte) bool {
	for _, m := range f.matches {
		if f.fold && containsFold(line, m) || !f.fold && bytes.Contains(line, m) {
			return true
		}
	}
	return false
}

type regexpFilter struct{ re *regexp.Regexp }

func (f regexpFilter) Filter(line []byte) bool { return f.re.Match(line) }

type notFilter struct{ f Filterer }

func (n notFilter) Filter(line []byte) bool { return !n.f.Filter(line) }

type orFilter struct{ fs []Filterer }

func (o orFilter) Filter(line []byte) bool {
	for _, f := range o.fs {
		if f.Filter(line) {
			return true
		}
	}
	return false
}

type andFilter struct{ fs []Filterer }

func (a andFilter) Filter(line []byte) bool {
	for _, f := range a.fs {
		if !f.Filter(line) {
			return false
		}
	}
	return true
}

// NewContainsFilter keeps lines that contain match (an empty match keeps
// every line).
func NewContainsFilter(match string) Filterer {
	return containsFilter{match: []byte(match)}
}

// NewNotFilter inverts f.
func NewNotFilter(f Filterer) Filterer { return notFilter{f: f} }

// NewOrFilter keeps lines any of fs keeps.
func NewOrFilter(fs ...Filterer) Filterer {
	if len(fs) == 1 {
		return fs[0]
	}
	return orFilter{fs: fs}
}

// NewAndFilter keeps lines all of fs keep.
func NewAndFilter(fs ...Filterer) Filterer {
	if len(fs) == 1 {
		return fs[0]
	}
	return andFilter{fs: fs}
}

// NewRegexpFilter keeps lines the RE2 expression matches anywhere. Regexps
// that are literals, case-insensitive literals or alternations of literals are
// run as substring searches.
func NewRegexpFilter(expr string) (Filterer, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	parsed, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, err
	}
	if f, ok := simplify(parsed.Simplify()); ok {
		return f, nil
	}
	return regexpFilter{re: re}, nil
}

// simplify turns regexps that need no regexp engine into literal filters.
func simplify(re *syntax.Regexp) (Filterer, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		fold := re.Flags&syntax.FoldCase != 0
		lit := []byte(string(re.Rune))
		if fold {
			if !isASCII(lit) {
				return nil, false
			}
			return containsFoldFilter{match: lit}, true
		}
		return containsFilter{match: lit}, true
	case syntax.OpAlternate:
		var lits [][]byte
		fold := false
		for i, sub := range re.Sub {
			if sub.Op != syntax.OpLiteral {
				return nil, false
			}
			f := sub.Flags&syntax.FoldCase != 0
			if i > 0 && f != fold {
				return nil, false
			}
			fold = f
			lit := []byte(string(sub.Rune))
			if fold && !isASCII(lit) {
				return nil, false
			}
			lits = append(lits, lit)
		}
		return containsAnyFilter{matches: lits, fold: fold}, true
	case syntax.OpConcat:
		// .*literal.* and friends.
		subs := re.Sub
		for len(subs) > 0 && isAnyStar(subs[0]) {
			subs = subs[1:]
		}
		for len(subs) > 0 && isAnyStar(subs[len(subs)-1]) {
			subs = subs[:len(subs)-1]
		}
		if len(subs) == 1 && len(subs) != len(re.Sub) {
			return simplify(subs[0])
		}
	case syntax.OpCapture:
		return simplify(re.Sub[0])
	case syntax.OpStar:
		if isAnyStar(re) {
			return FiltererFunc(func([]byte) bool { return true }), true
		}
	}
	return nil, false
}

// isAnyStar reports whether re is .* with or without the s flag: at either
// end of an unanchored pattern it can match the empty string, so it never
// changes whether a line matches.
func isAnyStar(re *syntax.Regexp) bool {
	return re.Op == syntax.OpStar && len(re.Sub) == 1 &&
		(re.Sub[0].Op == syntax.OpAnyChar || re.Sub[0].Op == syntax.OpAnyCharNotNL)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// containsFold reports whether needle (ASCII) occurs in s ignoring ASCII case.
func containsFold(s, needle []byte) bool {
	n := len(needle)
	if n == 0 {
		return true
	}
	first := needle[0]
	lower := first | 0x20
	letter := lower >= 'a' && lower <= 'z'
	for i := 0; i+n <= len(s); i++ {
		c := s[i]
		if letter {
			if c|0x20 != lower {
				continue
			}
		} else if c != first {
			continue
		}
		if bytes.EqualFold(s[i:i+n], needle) {
			return true
		}
	}
	return false
}
