package chunk

import (
	"bytes"
	"encoding/binary"
	"sync"

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

// Flags of a version-2 block payload.
const (
	// flagLengths: a line contains a newline, so a column of line
	// lengths says where each line ends.
	flagLengths = 1 << 0
	flagsKnown  = flagLengths
)

// payloadBuilder assembles the uncompressed version-2 payload of one block
// from entries added in timestamp order (docs/format/chunk.md):
//
//	uvarint flags, uvarint timestamp unit
//	uvarint #symbols, then per symbol: uvarint length, bytes
//	uvarint #metadata sets, then per set: uvarint #pairs, then per pair:
//	        uvarint name symbol, uvarint value symbol
//	per entry: uvarint (ts - previous ts) / unit
//	per entry: uvarint metadata set (0: none, k: the k-th set)
//	per entry, with flagLengths only: uvarint line length
//	per entry: the line, then '\n'
//
// Symbols and sets are numbered in order of first use. Its buffers are
// scratch: a builder comes from builderPool and goes back once its payload
// is compressed.
type payloadBuilder struct {
	syms    map[string]uint32
	symBuf  []byte // the symbol records
	nsyms   int
	sets    map[string]uint32 // encoded pairs → set number
	setBuf  []byte            // the set records
	nsets   int
	key     []byte                  // scratch: the pairs of one set
	prevSM  []logproto.LabelAdapter // metadata of the previous entry
	prevSet uint32

	deltas    []uint64 // timestamp deltas
	unit      uint64   // gcd of the deltas
	setCol    []byte
	lenCol    []byte
	lines     []byte
	multiline bool
	payload   []byte

	n          int
	mint, maxt int64
	lineBytes  int
	size       int // sum of EntrySize
}

// builderPool shares payload builders, whose buffers hold about two blocks,
// between all chunks: a chunk only needs one while it cuts a block.
var builderPool = sync.Pool{New: func() any {
	return &payloadBuilder{syms: make(map[string]uint32), sets: make(map[string]uint32)}
}}

func getBuilder() *payloadBuilder {
	b := builderPool.Get().(*payloadBuilder)
	b.reset()
	return b
}

// putBuilder returns b to the pool, unless it grew for an outsized block.
func putBuilder(b *payloadBuilder) {
	if cap(b.payload) > 2*MaxBlockSize || cap(b.lines) > 2*MaxBlockSize {
		return
	}
	clear(b.prevSM)
	builderPool.Put(b)
}

func (b *payloadBuilder) reset() {
	if b.syms == nil {
		b.syms, b.sets = make(map[string]uint32), make(map[string]uint32)
	}
	clear(b.syms)
	clear(b.sets)
	b.symBuf, b.setBuf = b.symBuf[:0], b.setBuf[:0]
	b.nsyms, b.nsets = 0, 0
	clear(b.prevSM)
	b.prevSM, b.prevSet = b.prevSM[:0], 0
	b.deltas, b.unit = b.deltas[:0], 0
	b.setCol, b.lenCol, b.lines = b.setCol[:0], b.lenCol[:0], b.lines[:0]
	b.multiline = false
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

// set returns the number of the metadata set sm, adding it if it is new.
func (b *payloadBuilder) set(sm []logproto.LabelAdapter) uint32 {
	if len(sm) == 0 {
		return 0
	}
	if labelsEqual(sm, b.prevSM) {
		return b.prevSet
	}
	b.key = b.key[:0]
	for _, l := range sm {
		b.key = binary.AppendUvarint(b.key, uint64(b.symbol(l.Name)))
		b.key = binary.AppendUvarint(b.key, uint64(b.symbol(l.Value)))
	}
	ref, ok := b.sets[string(b.key)]
	if !ok {
		b.nsets++
		ref = uint32(b.nsets)
		b.sets[string(b.key)] = ref
		b.setBuf = binary.AppendUvarint(b.setBuf, uint64(len(sm)))
		b.setBuf = append(b.setBuf, b.key...)
	}
	b.prevSM = append(b.prevSM[:0], sm...)
	b.prevSet = ref
	return ref
}

// add appends an entry; ts must not be below the previous entry's.
func (b *payloadBuilder) add(ts int64, line []byte, sm []logproto.LabelAdapter) {
	if b.n == 0 {
		b.mint, b.maxt = ts, ts
	}
	d := uint64(ts) - uint64(b.maxt)
	b.deltas = append(b.deltas, d)
	if b.unit != 1 {
		b.unit = gcd(b.unit, d)
	}
	b.setCol = binary.AppendUvarint(b.setCol, uint64(b.set(sm)))
	b.lenCol = binary.AppendUvarint(b.lenCol, uint64(len(line)))
	if !b.multiline && bytes.IndexByte(line, '\n') >= 0 {
		b.multiline = true
	}
	b.lines = append(b.lines, line...)
	b.lines = append(b.lines, '\n')
	b.maxt = ts
	b.n++
	b.lineBytes += len(line)
	b.size += EntrySize(len(line), sm)
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// finish returns the payload; it is valid until the next reset.
func (b *payloadBuilder) finish() []byte {
	var flags uint64
	if b.multiline {
		flags |= flagLengths
	}
	unit := max(b.unit, 1) // every delta is 0 when the unit is 0
	p := binary.AppendUvarint(b.payload[:0], flags)
	p = binary.AppendUvarint(p, unit)
	p = binary.AppendUvarint(p, uint64(b.nsyms))
	p = append(p, b.symBuf...)
	p = binary.AppendUvarint(p, uint64(b.nsets))
	p = append(p, b.setBuf...)
	for _, d := range b.deltas {
		p = binary.AppendUvarint(p, d/unit)
	}
	p = append(p, b.setCol...)
	if b.multiline {
		p = append(p, b.lenCol...)
	}
	p = append(p, b.lines...)
	b.payload = p
	return p
}
