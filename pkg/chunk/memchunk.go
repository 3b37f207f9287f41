package chunk

import (
	"cmp"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"math"
	"slices"
	"sync"

	"github.com/skald-logs/skald/pkg/logproto"
)

// block is a cut, immutable block of a MemChunk.
type block struct {
	meta blockMeta
	data []byte // compressed payload
	size int    // sum of EntrySize
	// hashes holds the low 32 bits of the dedupe hash of every entry,
	// sorted, so Append can rule out duplicates without decompressing.
	hashes []uint32
}

// MemChunk is a chunk being written: the ingester appends to it, queries
// iterate it, and at flush time Encode turns it into bytes.
//
// MemChunk is not safe for concurrent use: the caller (the ingester, under
// its stream lock) serialises every method call. An iterator returned by
// Iterator, however, is a consistent snapshot: it may be used after the lock
// is released, concurrently with later Appends, and never sees them.
//
// Duplicates: Append drops an entry equal (same timestamp, line and
// metadata, in the same order) to any entry already in the chunk, whether
// it is in the head block or in a cut block. Cut blocks keep a 32-bit hash
// per entry for this (4 bytes per entry); a hash match is confirmed by
// decompressing the block, so the check is exact.
type MemChunk struct {
	cfg   Config
	codec codec
	seed  maphash.Seed

	blocks     []*block
	blocksMint int64 // bounds of the cut blocks
	blocksMaxt int64
	compressed int // bytes of the cut blocks
	cutSize    int // EntrySize sum of the cut blocks

	head headBlock

	n          int
	lineBytes  int
	mint, maxt int64

	// scratch, reused across cuts; the payload builder and the
	// compression buffer come from pools for the duration of a cut
	order  []int32
	labels []logproto.LabelAdapter

	// the block last decompressed to confirm a duplicate, until the next cut
	dupBlock  *block
	dupReader *blockReader
}

// NewMemChunk returns an empty chunk. Zero fields of cfg take the defaults;
// cfg should pass Validate, and Append fails if its encoding is unknown.
func NewMemChunk(cfg Config) *MemChunk {
	cfg = cfg.withDefaults()
	c := &MemChunk{cfg: cfg, codec: codecFor(cfg.Encoding), seed: maphash.MakeSeed()}
	c.head.init()
	return c
}

// Encoding returns the encoding of the chunk's blocks.
func (c *MemChunk) Encoding() Encoding { return c.cfg.Encoding }

// Len returns the number of entries.
func (c *MemChunk) Len() int { return c.n }

// Size returns the uncompressed size of the lines, in bytes.
func (c *MemChunk) Size() int { return c.lineBytes }

// Bounds returns the timestamps of the oldest and the newest entry (both
// inclusive); (0, 0) when the chunk is empty.
func (c *MemChunk) Bounds() (from, through int64) { return c.mint, c.maxt }

// Blocks returns the number of cut blocks, not counting the head block.
func (c *MemChunk) Blocks() int { return len(c.blocks) }

// estimate returns the expected compressed size of the chunk with extra more
// uncompressed bytes: the bytes of the cut blocks plus the head at the
// compression ratio achieved so far (1 before the first cut).
func (c *MemChunk) estimate(extra int) int {
	raw := c.head.size + extra
	if c.cutSize == 0 {
		return raw
	}
	return c.compressed + int(float64(raw)*float64(c.compressed)/float64(c.cutSize))
}

// CompressedSize returns the bytes of the cut blocks plus an estimate for
// the head block (its size at the compression ratio achieved so far).
func (c *MemChunk) CompressedSize() int { return c.estimate(0) }

// SpaceFor reports whether an entry with a line of lineLen bytes fits without
// the estimated compressed size exceeding TargetSize. An empty chunk always
// has space.
func (c *MemChunk) SpaceFor(lineLen int) bool {
	return c.n == 0 || c.estimate(8+lineLen) <= c.cfg.TargetSize
}

// IsFull reports whether the estimated compressed size has reached
// TargetSize.
func (c *MemChunk) IsFull() bool { return c.estimate(0) >= c.cfg.TargetSize }

// hash is the dedupe hash of an entry; it depends on the chunk's seed.
func (c *MemChunk) hash(ts int64, line string, sm []logproto.LabelAdapter) uint64 {
	return c.mix(maphash.String(c.seed, line), ts, sm)
}

// hashBytes is hash for a line in bytes; the two agree.
func (c *MemChunk) hashBytes(ts int64, line []byte, sm []logproto.LabelAdapter) uint64 {
	return c.mix(maphash.Bytes(c.seed, line), ts, sm)
}

func (c *MemChunk) mix(h uint64, ts int64, sm []logproto.LabelAdapter) uint64 {
	h ^= uint64(ts) * 0x9e3779b97f4a7c15
	for _, l := range sm {
		h = (h ^ maphash.String(c.seed, l.Name)) * 0xbf58476d1ce4e5b9
		h = (h ^ maphash.String(c.seed, l.Value)) * 0x94d049bb133111eb
	}
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	return h ^ h>>29
}

