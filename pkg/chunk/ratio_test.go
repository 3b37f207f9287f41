package chunk

import (
	"testing"

	"github.com/golang/snappy"
)

// TestRatio checks the format's promise on real lines: chunks take no more
// bytes than snappy alone on the same lines, newline-separated, in blocks
// of the same size. It logs what each encoding gives.
func TestRatio(t *testing.T) {
	for _, kind := range []string{"ssh", "apache"} {
		in := benchInput(t, kind, 40_000)
		raw, alone := 0, 0
		var block []byte
		for i, e := range in {
			raw += len(e.Line)
			block = append(append(block, e.Line...), '\n')
			if len(block) >= DefaultBlockSize || i == len(in)-1 {
				alone += len(snappy.Encode(nil, block))
				block = block[:0]
			}
		}
		for _, enc := range []Encoding{EncodingSnappy, EncodingS2, EncodingZstd} {
			encoded := 0
			c := NewMemChunk(Config{Encoding: enc})
			for i, e := range in {
				if _, err := c.Append(e.TS, e.Line, e.SM); err != nil {
					t.Fatal(err)
				}
				if c.IsFull() || i == len(in)-1 {
					data, err := c.Encode()
					if err != nil {
						t.Fatal(err)
					}
					encoded += len(data)
					c = NewMemChunk(Config{Encoding: enc})
				}
			}
			ratio, snappyRatio := float64(encoded)/float64(raw), float64(alone)/float64(raw)
			t.Logf("%s %v: %.4f bytes per raw byte; snappy alone %.4f", kind, enc, ratio, snappyRatio)
			if enc == EncodingSnappy && ratio > snappyRatio {
				t.Errorf("%s: chunks take %.4f bytes per raw byte, snappy alone %.4f", kind, ratio, snappyRatio)
			}
		}
	}
}
