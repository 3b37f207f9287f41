package log

import (
	"regexp"
)

// regexpParser is `| regexp "…"`: when the expression matches, each named
// group becomes a label (a group that took no part gives "").
type regexpParser struct {
	re    *regexp.Regexp
	names []string // per group index; "" for unnamed groups
	keys  []*keyEntry
	table keyTable
}

func newRegexpParser(re *regexp.Regexp) stageMaker {
	names := re.SubexpNames()
	return func() stage { return &regexpParser{re: re, names: names} }
}

func (r *regexpParser) process(_ int64, line []byte, b *builder) ([]byte, bool) {
	m := r.re.FindSubmatchIndex(line)
	if m == nil {
		return line, true
	}
	if r.keys == nil {
		r.keys = make([]*keyEntry, len(r.names))
		for i, n := range r.names {
			if n == "" {
				continue
			}
			name := sanitizeName(n)
			if b.baseHas(name) {
				name += duplicateSuffix
			}
			r.keys[i] = r.table.add([]byte(n), name, name == "", b)
		}
	}
	for i, k := range r.keys {
		if k == nil || k.skip {
			continue
		}
		v := ""
		if m[2*i] >= 0 {
			v = unsafeString(line[m[2*i]:m[2*i+1]])
		}
		b.setKey(&r.table, k, v)
	}
	return line, true
}

// patternParser is `| pattern "…"`: the named captures become labels.
type patternParser struct {
	m     patternMatcher
	keys  []*keyEntry
	table keyTable
}

func newPatternParser(m *patternMatcher) stageMaker {
	return func() stage {
		p := &patternParser{m: *m}
		p.m.captures = make([][]byte, 0, len(m.names))
		return p
	}
}

func (p *patternParser) process(_ int64, line []byte, b *builder) ([]byte, bool) {
	caps := p.m.matches(line)
	if len(caps) == 0 {
		return line, true
	}
	if p.keys == nil {
		for _, n := range p.m.names {
			name := n
			if b.baseHas(name) {
				name += duplicateSuffix
			}
			p.keys = append(p.keys, p.table.add([]byte(n), name, false, b))
		}
	}
	for i, c := range caps {
		b.setKey(&p.table, p.keys[i], unsafeString(c))
	}
	return line, true
}
