package chunk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sort"

	"github.com/skald-logs/skald/pkg/logproto"
)

// blockData is one decompressed block payload decoded into columns: entry
// i has timestamp ts[i], the line payload[start[i]:end[i]] and the metadata
// sets[set[i]]. Its slices are reused from block to block.
type blockData struct {
	payload []byte
	meta    blockMeta
	ts      []int64
	start   []uint32
	end     []uint32
	set     []uint32
	sets    [][]logproto.LabelAdapter // sets[0] is nil: no metadata
	arena   []logproto.LabelAdapter   // backs sets
	syms    []string
	setEnds []int // scratch: where each set ends in arena
	err     error
}

func (d *blockData) corrupt(format string, args ...any) error {
	if d.err == nil {
		d.err = fmt.Errorf("%w: block at byte %d: %s", ErrCorrupt, d.meta.offset, fmt.Sprintf(format, args...))
	}
	return d.err
}

// uvarintAt reads a uvarint at b[pos:] and returns it with the position
// after it, or -1 if there is none.
func uvarintAt(b []byte, pos int) (uint64, int) {
	if pos >= 0 && pos < len(b) && b[pos] < 0x80 {
		return uint64(b[pos]), pos + 1
	}
	return uvarintSlow(b, pos)
}

func uvarintSlow(b []byte, pos int) (uint64, int) {
	if pos < 0 || pos >= len(b) {
		return 0, -1
	}
	v, n := binary.Uvarint(b[pos:])
	if n <= 0 {
		return 0, -1
	}
	return v, pos + n
}

// linesStart returns the offset of a version-2 payload's lines: they and
// their newlines fill the end of the payload. parseIndex made sure the
// payload is long enough.
func linesStart(m *blockMeta) int { return m.payloadLen - m.lineBytes - m.entries }

func (d *blockData) begin(payload []byte, m *blockMeta) {
	d.payload, d.meta, d.err = payload, *m, nil
	n := m.entries
	d.ts = grow(d.ts, n)
	d.start = grow(d.start, n)
	d.end = grow(d.end, n)
	d.set = grow(d.set, n)
	clear(d.sets)
	clear(d.arena)
	d.sets, d.arena = append(d.sets[:0], nil), d.arena[:0]
	d.syms = d.syms[:0]
	d.setEnds = d.setEnds[:0]
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}

// symbols reads a symbol table at pos and returns the position after it.
// All the symbols of a block share one string: one allocation per block.
func (d *blockData) symbols(pos int) int {
	p := d.payload
	n, pos := uvarintAt(p, pos)
	if pos < 0 || n > uint64(len(p)-pos) {
		d.corrupt("bad symbol count")
		return -1
	}
	start := pos
	for range n {
		var l uint64
		l, pos = uvarintAt(p, pos)
		if pos < 0 || l > uint64(len(p)-pos) {
			d.corrupt("bad symbol")
			return -1
		}
		pos += int(l)
	}
	all := string(p[start:pos])
	q := 0
	for range n {
		l, w := binary.Uvarint(p[start+q:])
		q += w
		d.syms = append(d.syms, all[q:q+int(l)])
		q += int(l)
	}
	return pos
}

// decode decodes a payload of the given format version.
func (d *blockData) decode(payload []byte, m *blockMeta, version byte) error {
	d.begin(payload, m)
	if version == version1 {
		return d.decodeV1()
	}
	return d.decodeV2()
}

