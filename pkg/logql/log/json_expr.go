package log

import (
	"fmt"
	"strconv"
)

// jsonPathElem is one step of a json parameter path: a key or an index.
type jsonPathElem struct {
	key   string
	index int // when key is "" and isIdx
	isIdx bool
}

// parseJSONPath parses the expression of `| json name="expr"`: a field
// (a.b), ["key"] accesses and [0] indexes, in Loki's grammar.
func parseJSONPath(expr string) ([]jsonPathElem, error) {
	p := jsonPathParser{s: expr}
	path, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("cannot parse expression [%s]: %w", expr, err)
	}
	return path, nil
}

type jsonPathParser struct {
	s string
	i int
}

// Token kinds of the path lexer.
const (
	tokPathEOF = iota
	tokPathField
	tokPathString
	tokPathIndex
	tokPathDot
	tokPathLSB
	tokPathRSB
)

var pathTokNames = [...]string{"$end", "FIELD", "STRING", "INDEX", "DOT", "LSB", "RSB"}

type pathTok struct {
	kind int
	text string
	n    int
}

func (p *jsonPathParser) lex() (pathTok, error) {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
	if p.i >= len(p.s) || p.s[p.i] == 0 {
		return pathTok{kind: tokPathEOF}, nil
	}
	c := p.s[p.i]
	switch {
	case isDigit(c):
		start := p.i
		for p.i < len(p.s) {
			c := p.s[p.i]
			if c == '.' && p.i > start {
				return pathTok{}, fmt.Errorf("cannot use float as array index")
			}
			if c == ' ' || c == '\t' || c == '\n' || c == '.' || c == ']' {
				break
			}
			if !isDigit(c) {
				return pathTok{}, fmt.Errorf("non-integer value: %c", c)
			}
			p.i++
		}
		if p.i >= len(p.s) {
			return pathTok{}, fmt.Errorf("non-integer value: %c", rune(0))
		}
		n, err := strconv.Atoi(p.s[start:p.i])
		if err != nil {
			return pathTok{}, err
		}
		return pathTok{kind: tokPathIndex, n: n}, nil
	case c == '[':
		p.i++
		return pathTok{kind: tokPathLSB}, nil
	case c == ']':
		p.i++
		return pathTok{kind: tokPathRSB}, nil
	case c == '.':
		p.i++
		return pathTok{kind: tokPathDot}, nil
	case c == '_' || 'a' <= c|0x20 && c|0x20 <= 'z':
		start := p.i
		for p.i < len(p.s) && (p.s[p.i] == '_' || isDigit(p.s[p.i]) || 'a' <= p.s[p.i]|0x20 && p.s[p.i]|0x20 <= 'z') {
			p.i++
		}
		return pathTok{kind: tokPathField, text: p.s[start:p.i]}, nil
	case c == '"':
		p.i++
		start := p.i
		for p.i < len(p.s) && p.s[p.i] != '"' && p.s[p.i] != ']' && p.s[p.i] != 0 {
			p.i++
		}
		text := p.s[start:p.i]
		if p.i < len(p.s) && p.s[p.i] != 0 {
			p.i++ // the closing quote or bracket is consumed
		}
		return pathTok{kind: tokPathString, text: text}, nil
	}
	r := []rune(p.s[p.i:])[0]
	return pathTok{}, fmt.Errorf("unexpected char %c", r)
}

func unexpectedPathTok(t pathTok) error {
	return fmt.Errorf("syntax error: unexpected %s", pathTokNames[t.kind])
}

func (p *jsonPathParser) parse() ([]jsonPathElem, error) {
	var path []jsonPathElem
	t, err := p.lex()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case t.kind == tokPathField && len(path) == 0:
			path = append(path, jsonPathElem{key: t.text})
		case t.kind == tokPathDot && len(path) > 0:
			if t, err = p.lex(); err != nil {
				return nil, err
			}
			if t.kind != tokPathField {
				return nil, unexpectedPathTok(t)
			}
			path = append(path, jsonPathElem{key: t.text})
		case t.kind == tokPathLSB:
			if t, err = p.lex(); err != nil {
				return nil, err
			}
			var e jsonPathElem
			switch t.kind {
			case tokPathString:
				e.key = t.text
			case tokPathIndex:
				e.index, e.isIdx = t.n, true
			default:
				return nil, unexpectedPathTok(t)
			}
			if t, err = p.lex(); err != nil {
				return nil, err
			}
			if t.kind != tokPathRSB {
				return nil, unexpectedPathTok(t)
			}
			path = append(path, e)
		case t.kind == tokPathEOF && len(path) > 0:
			return path, nil
		default:
			return nil, unexpectedPathTok(t)
		}
		if t, err = p.lex(); err != nil {
			return nil, err
		}
	}
}

