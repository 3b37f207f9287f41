package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Format constants; see docs/format/index.md.
const (
	// Magic opens every index object: "SKIX".
	Magic uint32 = 0x534B4958
	// Version is the format version this package writes.
	Version byte = 1

	headerLen = 5             // magic + version
	footerLen = 12            // TOC offset (8) + TOC CRC32-C (4)
	tocEntry  = 1 + 8 + 8 + 4 // kind, offset, length, CRC32-C
)

// Section kinds in the table of contents. Readers skip kinds they do not
// know, so a later minor addition does not need a new version.
const (
	sectionSymbols  byte = 1
	sectionSeries   byte = 2
	sectionPostings byte = 3
)

var (
	// ErrCorrupt marks an index object that cannot be decoded: bad magic,
	// unknown version, checksum mismatch, truncation or inconsistent content.
	ErrCorrupt = errors.New("corrupt index")
	// ErrInvalidSeries marks writer input that cannot be encoded, such as a
	// label set with unsorted or repeated names or a chunk ref ending before
	// it starts.
	ErrInvalidSeries = errors.New("invalid series")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// encbuf appends the primitive encodings of the format to a byte slice.
type encbuf struct{ b []byte }

func (e *encbuf) byte1(x byte)     { e.b = append(e.b, x) }
func (e *encbuf) be32(x uint32)    { e.b = binary.BigEndian.AppendUint32(e.b, x) }
func (e *encbuf) be64(x uint64)    { e.b = binary.BigEndian.AppendUint64(e.b, x) }
func (e *encbuf) uvarint(x uint64) { e.b = binary.AppendUvarint(e.b, x) }
func (e *encbuf) varint(x int64)   { e.b = binary.AppendVarint(e.b, x) }
func (e *encbuf) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }

// decbuf reads the primitive encodings from a byte slice. The first failure
// is sticky: later reads return zero values and err stays set, so a decoder
// checks err once per record rather than after every read.
type decbuf struct {
	b   []byte
	off int
	err error
}

func (d *decbuf) left() int { return len(d.b) - d.off }

func (d *decbuf) fail(what string) {
	if d.err == nil {
		d.err = corruptf("%s at offset %d", what, d.off)
	}
}

func (d *decbuf) byte1() byte {
	if d.err != nil || d.left() < 1 {
		d.fail("truncated byte")
		return 0
	}
	x := d.b[d.off]
	d.off++
	return x
}

func (d *decbuf) be32() uint32 {
	if d.err != nil || d.left() < 4 {
		d.fail("truncated uint32")
		return 0
	}
	x := binary.BigEndian.Uint32(d.b[d.off:])
	d.off += 4
	return x
}

func (d *decbuf) be64() uint64 {
	if d.err != nil || d.left() < 8 {
		d.fail("truncated uint64")
		return 0
	}
	x := binary.BigEndian.Uint64(d.b[d.off:])
	d.off += 8
	return x
}

func (d *decbuf) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.off += n
	return x
}

func (d *decbuf) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return x
}

// uvarint32 reads a uvarint that must fit in 32 bits.
func (d *decbuf) uvarint32() uint32 {
	x := d.uvarint()
	if x > 1<<32-1 {
		d.fail("uvarint overflows uint32")
		return 0
	}
	return uint32(x)
}

// count reads an element count and checks it against the bytes left, given
// that each element takes at least minSize bytes; this keeps a corrupt count
// from causing a huge allocation.
func (d *decbuf) count(minSize int) int {
	x := d.uvarint()
	if d.err == nil && x > uint64(d.left()/minSize) {
		d.fail(fmt.Sprintf("count %d exceeds the remaining bytes", x))
		return 0
	}
	return int(x)
}

// skip advances n bytes and returns the start offset of the skipped bytes.
func (d *decbuf) skip(n uint64) int {
	if d.err != nil || uint64(d.left()) < n {
		d.fail("truncated string")
		return d.off
	}
	start := d.off
	d.off += int(n)
	return start
}
