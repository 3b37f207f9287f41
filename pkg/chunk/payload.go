package chunk

import (
	"encoding/binary"
	"fmt"
	"math"

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
	err  error
}

func (it *blockIter) corrupt(format string, args ...any) {
	if it.err == nil {
		it.err = fmt.Errorf("%w: block at byte %d: %s", ErrCorrupt, it.meta.offset, fmt.Sprintf(format, args...))
	}
}

// uvarint reads a uvarint at it.pos.
func (it *blockIter) uvarint() (uint64, bool) {
	if it.pos < len(it.payload) && it.payload[it.pos] < 0x80 {
		v := uint64(it.payload[it.pos])
		it.pos++
		return v, true
	}
	if it.pos >= len(it.payload) {
		return 0, false
	}
	v, n := binary.Uvarint(it.payload[it.pos:])
	if n <= 0 {
		return 0, false
	}
	it.pos += n
	return v, true
}

// reset starts iterating a new payload.
func (it *blockIter) reset(payload []byte, meta *blockMeta, from, through int64, forward bool) {
	*it = blockIter{
		payload: payload, meta: *meta, from: from, through: through, forward: forward,
		syms: it.syms[:0], recs: it.recs[:0], sm: it.sm[:0],
		left: meta.entries, prev: meta.mint,
	}
	n, ok := it.uvarint()
	if !ok || n > uint64(len(payload)) {
		it.corrupt("bad symbol count")
		return
	}
	start := it.pos
	for range n {
		l, ok := it.uvarint()
		if !ok || l > uint64(len(payload)-it.pos) {
			it.corrupt("bad symbol")
			return
		}
		it.pos += int(l)
	}
	// One string holds every symbol of the block: one allocation per block.
	all := string(payload[start:it.pos])
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
	d, ok1 := it.uvarint()
	ts, ok2 := addTime(it.prev, d)
	if !ok1 || !ok2 || ts > it.meta.maxt || (d != 0 && it.left == it.meta.entries) {
		it.corrupt("bad timestamp")
		return rec, false
	}
	l, ok := it.uvarint()
	if !ok || l > uint64(len(it.payload)-it.pos) {
		it.corrupt("bad line length")
		return rec, false
	}
	rec = record{ts: ts, lineStart: uint32(it.pos), lineEnd: uint32(it.pos + int(l))}
	it.pos += int(l)
	rec.smPos = uint32(it.pos)
	it.prev = ts
	it.sum += int(l)
	it.left--
	return rec, true
}

// pairs reads the metadata pairs at it.pos into it.sm, or skips them.
func (it *blockIter) pairs(keep bool) bool {
	n, ok := it.uvarint()
	if !ok || n > uint64(len(it.payload)-it.pos)/2 {
		it.corrupt("bad metadata count")
		return false
	}
	if !keep {
		for range 2 * n {
			if _, ok := it.uvarint(); !ok {
				it.corrupt("bad metadata ref")
				return false
			}
		}
		return true
	}
	it.sm = it.sm[:0]
	for range n {
		name, ok1 := it.uvarint()
		value, ok2 := it.uvarint()
		if !ok1 || !ok2 || name >= uint64(len(it.syms)) || value >= uint64(len(it.syms)) {
			it.corrupt("bad metadata ref")
			return false
		}
		it.sm = append(it.sm, logproto.LabelAdapter{Name: it.syms[name], Value: it.syms[value]})
	}
	return true
}

// collect records the entries in range for backward iteration.
func (it *blockIter) collect() {
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
