package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Segment and frame layout (docs/format/wal.md).
const (
	// segmentMagic opens every segment file: "SKWL".
	segmentMagic = 0x534B574C
	// FormatVersion is the version byte of the segment files this package
	// writes and reads.
	FormatVersion = 1
	// segmentHeaderSize is magic (4), version (1) and 3 reserved bytes.
	segmentHeaderSize = 8

	// frameMagic opens every frame.
	frameMagic = 0xD7
	// frameHeaderSize is magic (1), length (4), header check (1), CRC (4).
	frameHeaderSize = 10

	// MaxRecordSize bounds the payload of one record. Writers refuse larger
	// records; readers treat a larger length as damage.
	MaxRecordSize = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of this package, returned wrapped.
var (
	// ErrCorrupt marks a record payload that passed its checksum but does not
	// decode: written by a newer or broken writer.
	ErrCorrupt = errors.New("corrupt wal record")
	// ErrUnsupportedVersion marks a segment written in a format version this
	// package does not read.
	ErrUnsupportedVersion = errors.New("unsupported wal format version")
	// ErrRecordTooLarge is returned by Log for a record over MaxRecordSize.
	ErrRecordTooLarge = errors.New("wal record too large")
	// ErrClosed is returned by Log and Wait after Close.
	ErrClosed = errors.New("wal closed")
	// ErrLocked is returned by Open when another process has the directory
	// open.
	ErrLocked = errors.New("wal directory is in use by another process")
)

func appendSegmentHeader(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, segmentMagic)
	return append(dst, FormatVersion, 0, 0, 0)
}

// appendFrame appends the frame of payload to dst.
func appendFrame(dst, payload []byte) []byte {
	var h [frameHeaderSize]byte
	putFrameHeader(h[:], payload)
	dst = append(dst, h[:]...)
	return append(dst, payload...)
}

func putFrameHeader(h []byte, payload []byte) {
	h[0] = frameMagic
	binary.LittleEndian.PutUint32(h[1:5], uint32(len(payload)))
	h[5] = headerCheck(h[:5])
	binary.LittleEndian.PutUint32(h[6:10], crc32.Checksum(payload, castagnoli))
}

// headerCheck is the low byte of the CRC32-C of the magic and length: it lets
// a reader that looks for the next frame after damage reject most false
// starts without reading and checksumming a payload.
func headerCheck(b []byte) byte { return byte(crc32.Checksum(b, castagnoli)) }

// Damage is a byte range of a segment that holds no readable record: a torn
// write at the tail, or garbled bytes the reader skipped.
type Damage struct {
	Offset int64
	Length int64
	// Tail is set when no readable record follows the damage: typically the
	// record a crash interrupted.
	Tail bool
}

func (d Damage) String() string {
	kind := "corrupt bytes"
	if d.Tail {
		kind = "torn or corrupt tail"
	}
	return fmt.Sprintf("%s at offset %d (%d bytes)", kind, d.Offset, d.Length)
}

// readWindow is how much a SegmentReader reads at once.
const readWindow = 1 << 20

// SegmentReader reads the records of one segment. A frame whose header or
// checksum is wrong is skipped: the reader looks for the next valid frame
// after it and records the skipped bytes as Damage. Only I/O errors stop it.
//
// The slice Record returns is valid until the next call to Next.
type SegmentReader struct {
	r    io.ReaderAt
	size int64
	off  int64
	rec  []byte
	err  error

	win    []byte // bytes [winOff, winOff+len(win)) of the segment
	winOff int64
	big    []byte // a payload larger than the window

	damage []Damage
}

// NewSegmentReader returns a reader of the segment of size bytes in r. A
// segment that does not start with the segment header is read as damaged
// from its start; a segment of an unsupported format version is an error.
func NewSegmentReader(r io.ReaderAt, size int64) *SegmentReader {
	s := &SegmentReader{r: r, size: size}
	if size == 0 {
		return s
	}
	h, err := s.read(0, min(segmentHeaderSize, int(size)))
	if err != nil {
		s.err = err
		return s
	}
	switch {
	case len(h) < segmentHeaderSize:
		s.damage = append(s.damage, Damage{Offset: 0, Length: size, Tail: true})
		s.off = size
	case binary.BigEndian.Uint32(h) != segmentMagic:
		s.off = 0 // look for frames anyway; the scan records the damage
	case h[4] != FormatVersion:
		s.err = fmt.Errorf("%w: %d", ErrUnsupportedVersion, h[4])
		s.off = size
	default:
		s.off = segmentHeaderSize
	}
	return s
}

