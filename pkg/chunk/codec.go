package chunk

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Encoding names the compression of a chunk's blocks. It is stored in the
// chunk header; values are never reused.
type Encoding uint8

// Encodings. The zero value means "default" in a Config and is invalid in a
// chunk.
const (
	// EncodingSnappy is the snappy block format. Blocks are written by the
	// snappy-compatible encoder of github.com/klauspost/compress/s2, which
	// finds matches across the whole block, and read by any snappy decoder.
	EncodingSnappy Encoding = 1
	// EncodingS2 is the S2 block format (github.com/klauspost/compress/s2),
	// a faster snappy extension with a better ratio.
	EncodingS2 Encoding = 2
	// EncodingZstd is one zstd frame per block (github.com/klauspost/compress/zstd,
	// default level, no frame checksum).
	EncodingZstd Encoding = 3
)

var encodingNames = map[Encoding]string{
	EncodingSnappy: "snappy",
	EncodingS2:     "s2",
	EncodingZstd:   "zstd",
}

// String returns the encoding's config name.
func (e Encoding) String() string {
	if n, ok := encodingNames[e]; ok {
		return n
	}
	return fmt.Sprintf("encoding(%d)", uint8(e))
}

// ParseEncoding reads an encoding name ("snappy", "s2", "zstd") in any case.
func ParseEncoding(s string) (Encoding, error) {
	for e, n := range encodingNames {
		if strings.EqualFold(s, n) {
			return e, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown encoding %q", ErrInvalidConfig, s)
}

// MarshalText implements encoding.TextMarshaler (YAML and flags).
func (e Encoding) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (YAML and flags).
func (e *Encoding) UnmarshalText(b []byte) error {
	v, err := ParseEncoding(string(b))
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// codec compresses and decompresses block payloads. Implementations are
// stateless or safe for concurrent use, and deterministic: the same input
// gives the same output within one build.
type codec interface {
	// encode returns the compressed form of src, reusing dst's memory.
	encode(dst, src []byte) []byte
	// decode decompresses src into dst, whose length is the exact expected
	// length. It returns an error if src is invalid or has another length.
	decode(dst, src []byte) error
	// maxDecodedLen bounds the decompressed length of n compressed bytes.
	maxDecodedLen(n int) int
	// decodedLen reads the decompressed length from the compressed
	// block's header, without decompressing it.
	decodedLen(src []byte) (int, error)
}

func codecFor(e Encoding) codec {
	switch e {
	case EncodingSnappy:
		return snappyCodec{}
	case EncodingS2:
		return s2Codec{}
	case EncodingZstd:
		return zstdCodec{}
	}
	return nil
}

var errLength = errors.New("decompressed length mismatch")

type snappyCodec struct{}

func (snappyCodec) encode(dst, src []byte) []byte {
	return s2.EncodeSnappy(dst[:cap(dst)], src)
}

func (snappyCodec) decode(dst, src []byte) error {
	n, err := snappy.DecodedLen(src)
	if err != nil {
		return err
	}
	if n != len(dst) {
		return errLength
	}
	out, err := snappy.Decode(dst, src)
	if err != nil {
		return err
	}
	if len(out) != len(dst) {
		return errLength
	}
	return nil
}

func (snappyCodec) decodedLen(src []byte) (int, error) { return snappy.DecodedLen(src) }

// A snappy copy element of 3 bytes expands to at most 64 bytes.
func (snappyCodec) maxDecodedLen(n int) int { return 22*n + 16 }

type s2Codec struct{}

func (s2Codec) encode(dst, src []byte) []byte {
	return s2.Encode(dst[:cap(dst)], src)
}

func (s2Codec) decode(dst, src []byte) error {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return err
	}
	if n != len(dst) {
		return errLength
	}
	out, err := s2.Decode(dst, src)
	if err != nil {
		return err
	}
	if len(out) != len(dst) {
		return errLength
	}
	return nil
}

func (s2Codec) maxDecodedLen(int) int { return maxPayloadLen }

func (s2Codec) decodedLen(src []byte) (int, error) { return s2.DecodedLen(src) }

// The zstd encoder and decoder are expensive to build and safe for
// concurrent EncodeAll/DecodeAll, so one of each is built on first use and
// shared by every chunk in the process.
var (
	zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderCRC(false),
			zstd.WithZeroFrames(true),
			zstd.WithSingleSegment(true))
		if err != nil {
			panic(fmt.Sprintf("chunk: zstd encoder options: %v", err)) // static options: a programming error
		}
		return e
	})
	zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(0),
			zstd.WithDecoderMaxMemory(maxPayloadLen),
			zstd.WithDecodeAllCapLimit(true))
		if err != nil {
			panic(fmt.Sprintf("chunk: zstd decoder options: %v", err)) // static options: a programming error
		}
		return d
	})
)

type zstdCodec struct{}

func (zstdCodec) encode(dst, src []byte) []byte {
	return zstdEncoder().EncodeAll(src, dst[:0])
}

func (zstdCodec) decode(dst, src []byte) error {
	out, err := zstdDecoder().DecodeAll(src, dst[:0:len(dst)])
	if err != nil {
		return err
	}
	if len(out) != len(dst) {
		return errLength
	}
	return nil
}

func (zstdCodec) maxDecodedLen(int) int { return maxPayloadLen }

// decodedLen reads the frame content size, which the encoder always writes.
func (zstdCodec) decodedLen(src []byte) (int, error) {
	var h zstd.Header
	if err := h.Decode(src); err != nil {
		return 0, err
	}
	if !h.HasFCS || h.FrameContentSize > maxPayloadLen {
		return 0, errLength
	}
	return int(h.FrameContentSize), nil
}
