package chunk

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"

	"github.com/skald-logs/skald/pkg/logproto"
)

// assemble lays out a chunk: header, blocks, index, trailer.
func assemble(enc Encoding, blocks []*block) []byte {
	size := headerLen + trailerLen + 2
	for _, b := range blocks {
		size += len(b.data) + 40
	}
	out := make([]byte, 0, size)
	out = binary.BigEndian.AppendUint32(out, magic)
	out = append(out, version2, byte(enc))
	metas := make([]blockMeta, len(blocks))
	for i, b := range blocks {
		metas[i] = b.meta
		metas[i].offset = len(out)
		out = append(out, b.data...)
	}
	idx := len(out)
	out = appendIndex(out, metas)
	sum := crc32.Update(crc32.Checksum(out[:headerLen], castagnoli), castagnoli, out[idx:])
	out = binary.BigEndian.AppendUint32(out, uint32(len(out)-idx))
	return binary.BigEndian.AppendUint32(out, sum)
}

// Chunk is a decoded, immutable chunk. It is safe for concurrent use; each
// iterator has its own buffers.
type Chunk struct {
	data       []byte
	version    byte
	enc        Encoding
	codec      codec
	blocks     []blockMeta
	n          int
	lineBytes  int
	mint, maxt int64
	checksum   uint32
}

// Decode checks the chunk in b (magic, version, encoding, checksums of the
// header, index and every block, and that bounds and lengths add up) and
// returns it, without decompressing any block. The Chunk references b,
// which must not be modified while the Chunk is in use. Invalid input
// returns an error wrapping ErrCorrupt. Chunks of versions 1 and 2 are
// read.
func Decode(b []byte) (*Chunk, error) { return decode(b, true, true) }

// DecodeTrusted is Decode without the checksums of the blocks, for bytes
// that Decode accepted before and that stayed in memory since (a cache of
// chunk objects): it saves reading every compressed byte once more. The
// header and index are still checked, and iterating a block that was
// changed meanwhile fails with ErrCorrupt or yields wrong entries; it never
// panics.
func DecodeTrusted(b []byte) (*Chunk, error) { return decode(b, true, false) }

// decode is Decode with the checksums optional: the index's for fuzzing, to
// reach the parsers behind it, the blocks' for DecodeTrusted.
func decode(b []byte, verifyIndex, verifyBlocks bool) (*Chunk, error) {
	if len(b) < headerLen+trailerLen+2 {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(b))
	}
	if m := binary.BigEndian.Uint32(b); m != magic {
		return nil, fmt.Errorf("%w: bad magic %#08x", ErrCorrupt, m)
	}
	version := b[4]
	if version != version1 && version != version2 {
		return nil, fmt.Errorf("%w: unsupported version %d", ErrCorrupt, version)
	}
	enc := Encoding(b[5])
	dec := codecFor(enc)
	if dec == nil {
		return nil, fmt.Errorf("%w: unknown encoding %d", ErrCorrupt, b[5])
	}
	tr := len(b) - trailerLen
	idxLen := binary.BigEndian.Uint32(b[tr:])
	if uint64(idxLen) > uint64(tr-headerLen) {
		return nil, fmt.Errorf("%w: index length %d out of range", ErrCorrupt, idxLen)
	}
	idx := tr - int(idxLen)
	sum := binary.BigEndian.Uint32(b[tr+4:])
	if verifyIndex {
		if got := crc32.Update(crc32.Checksum(b[:headerLen], castagnoli), castagnoli, b[idx:tr]); got != sum {
			return nil, fmt.Errorf("%w: index checksum %#08x, computed %#08x", ErrCorrupt, sum, got)
		}
	}
	blocks, err := parseIndex(b[idx:tr], idx, dec, version)
	if err != nil {
		return nil, err
	}
	c := &Chunk{data: b, version: version, enc: enc, codec: dec, blocks: blocks, checksum: sum}
	for i := range blocks {
		m := &blocks[i]
		data := b[m.offset : m.offset+m.length]
		if verifyBlocks {
			if got := crc32.Checksum(data, castagnoli); got != m.crc {
				return nil, fmt.Errorf("%w: block %d checksum %#08x, computed %#08x", ErrCorrupt, i, m.crc, got)
			}
		}
		if n, err := dec.decodedLen(data); err != nil || n != m.payloadLen {
			return nil, fmt.Errorf("%w: block %d: compressed header does not give payload length %d", ErrCorrupt, i, m.payloadLen)
		}
		c.n += m.entries
		c.lineBytes += m.lineBytes
	}
	if len(blocks) > 0 {
		c.mint, c.maxt = blocks[0].mint, blocks[len(blocks)-1].maxt
	}
	return c, nil
}

