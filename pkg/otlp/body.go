package otlp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Errors of the body decoding. Every error ParseContentType, CheckEncoding,
// Decompress and Decode return wraps exactly one of them; its text is the
// message alone (Loki's wording where Loki has one), without the sentinel's.
var (
	// ErrUnsupportedContentType: the Content-Type is neither protobuf nor
	// JSON.
	ErrUnsupportedContentType = errors.New("unsupported content type")
	// ErrUnsupportedEncoding: the Content-Encoding is not one of none, gzip,
	// zstd and lz4.
	ErrUnsupportedEncoding = errors.New("unsupported content encoding")
	// ErrTooLarge: the decompressed body is over the limit.
	ErrTooLarge = errors.New("decompressed message size too large")
	// ErrMalformed: the body cannot be decompressed or decoded.
	ErrMalformed = errors.New("malformed otlp request")
)

// Format is the encoding of an export request.
type Format uint8

// The formats of OTLP/HTTP.
const (
	Protobuf Format = iota + 1 // application/x-protobuf
	JSON                       // application/json
)

// String returns the media type of the format.
func (f Format) String() string {
	switch f {
	case Protobuf:
		return "application/x-protobuf"
	case JSON:
		return "application/json"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// ParseContentType returns the format a Content-Type header names. Loki
// compares the header with the two media types exactly; parameters such as
// "; charset=utf-8" are accepted here as well.
func ParseContentType(contentType string) (Format, error) {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err == nil {
		switch mediaType {
		case "application/x-protobuf":
			return Protobuf, nil
		case "application/json":
			return JSON, nil
		}
	}
	return 0, errorf(ErrUnsupportedContentType, "content type: %s is not supported", contentType)
}

// Content-Encoding values.
const (
	encodingGzip = "gzip"
	encodingZstd = "zstd"
	encodingLZ4  = "lz4"
)

// CheckEncoding reports whether Decompress undoes encoding, so that a body
// can be refused before it is read.
func CheckEncoding(encoding string) error {
	switch encoding {
	case "", encodingGzip, encodingZstd, encodingLZ4:
		return nil
	}
	return errorf(ErrUnsupportedEncoding, "unsupported content encoding %s: only gzip, lz4 and zstd are supported", encoding)
}

// Decompress undoes the Content-Encoding of body and appends the result to
// dst, which it returns. An empty encoding returns body itself (dst is then
// untouched). More than limit decompressed bytes is ErrTooLarge; a body
// that does not decompress is ErrMalformed.
func Decompress(dst []byte, encoding string, body []byte, limit int64) ([]byte, error) {
	if err := CheckEncoding(encoding); err != nil {
		return dst, err
	}
	if encoding == "" {
		if int64(len(body)) > limit {
			return dst, tooLarge(int64(len(body)), limit)
		}
		return body, nil
	}
	src := bytes.NewReader(body)
	switch encoding {
	case encodingGzip:
		zr := gzipPool.Get().(*gzip.Reader)
		defer gzipPool.Put(zr)
		if err := zr.Reset(src); err != nil {
			return dst, errorf(ErrMalformed, "%v", err)
		}
		return readLimited(dst, zr, limit)
	case encodingZstd:
		zr, err := getZstd(src)
		if err != nil {
			return dst, errorf(ErrMalformed, "%v", err)
		}
		defer putZstd(zr)
		return readLimited(dst, zr, limit)
	default: // lz4
		zr := lz4Pool.Get().(*lz4.Reader)
		zr.Reset(src)
		defer func() {
			zr.Reset(nil)
			lz4Pool.Put(zr)
		}()
		return readLimited(dst, zr, limit)
	}
}

// readLimited appends all of r to dst, failing past limit bytes.
func readLimited(dst []byte, r io.Reader, limit int64) ([]byte, error) {
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, max(4096, min(len(dst)-start, 1<<20)))
		}
		room := dst[len(dst):cap(dst)]
		if rem := limit + 1 - int64(len(dst)-start); int64(len(room)) > rem {
			room = room[:rem] // at most one byte past the limit
		}
		n, err := r.Read(room)
		dst = dst[:len(dst)+n]
		if size := int64(len(dst) - start); size > limit {
			return dst, tooLarge(size, limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, errorf(ErrMalformed, "%v", err)
		}
	}
}

// bodyError is an error of one of the sentinel kinds with its own text.
type bodyError struct {
	kind error
	msg  string
}

func (e *bodyError) Error() string { return e.msg }
func (e *bodyError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &bodyError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func tooLarge(size, limit int64) error {
	return errorf(ErrTooLarge, "%v than max (%d vs %d)", ErrTooLarge, size, limit)
}

var (
	gzipPool = sync.Pool{New: func() any { return new(gzip.Reader) }}
	lz4Pool  = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
	zstdPool sync.Pool
)

// getZstd returns a pooled zstd decoder reading src. A decoder is costly to
// build (several MB of buffers), so they are reused; concurrency 1 decodes
// on the calling goroutine, holding no goroutine while pooled.
func getZstd(src io.Reader) (*zstd.Decoder, error) {
	if d, ok := zstdPool.Get().(*zstd.Decoder); ok {
		if err := d.Reset(src); err != nil {
			putZstd(d)
			return nil, err
		}
		return d, nil
	}
	return zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
}

// putZstd drops the decoder's reference to its input and pools it.
func putZstd(d *zstd.Decoder) {
	_ = d.Reset(nil)
	zstdPool.Put(d)
}
