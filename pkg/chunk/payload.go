package chunk

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/skald-logs/skald/pkg/logproto"
)

// EntrySize is the uncompressed size of an entry as this package counts it
// for cutting blocks: 8 bytes of timestamp, the line, and the names and
// values of its structured metadata.
func EntrySize(lineLen int, sm []logproto.LabelAdapter) int {
	n := 8 + lineLen
	for _, l := range sm {
		n += len(l.Name) + len(l.Value)
	}
	return n
}

// payloadBuilder assembles the uncompressed payload of one block from
// entries added in order:
//
//	uvarint #symbols, then per symbol: uvarint length, bytes
//	per entry: uvarint ts-prev (prev starts at the block's mint),
//	           uvarint line length, line,
//	           uvarint #pairs, then per pair: uvarint name ref, uvarint value ref
//
// Symbols (metadata names and values) are numbered in order of first use.
type payloadBuilder struct {
	syms    map[string]uint32
	symBuf  []byte // the symbol records
	nsyms   int
	entBuf  []byte // the entry records
	payload []byte

	n          int
	mint, maxt int64
	lineBytes  int
	size       int // sum of EntrySize
}

func (b *payloadBuilder) reset() {
	if b.syms == nil {
		b.syms = make(map[string]uint32)
	}
	clear(b.syms)
	b.symBuf = b.symBuf[:0]
	b.nsyms = 0
	b.entBuf = b.entBuf[:0]
	b.n, b.mint, b.maxt, b.lineBytes, b.size = 0, 0, 0, 0, 0
}

func (b *payloadBuilder) symbol(s string) uint32 {
	if ref, ok := b.syms[s]; ok {
		return ref
	}
	ref := uint32(b.nsyms)
	b.nsyms++
	b.syms[s] = ref
	b.symBuf = binary.AppendUvarint(b.symBuf, uint64(len(s)))
	b.symBuf = append(b.symBuf, s...)
	return ref
}

// add appends an entry; ts must not be below the previous entry's.
func (b *payloadBuilder) add(ts int64, line []byte, sm []logproto.LabelAdapter) {
	if b.n == 0 {
		b.mint, b.maxt = ts, ts
	}
	b.entBuf = binary.AppendUvarint(b.entBuf, uint64(ts)-uint64(b.maxt))
	b.entBuf = binary.AppendUvarint(b.entBuf, uint64(len(line)))
	b.entBuf = append(b.entBuf, line...)
	b.entBuf = binary.AppendUvarint(b.entBuf, uint64(len(sm)))
	for _, l := range sm {
		b.entBuf = binary.AppendUvarint(b.entBuf, uint64(b.symbol(l.Name)))
		b.entBuf = binary.AppendUvarint(b.entBuf, uint64(b.symbol(l.Value)))
	}
	b.maxt = ts
	b.n++
	b.lineBytes += len(line)
	b.size += EntrySize(len(line), sm)
}

// finish returns the payload; it is valid until the next reset.
func (b *payloadBuilder) finish() []byte {
	p := binary.AppendUvarint(b.payload[:0], uint64(b.nsyms))
	p = append(p, b.symBuf...)
	p = append(p, b.entBuf...)
	b.payload = p
	return p
}

// record locates one entry inside a payload.
type record struct {
	ts        int64
	lineStart uint32
	lineEnd   uint32
	smPos     uint32 // offset of the pair count
}

// blockIter iterates the entries of one decompressed block payload whose
// timestamps lie in [from, through] (both inclusive), forward or backward.
// Forward it parses records as it goes; backward it first records the
// position of every entry in range, then walks those in reverse. Its buffers
// are reused across blocks, so iteration does not allocate per entry.
type blockIter struct {
	payload []byte
	meta    blockMeta
	from    int64
	through int64
	forward bool

	syms []string
	pos  int   // offset of the next record
	left int   // records not parsed yet
	prev int64 // timestamp of the last parsed record
	sum  int   // line bytes parsed so far

	recs []record // backward: entries in range, in forward order
	ri   int      // backward: next record, counting down

	ts   int64
	line []byte
	sm   []logproto.LabelAdapter
	// refs holds the symbol refs behind sm, so that an entry with the same
	// metadata as the previous one leaves sm untouched.
	refs []uint64
	err  error
}

func (it *blockIter) corrupt(format string, args ...any) {
	if it.err == nil {
		it.err = fmt.Errorf("%w: block at byte %d: %s", ErrCorrupt, it.meta.offset, fmt.Sprintf(format, args...))
	}
}