// jsonLookup finds the value at path in data: the first member (in document
// order) whose key names match. err is set when the value found cannot be
// read.
func jsonLookup(data []byte, path []jsonPathElem) (value []byte, typ jsonType, found bool, err error) {
	off := nextToken(data)
	if off < 0 {
		return nil, 0, false, nil
	}
	e := path[0]
	if e.isIdx {
		if data[off] != '[' {
			return nil, 0, false, nil
		}
		return jsonArrayLookup(data[off:], path)
	}
	if data[off] != '{' {
		return nil, 0, false, nil
	}
	it := jsonObjectIter{data: data[off:]}
	var kbuf [64]byte
	for {
		ok := it.next()
		key := it.key
		if it.escaped {
			key, _ = appendUnescaped(kbuf[:0], it.key)
		}
		if !ok {
			if it.err != nil && it.key != nil && len(path) == 1 && string(key) == e.key && it.valueErr {
				return nil, 0, false, it.err
			}
			return nil, 0, false, nil
		}
		if string(key) != e.key {
			continue
		}
		if len(path) == 1 {
			return it.value, it.typ, true, nil
		}
		if it.typ != jsonObject && it.typ != jsonArray {
			continue
		}
		if v, t, f, err := jsonLookup(it.value, path[1:]); f || err != nil {
			return v, t, f, err
		}
	}
}

// jsonArrayLookup looks up an index path in the array starting data.
func jsonArrayLookup(data []byte, path []jsonPathElem) ([]byte, jsonType, bool, error) {
	off := 1
	n := nextToken(data[off:])
	if n < 0 {
		return nil, 0, false, nil
	}
	off += n
	if data[off] == ']' {
		return nil, 0, false, nil
	}
	for i := 0; ; i++ {
		v, t, end, err := jsonValue(data[off:])
		if err != nil {
			if i == path[0].index && len(path) == 1 {
				return nil, 0, false, err
			}
			return nil, 0, false, nil
		}
		if i == path[0].index {
			if len(path) == 1 {
				return v, t, true, nil
			}
			if t != jsonObject && t != jsonArray {
				return nil, 0, false, nil
			}
			return jsonLookup(v, path[1:])
		}
		off += end
		n := nextToken(data[off:])
		if n < 0 {
			return nil, 0, false, nil
		}
		off += n
		if data[off] != ',' {
			return nil, 0, false, nil
		}
		off++
	}
}

// jsonExprParser is `| json name="path", …`: each path's value becomes the
// label; objects and arrays as their JSON text, null and missing paths as
// "". A line that does not start with {, [ or " gets __error__.
type jsonExprParser struct {
	ids   []string
	paths [][]jsonPathElem
	names []string // per stream: the label of each id
}

func newJSONExprParser(ids []string, paths [][]jsonPathElem) stageMaker {
	return func() stage {
		return &jsonExprParser{ids: ids, paths: paths}
	}
}

func (j *jsonExprParser) process(_ int64, line []byte, b *builder) ([]byte, bool) {
	if len(line) == 0 {
		return line, true
	}
	if j.names == nil {
		for _, id := range j.ids {
			if b.baseHas(id) {
				id += duplicateSuffix
			}
			j.names = append(j.names, id)
		}
	}
	if c := line[0]; c != '"' && c != '{' && c != '[' {
		b.setErr(errJSON, "")
		return line, true
	}
	matched := 0
	for i, path := range j.paths {
		v, t, found, err := jsonLookup(line, path)
		if err != nil {
			b.setErr(errJSON, err.Error())
			continue
		}
		if !found {
			continue
		}
		matched++
		switch t {
		case jsonNull:
			b.set(j.names[i], "")
		case jsonObject:
			b.set(j.names[i], unsafeString(v))
		default:
			b.set(j.names[i], jsonStringValue(b, v))
		}
	}
	if matched < len(j.ids) {
		for _, id := range j.ids {
			if _, ok := b.get(id); !ok {
				b.set(id, "")
			}
		}
	}
	return line, true
}
