package otlp

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

func TestParseContentType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
	}{
		{"application/x-protobuf", Protobuf},
		{"application/json", JSON},
		{"application/json; charset=utf-8", JSON},
		{"Application/JSON", JSON},
		{"", 0},
		{"text/plain", 0},
		{"application/protobuf", 0},
		{"application/x-protobuf; charset", 0}, // malformed parameter
	} {
		got, err := ParseContentType(tc.in)
		if got != tc.want {
			t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
		}
		if (tc.want == 0) != errors.Is(err, ErrUnsupportedContentType) {
			t.Errorf("%q: error %v", tc.in, err)
		}
		if err != nil && err.Error() != "content type: "+tc.in+" is not supported" {
			t.Errorf("%q: message %q", tc.in, err)
		}
	}
}

// compress encodes b with a Content-Encoding as the OpenTelemetry Collector
// does.
func compress(t testing.TB, encoding string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch encoding {
	case "":
		return b
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zstd":
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	case "lz4":
		w = lz4.NewWriter(&buf)
	default:
		t.Fatalf("no encoder for %q", encoding)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecompress(t *testing.T) {
	plain := []byte(strings.Repeat("a log line that compresses well\n", 1000))
	for _, enc := range []string{"", "gzip", "zstd", "lz4"} {
		t.Run("encoding="+enc, func(t *testing.T) {
			body := compress(t, enc, plain)
			// Twice, so that the second call uses a pooled reader.
			for range 2 {
				got, err := Decompress([]byte("keep:"), enc, body, int64(len(plain)))
				if err != nil {
					t.Fatal(err)
				}
				if enc != "" {
					if !bytes.HasPrefix(got, []byte("keep:")) {
						t.Fatalf("dst not kept: %.10q", got)
					}
					got = got[len("keep:"):]
				}
				if !bytes.Equal(got, plain) {
					t.Fatalf("got %d bytes, want %d", len(got), len(plain))
				}
			}

			_, err := Decompress(nil, enc, body, int64(len(plain))-1)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("over the limit: %v", err)
			}
			want := "decompressed message size too large than max ("
			if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), " vs 31999)") {
				t.Errorf("message %q", err)
			}

			if enc != "" {
				_, err = Decompress(nil, enc, body[:len(body)/2], int64(len(plain)))
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("truncated: %v", err)
				}
				_, err = Decompress(nil, enc, []byte("not compressed at all"), 1<<20)
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("garbage: %v", err)
				}
			}
		})
	}
}

func TestDecompressUnsupported(t *testing.T) {
	for _, enc := range []string{"snappy", "deflate", "br", "GZIP", "gzip, zstd"} {
		_, err := Decompress(nil, enc, []byte("x"), 100)
		if !errors.Is(err, ErrUnsupportedEncoding) || CheckEncoding(enc) == nil {
			t.Errorf("%q: %v", enc, err)
		}
		if want := "unsupported content encoding " + enc + ": only gzip, lz4 and zstd are supported"; err.Error() != want {
			t.Errorf("%q: message %q", enc, err)
		}
	}
}

func FuzzDecompress(f *testing.F) {
	for i, enc := range []string{"gzip", "zstd", "lz4"} {
		f.Add(uint8(i), compress(f, enc, []byte("hello hello hello hello")))
		f.Add(uint8(i), []byte{})
	}
	encodings := []string{"gzip", "zstd", "lz4"}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		const limit = 1 << 16
		enc := encodings[int(which)%len(encodings)]
		out, err := Decompress(nil, enc, body, limit)
		switch {
		case err == nil && len(out) > limit:
			t.Fatalf("%d bytes out, limit %d", len(out), limit)
		case err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge):
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}
