package logql

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	lsyntax "github.com/skald-logs/skald/pkg/logql/syntax"
)

// LineLiterals returns strings of which every line that the query in
// p.Query keeps contains at least one (as bytes, case-sensitive), or nil if
// the query gives none. Sources pass them to the chunk iterators
// (chunk.IterOptions.Contains), which then search a block's lines at once
// and skip the blocks and lines without them; the pipeline still runs every
// filter on the lines that remain, so results never depend on the
// push-down. They are read from Query rather than from Pipeline, so a
// caller must set Query to the text Pipeline was built from, as the
// engine and the gRPC server do.
func (p SelectLogParams) LineLiterals() []string { return lineLiterals(p.Query) }

// LineLiterals is SelectLogParams.LineLiterals for the log selector inside
// the sample expression p.Query.
func (p SelectSampleParams) LineLiterals() []string { return lineLiterals(p.Query) }

// lineLiterals parses query (a log selector or a sample expression over
// one) and picks, among the line filters that run on the raw line
// (syntax.HeadLineFilters), the most selective one that requires a literal:
// `|= "a"` requires "a", `|= "a" or "b"` one of them, and `|~ "re"` the
// longest case-sensitive literal every match of re contains. Most
// selective means the longest shortest alternative.
func lineLiterals(query string) []string {
	if query == "" {
		return nil
	}
	expr, err := lsyntax.ParseExpr(query)
	if err != nil {
		return nil
	}
	sels := lsyntax.Selectors(expr)
	if len(sels) != 1 {
		return nil
	}
	var best []string
	bestLen := 0
	for _, f := range lsyntax.HeadLineFilters(sels[0]) {
		lits := filterLiterals(f)
		if len(lits) == 0 {
			continue
		}
		shortest := len(lits[0])
		for _, l := range lits[1:] {
			shortest = min(shortest, len(l))
		}
		if shortest > bestLen {
			best, bestLen = lits, shortest
		}
	}
	return best
}

// filterLiterals returns the literals one of which every line that f keeps
// contains, or nil.
func filterLiterals(f *lsyntax.LineFilterExpr) []string {
	var out []string
	for _, v := range f.Values {
		var lits []string
		switch {
		case v.IP:
			return nil
		case f.Op == lsyntax.LineMatchEqual:
			lits = []string{v.Value}
		case f.Op == lsyntax.LineMatchRegexp:
			lits = regexpLiterals(v.Value)
		default:
			return nil
		}
		for _, l := range lits {
			if l == "" {
				return nil // matches every line
			}
		}
		if len(lits) == 0 {
			return nil
		}
		out = append(out, lits...)
	}
	return out
}

// regexpLiterals returns literals one of which every match of the RE2
// expression re contains, or nil. Only case-sensitive literals count.
func regexpLiterals(re string) []string {
	parsed, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return nil
	}
	return requiredLiterals(parsed.Simplify())
}

func requiredLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		s := string(re.Rune)
		// The regexp engine reads invalid UTF-8 in a line as U+FFFD, which
		// a byte search for the rune's encoding would not find.
		if strings.ContainsRune(s, utf8.RuneError) {
			return nil
		}
		return []string{s}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		// Every part of a match: the part with the longest literal.
		var best []string
		bestLen := 0
		for _, sub := range re.Sub {
			lits := requiredLiterals(sub)
			if len(lits) == 0 {
				continue
			}
			shortest := len(lits[0])
			for _, l := range lits[1:] {
				shortest = min(shortest, len(l))
			}
			if shortest > bestLen {
				best, bestLen = lits, shortest
			}
		}
		return best
	case syntax.OpAlternate:
		// One of the alternatives: each must require a literal.
		var out []string
		for _, sub := range re.Sub {
			lits := requiredLiterals(sub)
			if len(lits) == 0 {
				return nil
			}
			out = append(out, lits...)
		}
		return out
	}
	return nil
}