// Next advances to the next readable record. It returns false at the end of
// the segment or on an I/O error (see Err).
func (s *SegmentReader) Next() bool {
	for s.err == nil && s.off < s.size {
		n, err := s.frameAt(s.off)
		if err != nil {
			s.err = err
			return false
		}
		if n > 0 {
			s.off += n
			return true
		}
		next, err := s.resync(s.off + 1)
		if err != nil {
			s.err = err
			return false
		}
		if next < 0 {
			s.damage = append(s.damage, Damage{Offset: s.off, Length: s.size - s.off, Tail: true})
			s.off = s.size
			return false
		}
		s.damage = append(s.damage, Damage{Offset: s.off, Length: next - s.off})
		s.off = next
	}
	return false
}

// Record returns the payload of the current record.
func (s *SegmentReader) Record() []byte { return s.rec }

// Offset returns the offset just past the current record: the number of
// bytes read so far.
func (s *SegmentReader) Offset() int64 { return s.off }

// Err returns the I/O error that stopped the reader, if any.
func (s *SegmentReader) Err() error { return s.err }

// Damage returns the damaged ranges found so far, in order.
func (s *SegmentReader) Damage() []Damage { return s.damage }

// frameAt returns the length of the valid frame at off (setting s.rec), or 0
// if there is none.
func (s *SegmentReader) frameAt(off int64) (int64, error) {
	if s.size-off < frameHeaderSize {
		return 0, nil
	}
	h, err := s.read(off, frameHeaderSize)
	if err != nil {
		return 0, err
	}
	if h[0] != frameMagic || h[5] != headerCheck(h[:5]) {
		return 0, nil
	}
	n := int64(binary.LittleEndian.Uint32(h[1:5]))
	want := binary.LittleEndian.Uint32(h[6:10])
	if n == 0 || n > MaxRecordSize || n > s.size-off-frameHeaderSize {
		return 0, nil
	}
	p, err := s.read(off+frameHeaderSize, int(n))
	if err != nil {
		return 0, err
	}
	if crc32.Checksum(p, castagnoli) != want {
		return 0, nil
	}
	s.rec = p
	return frameHeaderSize + n, nil
}

// resync returns the offset of the first valid frame at or after off, or -1.
func (s *SegmentReader) resync(off int64) (int64, error) {
	for off < s.size {
		n := int(min(readWindow, s.size-off))
		b, err := s.read(off, n)
		if err != nil {
			return 0, err
		}
		// b is only valid until the next read; frameAt reads.
		for i := 0; i < n; i++ {
			if b[i] != frameMagic {
				continue
			}
			cand := off + int64(i)
			fn, err := s.frameAt(cand)
			if err != nil {
				return 0, err
			}
			if fn > 0 {
				return cand, nil
			}
			b, err = s.read(off, n)
			if err != nil {
				return 0, err
			}
		}
		off += int64(n)
	}
	return -1, nil
}

// read returns n bytes at off, which must lie within the segment. The slice
// is valid until the next read.
func (s *SegmentReader) read(off int64, n int) ([]byte, error) {
	if off >= s.winOff && off+int64(n) <= s.winOff+int64(len(s.win)) {
		i := off - s.winOff
		return s.win[i : i+int64(n)], nil
	}
	if n > readWindow {
		if cap(s.big) < n {
			s.big = make([]byte, n)
		}
		s.big = s.big[:n]
		if err := s.readFull(s.big, off); err != nil {
			return nil, err
		}
		return s.big, nil
	}
	if s.win == nil {
		s.win = make([]byte, 0, min(readWindow, s.size))
	}
	m := int(min(int64(cap(s.win)), s.size-off))
	s.win = s.win[:m]
	s.winOff = off
	if err := s.readFull(s.win, off); err != nil {
		s.win = s.win[:0]
		return nil, err
	}
	return s.win[:n], nil
}

func (s *SegmentReader) readFull(b []byte, off int64) error {
	n, err := s.r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read wal segment at %d: %w", off, err)
}