// decodeV2 decodes a version-2 payload and checks it against the index.
func (d *blockData) decodeV2() error {
	p, m := d.payload, &d.meta
	flags, pos := uvarintAt(p, 0)
	if pos < 0 || flags&^flagsKnown != 0 {
		return d.corrupt("bad flags")
	}
	unit, pos := uvarintAt(p, pos)
	if pos < 0 || unit == 0 {
		return d.corrupt("bad timestamp unit")
	}
	if pos = d.symbols(pos); pos < 0 {
		return d.err
	}
	if pos = d.metadataSets(pos); pos < 0 {
		return d.err
	}
	lines := linesStart(m)
	// Timestamps: the first one is the block's mint, the last its maxt.
	prev := m.mint
	for i := range d.ts {
		var q uint64
		q, pos = uvarintAt(p, pos)
		hi, delta := bits.Mul64(q, unit)
		ts, ok := addTime(prev, delta)
		if pos < 0 || pos > lines || hi != 0 || !ok || ts > m.maxt || (i == 0 && q != 0) {
			return d.corrupt("bad timestamp")
		}
		d.ts[i], prev = ts, ts
	}
	if prev != m.maxt {
		return d.corrupt("last timestamp %d, index says %d", prev, m.maxt)
	}
	nsets := uint64(len(d.sets))
	for i := range d.set {
		var s uint64
		s, pos = uvarintAt(p, pos)
		if pos < 0 || pos > lines || s >= nsets {
			return d.corrupt("bad metadata set")
		}
		d.set[i] = uint32(s)
	}
	if flags&flagLengths != 0 {
		// The lengths go into end first; the lines below turn them into
		// offsets.
		for i := range d.end {
			var l uint64
			l, pos = uvarintAt(p, pos)
			if pos < 0 || pos > lines || l > uint64(m.lineBytes) {
				return d.corrupt("bad line length")
			}
			d.end[i] = uint32(l)
		}
	}
	if pos != lines {
		return d.corrupt("columns end at byte %d, lines start at %d", pos, lines)
	}
	for i := range d.start {
		var end int
		if flags&flagLengths != 0 {
			end = pos + int(d.end[i])
			if end >= len(p) || p[end] != '\n' {
				return d.corrupt("bad line length")
			}
		} else {
			end = bytes.IndexByte(p[pos:], '\n')
			if end < 0 {
				return d.corrupt("missing newline")
			}
			end += pos
		}
		d.start[i], d.end[i] = uint32(pos), uint32(end)
		pos = end + 1
	}
	if pos != len(p) {
		return d.corrupt("%d trailing bytes", len(p)-pos)
	}
	return nil
}

// metadataSets reads the table of metadata sets at pos.
func (d *blockData) metadataSets(pos int) int {
	p := d.payload
	n, pos := uvarintAt(p, pos)
	if pos < 0 || n > uint64(len(p)-pos) {
		d.corrupt("bad metadata set count")
		return -1
	}
	nsyms := uint64(len(d.syms))
	for range n {
		var pairs uint64
		pairs, pos = uvarintAt(p, pos)
		if pos < 0 || pairs == 0 || pairs > uint64(len(p)-pos)/2 {
			d.corrupt("bad metadata set")
			return -1
		}
		for range pairs {
			var name, value uint64
			name, pos = uvarintAt(p, pos)
			value, pos = uvarintAt(p, pos)
			if pos < 0 || name >= nsyms || value >= nsyms {
				d.corrupt("bad metadata ref")
				return -1
			}
			d.arena = append(d.arena, logproto.LabelAdapter{Name: d.syms[name], Value: d.syms[value]})
		}
		d.setEnds = append(d.setEnds, len(d.arena))
	}
	d.makeSets()
	return pos
}

// makeSets slices arena into sets at setEnds.
func (d *blockData) makeSets() {
	start := 0
	for _, end := range d.setEnds {
		d.sets = append(d.sets, d.arena[start:end:end])
		start = end
	}
}

// at returns entry i.
func (d *blockData) at(i int) (int64, []byte, []logproto.LabelAdapter) {
	s, e := d.start[i], d.end[i]
	return d.ts[i], d.payload[s:e:e], d.sets[d.set[i]]
}

// search returns the first i in [0, n) for which ts[i] > t (after) or
// ts[i] >= t.
func (d *blockData) search(t int64, after bool) int {
	if after {
		return sort.Search(len(d.ts), func(i int) bool { return d.ts[i] > t })
	}
	return sort.Search(len(d.ts), func(i int) bool { return d.ts[i] >= t })
}