// Bounds returns the timestamps of the oldest and the newest entry (both
// inclusive); (0, 0) for an empty chunk.
func (c *Chunk) Bounds() (from, through int64) { return c.mint, c.maxt }

// Len returns the number of entries.
func (c *Chunk) Len() int { return c.n }

// Size returns the uncompressed size of the lines, in bytes.
func (c *Chunk) Size() int { return c.lineBytes }

// Blocks returns the number of blocks.
func (c *Chunk) Blocks() int { return len(c.blocks) }

// Encoding returns the compression of the blocks.
func (c *Chunk) Encoding() Encoding { return c.enc }

// Checksum returns the chunk's checksum: the CRC32-Castagnoli of its header
// and index, which hold the checksum of every block, so it covers all the
// content. Equal chunks have equal checksums.
func (c *Chunk) Checksum() uint32 { return c.checksum }

// Iterator returns an iterator over the entries in [from, through),
// decompressing only the blocks that overlap the range, one at a time.
func (c *Chunk) Iterator(from, through int64, dir logproto.Direction) EntryIterator {
	return c.Iterate(IterOptions{From: from, Through: through, Direction: dir})
}

// Iterate returns an iterator over the entries that o selects,
// decompressing only the blocks that overlap its range, one at a time.
func (c *Chunk) Iterate(o IterOptions) EntryIterator {
	s, ok := newScan(o)
	if !ok || c.n == 0 || s.through < c.mint || s.from > c.maxt {
		return emptyIterator{}
	}
	// Blocks are in time order and do not overlap (a block may start at
	// the timestamp the previous one ends with).
	lo := sort.Search(len(c.blocks), func(i int) bool { return c.blocks[i].maxt >= s.from })
	hi := sort.Search(len(c.blocks), func(i int) bool { return c.blocks[i].mint > s.through })
	it := &chunkIter{c: c, scan: s}
	if s.forward {
		it.next, it.end, it.step = lo, hi, 1
	} else {
		it.next, it.end, it.step = hi-1, lo-1, -1
	}
	return it
}

// chunkIter iterates a decoded chunk block by block, with one pooled
// reader that it returns once it is done.
type chunkIter struct {
	c         *Chunk
	scan      scan
	next, end int // blocks still to read: next, next+step, ... up to end
	step      int
	open      bool
	r         *blockReader
	err       error
	done      bool
}

func (it *chunkIter) Next() bool {
	if it.done {
		return false
	}
	for {
		if it.open {
			if it.r.bi.next() {
				return true
			}
			it.open = false
			if it.err = it.r.bi.error(); it.err != nil {
				break
			}
		}
		if it.next == it.end {
			break
		}
		m := &it.c.blocks[it.next]
		it.next += it.step
		if it.r == nil {
			it.r = getReader()
		}
		if it.err = it.r.open(it.c.codec, it.c.data[m.offset:m.offset+m.length], m, it.c.version, &it.scan); it.err != nil {
			break
		}
		it.open = true
	}
	it.Close()
	return false
}

func (it *chunkIter) At() (int64, []byte, []logproto.LabelAdapter) { return it.r.bi.at() }
func (it *chunkIter) Err() error                                   { return it.err }

func (it *chunkIter) Close() error {
	it.done, it.open = true, false
	if it.r != nil {
		putReader(it.r)
		it.r = nil
	}
	return nil
}