// Append adds an entry. Entries may come in any order. An exact duplicate of
// an entry already in the chunk is not stored and dup is true. The chunk does
// not keep references to line or sm.
func (c *MemChunk) Append(ts int64, line string, sm []logproto.LabelAdapter) (dup bool, err error) {
	if c.codec == nil {
		return false, fmt.Errorf("%w: unknown encoding %d", ErrInvalidConfig, c.cfg.Encoding)
	}
	if size := EntrySize(len(line), sm); size > MaxEntrySize {
		return false, fmt.Errorf("%w: %d bytes, at most %d", ErrEntryTooLarge, size, MaxEntrySize)
	}
	// A duplicate has the timestamp of an entry it duplicates: entries
	// newer than every other need no hash and no lookup.
	var h uint64
	hashed := false
	if hb := &c.head; len(hb.entries) > 0 && ts >= hb.mint && ts <= hb.maxt {
		found, settled := hb.recent(ts, line, sm)
		if !settled {
			h, hashed = c.hash(ts, line, sm), true
			if !hb.indexed {
				c.indexHead()
			}
			found = hb.contains(h, ts, line, sm)
		}
		if found {
			return true, nil
		}
	}
	if len(c.blocks) > 0 && ts >= c.blocksMint && ts <= c.blocksMaxt {
		if !hashed {
			h, hashed = c.hash(ts, line, sm), true
		}
		for _, b := range c.blocks {
			if c.inBlock(b, h, ts, line, sm) {
				return true, nil
			}
		}
	}
	headAdd(&c.head, ts, line, sm)
	if c.head.indexed {
		if !hashed {
			h = c.hash(ts, line, sm)
		}
		c.head.index(h, len(c.head.entries)-1)
	}
	if c.n == 0 {
		c.mint, c.maxt = ts, ts
	} else {
		c.mint, c.maxt = min(c.mint, ts), max(c.maxt, ts)
	}
	c.n++
	c.lineBytes += len(line)
	for c.head.size >= c.cfg.BlockSize { // more than once only if BlockSize < an entry
		c.cut()
	}
	return false, nil
}

// indexHead builds the head's duplicate index.
func (c *MemChunk) indexHead() {
	hb := &c.head
	if hb.dedup == nil {
		hb.dedup = make(map[uint64]uint32, len(hb.entries))
	}
	for i := range hb.entries {
		e := &hb.entries[i]
		c.labels = hb.labels(e, c.labels)
		hb.index(c.hashBytes(e.ts, hb.line(e), c.labels), i)
	}
	hb.indexed = true
}

// inBlock reports whether b holds the exact entry.
func (c *MemChunk) inBlock(b *block, h uint64, ts int64, line string, sm []logproto.LabelAdapter) bool {
	if ts < b.meta.mint || ts > b.meta.maxt {
		return false
	}
	if _, ok := slices.BinarySearch(b.hashes, uint32(h)); !ok {
		return false
	}
	if c.dupBlock != b {
		c.dupBlock = nil
		if c.dupReader == nil {
			c.dupReader = getReader()
		}
		s := scan{from: ts, through: ts, forward: true}
		if err := c.dupReader.open(c.codec, b.data, &b.meta, version2, &s); err != nil {
			return false // cannot happen for a block this chunk compressed
		}
		c.dupBlock = b
	}
	d := &c.dupReader.bi.d
	for i := d.search(ts, false); i < len(d.ts) && d.ts[i] == ts; i++ {
		if _, l, s := d.at(i); string(l) == line && labelsEqual(s, sm) {
			return true
		}
	}
	return false
}

func labelsEqual(a, b []logproto.LabelAdapter) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// cut compresses the head block. The head is sorted, and its shortest prefix
// that reaches BlockSize becomes the block (the rule Encode uses to cut the
// sorted entries, so cut blocks can be kept as they are); the rest, if any,
// stays in the head.
func (c *MemChunk) cut() {
	h := &c.head
	c.order = h.sortedOrder(c.order)
	k, acc := 0, 0
	for k < len(c.order) && acc < c.cfg.BlockSize {
		acc += h.entrySize(&h.entries[c.order[k]])
		k++
	}
	b := getBuilder()
	hashes := make([]uint32, 0, k)
	for _, i := range c.order[:k] {
		e := &h.entries[i]
		c.labels = h.labels(e, c.labels)
		b.add(e.ts, h.line(e), c.labels)
		hashes = append(hashes, uint32(c.hashBytes(e.ts, h.line(e), c.labels)))
	}
	blk := c.seal(b)
	putBuilder(b)
	clear(c.labels)
	if c.dupReader != nil {
		putReader(c.dupReader)
		c.dupReader, c.dupBlock = nil, nil
	}
	slices.Sort(hashes)
	blk.hashes = hashes
	if len(c.blocks) == 0 {
		c.blocksMint, c.blocksMaxt = blk.meta.mint, blk.meta.maxt
	} else {
		c.blocksMint, c.blocksMaxt = min(c.blocksMint, blk.meta.mint), max(c.blocksMaxt, blk.meta.maxt)
	}
	c.blocks = append(c.blocks, blk)
	c.compressed += len(blk.data)
	c.cutSize += blk.size

	rest := c.order[k:]
	if len(rest) == 0 {
		h.reset()
		return
	}
	// Move the rest into a fresh head, in arrival order.
	old := *h // keeps the old arenas; the maps are not used through it
	h.shared = true
	h.reset()
	slices.Sort(rest)
	for _, i := range rest {
		e := &old.entries[i]
		c.labels = old.labels(e, c.labels)
		headAdd(h, e.ts, old.line(e), c.labels)
	}
}

