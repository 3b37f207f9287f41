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
	out = append(out, version1, byte(enc))
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
// returns an error wrapping ErrCorrupt.
func Decode(b []byte) (*Chunk, error) { return decode(b, true) }

// decode is Decode with the checksum checks optional, so that fuzzing can
// reach the parsers behind them.
func decode(b []byte, verify bool) (*Chunk, error) {
	if len(b) < headerLen+trailerLen+2 {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(b))
	}
	if m := binary.BigEndian.Uint32(b); m != magic {
		return nil, fmt.Errorf("%w: bad magic %#08x", ErrCorrupt, m)
	}
	if v := b[4]; v != version1 {
		return nil, fmt.Errorf("%w: unsupported version %d", ErrCorrupt, v)
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
	if verify {
		if got := crc32.Update(crc32.Checksum(b[:headerLen], castagnoli), castagnoli, b[idx:tr]); got != sum {
			return nil, fmt.Errorf("%w: index checksum %#08x, computed %#08x", ErrCorrupt, sum, got)
		}
	}
	blocks, err := parseIndex(b[idx:tr], idx, dec)
	if err != nil {
		return nil, err
	}
	c := &Chunk{data: b, enc: enc, codec: dec, blocks: blocks, checksum: sum}
	for i := range blocks {
		m := &blocks[i]
		data := b[m.offset : m.offset+m.length]
		if verify {
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
	mint, maxt, ok := inclusive(from, through)
	if !ok || c.n == 0 || maxt < c.mint || mint > c.maxt {
		return emptyIterator{}
	}
	// Blocks are in time order and do not overlap (a block may start at
	// the timestamp the previous one ends with).
	lo := sort.Search(len(c.blocks), func(i int) bool { return c.blocks[i].maxt >= mint })
	hi := sort.Search(len(c.blocks), func(i int) bool { return c.blocks[i].mint > maxt })
	it := &chunkIter{c: c, from: mint, through: maxt, forward: dir == logproto.Forward}
	for _, m := range c.blocks[lo:hi] {
		it.bufLen = max(it.bufLen, m.payloadLen)
	}
	if it.forward {
		it.next, it.end, it.step = lo, hi, 1
	} else {
		it.next, it.end, it.step = hi-1, lo-1, -1
	}
	return it
}

// chunkIter iterates a decoded chunk block by block, reusing one buffer.
type chunkIter struct {
	c             *Chunk
	from, through int64
	forward       bool
	next, end     int // blocks still to read: next, next+step, ... up to end
	step          int
	open          bool
	bufLen        int // the largest payload to read
	buf           []byte
	bi            blockIter
	err           error
	done          bool
}

func (it *chunkIter) Next() bool {
	if it.done || it.err != nil {
		return false
	}
	for {
		if it.open {
			if it.bi.next() {
				return true
			}
			if it.err = it.bi.error(); it.err != nil {
				return false
			}
			it.open = false
		}
		if it.next == it.end {
			return false
		}
		m := &it.c.blocks[it.next]
		it.next += it.step
		if cap(it.buf) < m.payloadLen {
			it.buf = make([]byte, it.bufLen)
		}
		it.buf = it.buf[:m.payloadLen]
		if err := it.c.codec.decode(it.buf, it.c.data[m.offset:m.offset+m.length]); err != nil {
			it.err = fmt.Errorf("%w: block at byte %d: %v", ErrCorrupt, m.offset, err)
			return false
		}
		it.bi.reset(it.buf, m, it.from, it.through, it.forward)
		it.open = true
	}
}

func (it *chunkIter) At() (int64, []byte, []logproto.LabelAdapter) { return it.bi.at() }
func (it *chunkIter) Err() error                                   { return it.err }

func (it *chunkIter) Close() error {
	it.done = true
	it.buf = nil
	it.bi = blockIter{}
	return nil
}
