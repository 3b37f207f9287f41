package chunk

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Layout constants; docs/format/chunk.md describes the format.
const (
	magic      uint32 = 0xD5534B43 // "\xd5SKC"
	version1   byte   = 1          // entries interleaved in block payloads
	version2   byte   = 2          // block payloads in columns
	headerLen         = 6          // magic, version, encoding
	trailerLen        = 8          // index length, checksum of header and index

	// minBlockMetaLen is the smallest encoding of one block in the index:
	// six one-byte uvarints, the 4-byte checksum and an empty extension.
	minBlockMetaLen = 11
	// minEntryLen is the smallest encoding of one entry in a version-2
	// block payload: timestamp delta, metadata set and the newline after
	// its line, one byte each (version 1: delta, line length, metadata
	// count).
	minEntryLen = 3
	// minHeaderLenV2 is the smallest payload header of version 2: flags,
	// timestamp unit and the numbers of symbols and of metadata sets.
	minHeaderLenV2 = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blockMeta describes one block, as stored in the chunk's index.
type blockMeta struct {
	mint, maxt int64 // timestamps of the first and last entry
	entries    int
	lineBytes  int // sum of the line lengths
	payloadLen int // uncompressed payload length
	offset     int // of the compressed bytes in the chunk
	length     int // compressed length
	crc        uint32
}

func (m *blockMeta) overlaps(from, through int64) bool {
	return m.maxt >= from && m.mint <= through
}

// appendIndex appends the index section for blocks, whose offsets must be
// contiguous.
func appendIndex(dst []byte, blocks []blockMeta) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(blocks)))
	var prevMaxt int64
	for i, b := range blocks {
		if i == 0 {
			dst = binary.AppendVarint(dst, b.mint)
		} else {
			dst = binary.AppendUvarint(dst, uint64(b.mint)-uint64(prevMaxt))
		}
		dst = binary.AppendUvarint(dst, uint64(b.maxt)-uint64(b.mint))
		dst = binary.AppendUvarint(dst, uint64(b.entries))
		dst = binary.AppendUvarint(dst, uint64(b.lineBytes))
		dst = binary.AppendUvarint(dst, uint64(b.payloadLen))
		dst = binary.AppendUvarint(dst, uint64(b.length))
		dst = binary.BigEndian.AppendUint32(dst, b.crc)
		dst = binary.AppendUvarint(dst, 0) // no block extensions
		prevMaxt = b.maxt
	}
	return binary.AppendUvarint(dst, 0) // no chunk extensions
}

// indexReader reads the index section; every read checks its bounds.
type indexReader struct {
	b   []byte
	pos int
	err error
}

func (r *indexReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: index: bad %s at byte %d", ErrCorrupt, what, r.pos)
	}
}

func (r *indexReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.pos += n
	return v
}

// int reads a uvarint that must fit in [0, limit].
func (r *indexReader) int(what string, limit int) int {
	v := r.uvarint(what)
	if v > uint64(limit) {
		r.fail(what)
		return 0
	}
	return int(v)
}

func (r *indexReader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.pos:])
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.pos += n
	return v
}

func (r *indexReader) uint32(what string) uint32 {
	if r.err != nil {
		return 0
	}
	if len(r.b)-r.pos < 4 {
		r.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint32(r.b[r.pos:])
	r.pos += 4
	return v
}

// skipExtensions skips an extension field: a length and that many bytes.
// Versions 1 and 2 define no extensions; readers ignore what they find.
func (r *indexReader) skipExtensions() {
	n := r.uvarint("extension length")
	if n > uint64(len(r.b)-r.pos) {
		r.fail("extension length")
		return
	}
	r.pos += int(n)
}

// addTime returns t+d and whether it fits in an int64. (If the sum
// wraps around, it wraps to below t, because d < 2^64.)
func addTime(t int64, d uint64) (int64, bool) {
	r := int64(uint64(t) + d)
	return r, r >= t
}

// parseIndex decodes the index section of a chunk of the given version.
// Blocks are laid out from byte headerLen on, back to back, and must end
// exactly at blocksEnd; dec bounds the payload length of a block.
func parseIndex(idx []byte, blocksEnd int, dec codec, version byte) ([]blockMeta, error) {
	minHeader := minHeaderLenV2
	if version == version1 {
		minHeader = 1 // the symbol count
	}
	r := indexReader{b: idx}
	n := r.int("block count", len(idx)/minBlockMetaLen)
	blocks := make([]blockMeta, 0, n)
	offset := headerLen
	var prevMaxt int64
	for i := 0; i < n && r.err == nil; i++ {
		var m blockMeta
		if i == 0 {
			m.mint = r.varint("block mint")
		} else {
			var ok bool
			if m.mint, ok = addTime(prevMaxt, r.uvarint("block mint")); !ok {
				r.fail("block mint")
			}
		}
		var ok bool
		if m.maxt, ok = addTime(m.mint, r.uvarint("block maxt")); !ok {
			r.fail("block maxt")
		}
		m.entries = r.int("entry count", maxPayloadLen/minEntryLen)
		m.lineBytes = r.int("line bytes", maxPayloadLen)
		m.payloadLen = r.int("payload length", maxPayloadLen)
		m.length = r.int("block length", blocksEnd-offset)
		m.crc = r.uint32("block checksum")
		r.skipExtensions()
		if r.err != nil {
			break
		}
		switch {
		case m.entries == 0:
			r.fail("entry count")
		case m.payloadLen < minHeader+m.entries*minEntryLen+m.lineBytes:
			r.fail("payload length")
		case m.payloadLen > dec.maxDecodedLen(m.length):
			r.fail("payload length")
		case m.entries == 1 && m.mint != m.maxt:
			r.fail("block bounds")
		}
		m.offset = offset
		offset += m.length
		prevMaxt = m.maxt
		blocks = append(blocks, m)
	}
	r.skipExtensions()
	if r.err != nil {
		return nil, r.err
	}
	if r.pos != len(idx) {
		return nil, fmt.Errorf("%w: index: %d trailing bytes", ErrCorrupt, len(idx)-r.pos)
	}
	if offset != blocksEnd {
		return nil, fmt.Errorf("%w: blocks end at byte %d, index starts at %d", ErrCorrupt, offset, blocksEnd)
	}
	return blocks, nil
}
