package log

import "fmt"

// jsonParser is `| json` without parameters: every string, number and
// boolean member becomes a label, nested objects are flattened with _
// (a.b → a_b), arrays and nulls are skipped. A malformed line keeps the
// labels read before the fault and gets __error__=JSONParserErr with the
// reader's message in __error_details__.
//
// A nested member's name repeats the keys of every object above it, so a
// line could make names quadratic in its length, and each level of nesting
// scans the rest of its object again: parsing ends with JSONParserErr
// beyond maxJSONDepth levels or maxJSONPrefixBytes of such repeated keys
// in one line.
type jsonParser struct {
	keys     keyTable
	prefix   []byte // sanitized key path of the enclosing objects
	kbuf     []byte // scratch for unescaped keys
	depth    int    // objects open
	prefixed int    // bytes of prefixes in the names set for this line
}

// Bounds of | json on one line.
const (
	maxJSONDepth       = 256
	maxJSONPrefixBytes = 1 << 20
)

var (
	errJSONDepth  = fmt.Errorf("json: objects nested deeper than %d", maxJSONDepth)
	errJSONPrefix = fmt.Errorf("json: nested key names exceed %d bytes", maxJSONPrefixBytes)
)

func newJSONParser() stage { return &jsonParser{} }

func (j *jsonParser) process(_ int64, line []byte, b *builder) ([]byte, bool) {
	j.prefix, j.depth, j.prefixed = j.prefix[:0], 0, 0
	if err := j.object(line, b); err != nil {
		b.setErr(errJSON, err.Error())
	}
	return line, true
}

func (j *jsonParser) object(data []byte, b *builder) error {
	if j.depth >= maxJSONDepth {
		return errJSONDepth
	}
	it := jsonObjectIter{data: data}
	for it.next() {
		switch it.typ {
		case jsonString, jsonNumber, jsonBoolean:
		case jsonObject:
			n := len(j.prefix)
			if n > 0 {
				j.prefix = append(j.prefix, '_')
			}
			j.prefix = appendSanitized(j.prefix, j.key(&it))
			j.depth++
			err := j.object(it.value, b)
			j.prefix, j.depth = j.prefix[:n], j.depth-1
			if err != nil {
				return err
			}
			continue
		default:
			continue
		}
		if j.prefixed += len(j.prefix); j.prefixed > maxJSONPrefixBytes {
			return errJSONPrefix
		}
		var value string
		switch it.typ {
		case jsonString:
			value = jsonStringValue(b, it.value)
		case jsonNumber:
			value = unsafeString(it.value)
		default:
			value = "false"
			if it.value[0] == 't' {
				value = "true"
			}
		}
		j.set(&it, value, b)
	}
	return it.err
}

// key returns the member's key, unescaped.
func (j *jsonParser) key(it *jsonObjectIter) []byte {
	if !it.escaped {
		return it.key
	}
	j.kbuf, _ = appendUnescaped(j.kbuf[:0], it.key)
	return j.kbuf
}

// set sets the label of the current member. Top-level keys are interned by
// their raw text, nested ones by their sanitized path.
func (j *jsonParser) set(it *jsonObjectIter, value string, b *builder) {
	key := j.key(it)
	if len(j.prefix) == 0 {
		j.keys.set(b, key, value, func() string {
			name := appendSanitized(j.kbuf[len(j.kbuf):], key)
			return withSuffix(b, name)
		})
		return
	}
	n := len(j.prefix)
	j.prefix = append(j.prefix, '_')
	j.prefix = appendSanitized(j.prefix, key)
	path := j.prefix
	j.keys.set(b, path, value, func() string {
		return withSuffix(b, path)
	})
	j.prefix = j.prefix[:n]
}

// withSuffix returns name, with _extracted when a stream label has it. The
// result may point into scratch space; keyTable.add copies it.
func withSuffix(b *builder, name []byte) string {
	if b.baseHas(unsafeString(name)) {
		return b.arenaString2(unsafeString(name), duplicateSuffix)
	}
	return unsafeString(name)
}

// unpackParser is `| unpack`: the JSON object written by Promtail's pack
// stage. When it has an _entry string, that string becomes the line and the
// other string members become labels; otherwise the entry is unchanged.
type unpackParser struct {
	keys  keyTable
	entry []byte
	names []string
	vals  []string
	kbuf  []byte
}

func newUnpackParser() stage { return &unpackParser{} }

func (u *unpackParser) process(_ int64, line []byte, b *builder) ([]byte, bool) {
	if len(line) == 0 {
		return line, true
	}
	if line[0] != '{' {
		b.setErr(errJSON, errJSONNotObject.Error())
		return line, true
	}
	u.names, u.vals = u.names[:0], u.vals[:0]
	packed := false
	entry := line
	it := jsonObjectIter{data: line}
	for it.next() {
		if it.typ != jsonString {
			continue
		}
		key := it.key
		if it.escaped {
			u.kbuf, _ = appendUnescaped(u.kbuf[:0], it.key)
			key = u.kbuf
		}
		if string(key) == "_entry" {
			var ok bool
			if u.entry, ok = appendUnescaped(u.entry[:0], it.value); !ok {
				it.err = errJSONMalformedEscape
				break
			}
			entry, packed = u.entry, true
			continue
		}
		e := u.keys.get(key)
		if e == nil {
			// Loki decides on the suffix before sanitizing the key.
			name := string(key)
			if b.baseHas(name) {
				name += duplicateSuffix
			}
			if e = u.keys.add(key, sanitizeName(name), false, b); e == nil {
				u.names = append(u.names, b.arenaString2(sanitizeName(name), ""))
				u.vals = append(u.vals, jsonStringValue(b, it.value))
				continue
			}
		}
		u.names = append(u.names, e.name)
		u.vals = append(u.vals, jsonStringValue(b, it.value))
	}
	if it.err != nil {
		b.setErr(errJSON, it.err.Error())
		return line, true
	}
	if packed {
		for i, n := range u.names {
			if n != "" {
				b.set(n, u.vals[i])
			}
		}
	}
	return entry, true
}