// packPool holds compression output buffers, shared by all chunks.
var packPool = sync.Pool{New: func() any { return new([]byte) }}

// seal compresses the payload in b into a block.
func (c *MemChunk) seal(b *payloadBuilder) *block {
	payload := b.finish()
	packed := packPool.Get().(*[]byte)
	*packed = c.codec.encode(*packed, payload)
	data := slices.Clone(*packed)
	if cap(*packed) <= 2*MaxBlockSize {
		packPool.Put(packed)
	}
	return &block{
		meta: blockMeta{
			mint: b.mint, maxt: b.maxt, entries: b.n, lineBytes: b.lineBytes,
			payloadLen: len(payload), length: len(data), crc: crc32.Checksum(data, castagnoli),
		},
		data: data,
		size: b.size,
	}
}

// Iterator returns an iterator over the entries in [from, through). It is a
// snapshot: later Appends do not change what it yields.
func (c *MemChunk) Iterator(from, through int64, dir logproto.Direction) EntryIterator {
	return c.Iterate(IterOptions{From: from, Through: through, Direction: dir})
}

// Iterate returns an iterator over the entries that o selects. It is a
// snapshot: later Appends do not change what it yields.
func (c *MemChunk) Iterate(o IterOptions) EntryIterator {
	s, ok := newScan(o)
	if !ok || c.n == 0 || s.through < c.mint || s.from > c.maxt {
		return emptyIterator{}
	}
	return c.merge(0, s, true)
}

// merge returns an iterator over the blocks from the first-th on and the
// head, within the scan.
func (c *MemChunk) merge(first int, s scan, share bool) *mergeIter {
	it := &mergeIter{codec: c.codec, scan: s}
	forward := s.forward
	for i, b := range c.blocks[first:] {
		if b.meta.overlaps(s.from, s.through) {
			it.pending = append(it.pending, source{rank: i, mint: b.meta.mint, maxt: b.meta.maxt, blk: b})
		}
	}
	if h := &c.head; len(h.entries) > 0 && h.maxt >= s.from && h.mint <= s.through {
		it.pending = append(it.pending, source{rank: len(c.blocks), mint: h.mint, maxt: h.maxt, head: h.snapshot(share)})
	}
	slices.SortFunc(it.pending, func(a, b source) int {
		if forward {
			if c := cmp.Compare(a.mint, b.mint); c != 0 {
				return c
			}
			return a.rank - b.rank
		}
		if c := cmp.Compare(b.maxt, a.maxt); c != 0 {
			return c
		}
		return b.rank - a.rank
	})
	return it
}

// keepBlocks returns how many leading cut blocks Encode can copy as they
// are. Block i keeps its place if the blocks before it do and no later block
// or head entry has a timestamp below its last one (an equal timestamp
// arrived later, so it sorts after).
func (c *MemChunk) keepBlocks() int {
	after := int64(math.MaxInt64) // the smallest timestamp after block i
	if len(c.head.entries) > 0 {
		after = c.head.mint
	}
	keep := len(c.blocks)
	for i := len(c.blocks) - 1; i >= 0; i-- {
		if c.blocks[i].meta.maxt > after {
			keep = i
		}
		after = min(after, c.blocks[i].meta.mint)
	}
	return keep
}

// Encode returns the chunk's byte form. The bytes depend only on the
// entries: their timestamps, lines and metadata, and for entries of equal
// timestamp their relative arrival order (see docs/format/chunk.md). Cut
// blocks that are already in their final place are copied as they are;
// the rest is merged, re-cut and compressed again (all of it when
// Config.EncodeBlockSize differs from BlockSize). Encode does not change the
// chunk.
func (c *MemChunk) Encode() ([]byte, error) {
	if c.codec == nil {
		return nil, fmt.Errorf("%w: unknown encoding %d", ErrInvalidConfig, c.cfg.Encoding)
	}
	keep, blockSize := c.keepBlocks(), c.cfg.encodeBlockSize()
	if blockSize != c.cfg.BlockSize {
		keep = 0 // the cut blocks have another size: re-cut them all
	}
	blocks := slices.Clone(c.blocks[:keep])
	if keep < len(c.blocks) || len(c.head.entries) > 0 {
		it := c.merge(keep, scan{from: math.MinInt64, through: math.MaxInt64, forward: true}, false)
		b := getBuilder()
		defer putBuilder(b)
		for it.Next() {
			ts, line, sm := it.At()
			b.add(ts, line, sm)
			if b.size >= blockSize {
				blocks = append(blocks, c.seal(b))
				b.reset()
			}
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		if b.n > 0 {
			blocks = append(blocks, c.seal(b))
		}
	}
	return assemble(c.cfg.Encoding, blocks), nil
}
