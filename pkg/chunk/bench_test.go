package chunk

import (
	"bytes"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/skald-logs/skald/pkg/logproto"
)

// benchInput returns n entries made of the real sample lines, repeated with
// timestamps moving on: ordered ssh lines, or apache lines with their own
// out-of-order timestamps shifted by a day per repetition.
func benchInput(tb testing.TB, kind string, n int) []entry {
	var base []entry
	var period int64
	switch kind {
	case "ssh":
		base = sshEntries(tb, 0)
		period = int64(len(base)) * int64(time.Millisecond)
	case "apache":
		base = apacheEntries(tb)
		period = int64(24 * time.Hour)
	}
	out := make([]entry, n)
	for i := range out {
		e := base[i%len(base)]
		e.TS += int64(i/len(base)) * period
		out[i] = e
	}
	return out
}

func lineBytes(in []entry) int {
	n := 0
	for _, e := range in {
		n += len(e.Line)
	}
	return n
}

func BenchmarkAppend(b *testing.B) {
	for _, kind := range []string{"ssh", "apache"} {
		b.Run(kind, func(b *testing.B) {
			in := benchInput(b, kind, 200_000)
			b.SetBytes(int64(lineBytes(in) / len(in)))
			b.ReportAllocs()
			c := NewMemChunk(Config{})
			b.ResetTimer()
			for i := range b.N {
				e := &in[i%len(in)]
				if i%len(in) == 0 || !c.SpaceFor(len(e.Line)) {
					c = NewMemChunk(Config{})
				}
				if _, err := c.Append(e.TS, e.Line, e.SM); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fullChunk fills a chunk with the default config up to its target size.
func fullChunk(tb testing.TB, kind string, enc Encoding) *MemChunk {
	in := benchInput(tb, kind, 400_000)
	c := NewMemChunk(Config{Encoding: enc})
	for _, e := range in {
		if !c.SpaceFor(len(e.Line)) {
			return c
		}
		if _, err := c.Append(e.TS, e.Line, e.SM); err != nil {
			tb.Fatal(err)
		}
	}
	return c
}

func BenchmarkEncode(b *testing.B) {
	// ssh arrives in order, so Encode copies the cut blocks; apache arrives
	// out of order across block cuts, so Encode re-cuts and recompresses.
	for _, kind := range []string{"ssh", "apache"} {
		b.Run(kind, func(b *testing.B) {
			c := fullChunk(b, kind, EncodingSnappy)
			b.SetBytes(int64(c.Size()))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Encode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeIterate(b *testing.B) {
	for _, kind := range []string{"ssh", "apache"} {
		for _, enc := range []Encoding{EncodingSnappy, EncodingS2, EncodingZstd} {
			c := fullChunk(b, kind, enc)
			data, err := c.Encode()
			if err != nil {
				b.Fatal(err)
			}
			for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
				b.Run(fmt.Sprintf("%s/%v/%v", kind, enc, dir), func(b *testing.B) {
					b.SetBytes(int64(c.Size()))
					b.ReportAllocs()
					b.ReportMetric(float64(len(data)), "chunk-bytes")
					for range b.N {
						d, err := Decode(data)
						if err != nil {
							b.Fatal(err)
						}
						it := d.Iterator(math.MinInt64, math.MaxInt64, dir)
						n := 0
						for it.Next() {
							n++
						}
						if it.Err() != nil || n != c.Len() {
							b.Fatalf("iterated %d of %d: %v", n, c.Len(), it.Err())
						}
						it.Close()
					}
				})
			}
		}
	}
}

// BenchmarkScanLiteral is the query hot path: decode a flushed chunk and
// keep the lines containing a literal.
func BenchmarkScanLiteral(b *testing.B) {
	needle := []byte("Failed password for root")
	for _, enc := range []Encoding{EncodingSnappy, EncodingS2} {
		c := fullChunk(b, "ssh", enc)
		data, err := c.Encode()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(enc.String(), func(b *testing.B) {
			b.SetBytes(int64(c.Size()))
			b.ReportAllocs()
			for range b.N {
				d, err := Decode(data)
				if err != nil {
					b.Fatal(err)
				}
				it := d.Iterator(math.MinInt64, math.MaxInt64, logproto.Forward)
				hits := 0
				for it.Next() {
					if _, line, _ := it.At(); bytes.Contains(line, needle) {
						hits++
					}
				}
				if hits == 0 {
					b.Fatal("no hits")
				}
				it.Close()
			}
		})
	}
}

func BenchmarkMemChunkIterate(b *testing.B) {
	for _, kind := range []string{"ssh", "apache"} {
		b.Run(kind, func(b *testing.B) {
			c := fullChunk(b, kind, EncodingSnappy)
			b.SetBytes(int64(c.Size()))
			b.ReportAllocs()
			for range b.N {
				it := c.Iterator(math.MinInt64, math.MaxInt64, logproto.Backward)
				for it.Next() {
				}
				if it.Err() != nil {
					b.Fatal(it.Err())
				}
				it.Close()
			}
		})
	}
}

// BenchmarkScanNeedle is the needle query's hot path: a literal that is in
// no line, pushed down, over a full chunk; every block is decompressed and
// searched once.
func BenchmarkScanNeedle(b *testing.B) {
	for _, kind := range []string{"ssh", "apache"} {
		for _, enc := range []Encoding{EncodingSnappy, EncodingS2, EncodingZstd} {
			c := fullChunk(b, kind, enc)
			data, err := c.Encode()
			if err != nil {
				b.Fatal(err)
			}
			d, err := Decode(data)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/%v", kind, enc), func(b *testing.B) {
				b.SetBytes(int64(c.Size()))
				b.ReportAllocs()
				o := IterOptions{From: math.MinInt64, Through: math.MaxInt64, Direction: logproto.Backward, Contains: []string{"06bd90033817c715"}}
				for range b.N {
					it := d.Iterate(o)
					for it.Next() {
						b.Fatal("found")
					}
					if it.Err() != nil {
						b.Fatal(it.Err())
					}
				}
			})
		}
	}
}
