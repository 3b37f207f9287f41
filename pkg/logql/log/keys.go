package log

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// maxInterned bounds a key table, as Loki bounds its interned keys: lines
// with ever new keys cannot grow memory without limit.
const maxInterned = 1024

// keyEntry is a parser key interned for one stream: the label name it
// becomes, with what the builder needs to set it without searching.
type keyEntry struct {
	name string
	base int    // index of the stream label named name, or -1
	bit  uint64 // bloomBit(name)
	skip bool   // the key yields no label
	slot int    // index in builder.parsed while gen is current
	gen  uint64
}

// keyTable interns the keys one parser of one stream pipeline meets. Keys
// that sanitize to the same name share an entry, so that the builder sees
// one label per name.
type keyTable struct {
	raw    map[string]*keyEntry
	byName map[string]*keyEntry
}

// get returns the entry of a raw key, or nil.
func (t *keyTable) get(raw []byte) *keyEntry {
	return t.raw[string(raw)]
}

// add interns raw as name (which may point into a scratch buffer). It
// returns nil when the table is full.
func (t *keyTable) add(raw []byte, name string, skip bool, b *builder) *keyEntry {
	if t.raw == nil {
		t.raw = map[string]*keyEntry{}
		t.byName = map[string]*keyEntry{}
	}
	if len(t.raw) >= maxInterned {
		return nil
	}
	e := t.byName[name]
	if e == nil {
		name = strings.Clone(name)
		e = &keyEntry{name: name, base: b.baseIndex(name), bit: bloomBit(name), skip: skip}
		t.byName[name] = e
	}
	t.raw[string(raw)] = e
	return e
}

// set sets the label of raw, computed by name (into scratch) the first
// time the key is seen.
func (t *keyTable) set(b *builder, raw []byte, value string, name func() string) {
	e := t.get(raw)
	if e == nil {
		n := name()
		if e = t.add(raw, n, n == "", b); e == nil {
			if n != "" {
				b.set(b.arenaString2(n, ""), value)
			}
			return
		}
	}
	if !e.skip {
		b.setKey(t, e, value)
	}
}

// appendSanitized appends the label-name form of one key (or one segment of
// a nested JSON key) to dst, as Loki sanitizes: surrounding white space is
// trimmed, a leading digit gets a _ prefix, and every rune other than an
// ASCII letter, digit or _ becomes _.
func appendSanitized(dst, key []byte) []byte {
	key = bytes.TrimSpace(key)
	if len(key) == 0 {
		return dst
	}
	if '0' <= key[0] && key[0] <= '9' {
		dst = append(dst, '_')
	}
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			if c == '_' || '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z' {
				dst = append(dst, c)
			} else {
				dst = append(dst, '_')
			}
			i++
			continue
		}
		_, n := utf8.DecodeRune(key[i:])
		dst = append(dst, '_')
		i += n
	}
	return dst
}

// sanitizeName returns the label-name form of a key.
func sanitizeName(key string) string {
	return string(appendSanitized(nil, []byte(key)))
}