// uvarintAt reads a uvarint at b[pos:] and returns it with the position
// after it, or -1 if there is none.
func uvarintAt(b []byte, pos int) (uint64, int) {
	if pos < len(b) && b[pos] < 0x80 {
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

// reset starts iterating a new payload.
func (it *blockIter) reset(payload []byte, meta *blockMeta, from, through int64, forward bool) {
	*it = blockIter{
		payload: payload, meta: *meta, from: from, through: through, forward: forward,
		syms: it.syms[:0], recs: it.recs[:0], sm: it.sm[:0], refs: it.refs[:0],
		left: meta.entries, prev: meta.mint,
	}
	n, pos := uvarintAt(payload, 0)
	if pos < 0 || n > uint64(len(payload)) {
		it.corrupt("bad symbol count")
		return
	}
	start := pos
	for range n {
		var l uint64
		l, pos = uvarintAt(payload, pos)
		if pos < 0 || l > uint64(len(payload)-pos) {
			it.corrupt("bad symbol")
			return
		}
		pos += int(l)
	}
	// One string holds every symbol of the block: one allocation per block.
	all := string(payload[start:pos])
	it.pos = pos
	p := 0
	for range n {
		l, w := binary.Uvarint(payload[start+p:])
		p += w
		it.syms = append(it.syms, all[p:p+int(l)])
		p += int(l)
	}
	if !forward {
		it.collect()
	}
}

// parse reads the record at it.pos, leaving it.pos at its metadata pairs.
func (it *blockIter) parse() (rec record, ok bool) {
	if it.left == 0 {
		if it.pos != len(it.payload) {
			it.corrupt("%d trailing bytes", len(it.payload)-it.pos)
		} else if it.prev != it.meta.maxt {
			it.corrupt("last timestamp %d, index says %d", it.prev, it.meta.maxt)
		} else if it.sum != it.meta.lineBytes {
			it.corrupt("%d line bytes, index says %d", it.sum, it.meta.lineBytes)
		}
		return rec, false
	}
	b := it.payload
	d, pos := uvarintAt(b, it.pos)
	ts := it.prev + int64(d)
	if pos < 0 || ts < it.prev || ts > it.meta.maxt || (d != 0 && it.left == it.meta.entries) {
		it.corrupt("bad timestamp")
		return rec, false
	}
	l, pos := uvarintAt(b, pos)
	if pos < 0 || l > uint64(len(b)-pos) {
		it.corrupt("bad line length")
		return rec, false
	}
	end := pos + int(l)
	rec = record{ts: ts, lineStart: uint32(pos), lineEnd: uint32(end), smPos: uint32(end)}
	it.pos = end
	it.prev = ts
	it.sum += int(l)
	it.left--
	return rec, true
}

// pairs reads the metadata pairs at it.pos into it.sm, or skips them.
func (it *blockIter) pairs(keep bool) bool {
	b := it.payload
	n, pos := uvarintAt(b, it.pos)
	if pos < 0 || n > uint64(len(b)-pos)/2 {
		it.corrupt("bad metadata count")
		return false
	}
	if !keep {
		for range 2 * n {
			if _, pos = uvarintAt(b, pos); pos < 0 {
				it.corrupt("bad metadata ref")
				return false
			}
		}
		it.pos = pos
		return true
	}
	if int(n) != len(it.sm) {
		it.sm, it.refs = it.sm[:0], it.refs[:0]
		for range n {
			it.sm = append(it.sm, logproto.LabelAdapter{})
			it.refs = append(it.refs, math.MaxUint64)
		}
	}
	nsyms := uint64(len(it.syms))
	for i := range it.sm {
		var name, value uint64
		name, pos = uvarintAt(b, pos)
		value, pos = uvarintAt(b, pos)
		if pos < 0 || name >= nsyms || value >= nsyms {
			it.corrupt("bad metadata ref")
			return false
		}
		if ref := name<<32 | value; ref != it.refs[i] {
			it.refs[i] = ref
			it.sm[i] = logproto.LabelAdapter{Name: it.syms[name], Value: it.syms[value]}
		}
	}
	it.pos = pos
	return true
}

// collect records the entries in range for backward iteration.
func (it *blockIter) collect() {
	it.recs = slices.Grow(it.recs, it.meta.entries)
	for it.err == nil {
		rec, ok := it.parse()
		if !ok || rec.ts > it.through {
			break
		}
		if !it.pairs(false) {
			break
		}
		if rec.ts >= it.from {
			it.recs = append(it.recs, rec)
		}
	}
	it.ri = len(it.recs)
}

func (it *blockIter) next() bool {
	if it.err != nil {
		return false
	}
	if !it.forward {
		if it.ri == 0 {
			return false
		}
		it.ri--
		rec := it.recs[it.ri]
		it.pos = int(rec.smPos)
		it.ts, it.line = rec.ts, it.payload[rec.lineStart:rec.lineEnd:rec.lineEnd]
		return it.pairs(true)
	}
	for {
		rec, ok := it.parse()
		if !ok || rec.ts > it.through {
			it.left = 0
			it.pos = len(it.payload) // stop: nothing later is in range
			it.prev, it.sum = it.meta.maxt, it.meta.lineBytes
			return false
		}
		if rec.ts < it.from {
			if !it.pairs(false) {
				return false
			}
			continue
		}
		it.ts, it.line = rec.ts, it.payload[rec.lineStart:rec.lineEnd:rec.lineEnd]
		return it.pairs(true)
	}
}

func (it *blockIter) at() (int64, []byte, []logproto.LabelAdapter) {
	if len(it.sm) == 0 {
		return it.ts, it.line, nil
	}
	return it.ts, it.line, it.sm
}

func (it *blockIter) error() error { return it.err }

// inclusive converts a public half-open range [from, through) to the
// inclusive range used inside the package; ok is false if it is empty.
func inclusive(from, through int64) (int64, int64, bool) {
	if through <= from || through == math.MinInt64 {
		return 0, 0, false
	}
	return from, through - 1, true
}
