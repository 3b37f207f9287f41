package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/skald-logs/skald/tools/loadgen/loadgen"
)

// benchBlock is one 256 KiB block of a stream of the benchmark workload
// (newline-separated lines), and its lines.
func benchBlock(b *testing.B) ([]byte, [][]byte) {
	b.Helper()
	w, err := loadgen.NewWorkload(loadgen.WorkloadConfig{Streams: 3, Lines: 30000, LineSize: 190, Span: time.Hour, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var block []byte
	var lines [][]byte
	for s := range 3 { // one block of each kind of line, back to back
		c := w.Cursor(s)
		start := len(block)
		for len(block)-start < baselineBlockSize/3 {
			line, _, _ := c.Next(nil)
			block = append(block, line...)
			block = append(block, '\n')
			lines = append(lines, line)
		}
	}
	return block, lines
}

// BenchmarkBlockDecode measures decompressing one block of the workload's
// lines with each codec: the floor under a scan of flushed chunks.
func BenchmarkBlockDecode(b *testing.B) {
	block, _ := benchBlock(b)
	zenc, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	zdec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	defer zdec.Close()
	snappyData := snappy.Encode(nil, block)
	for _, tc := range []struct {
		name   string
		data   []byte
		decode func(dst, src []byte) ([]byte, error)
	}{
		{"snappy", snappyData, snappy.Decode},
		// S2 decodes snappy blocks too.
		{"snappy by s2.Decode", snappyData, s2.Decode},
		{"s2", s2.Encode(nil, block), s2.Decode},
		{"zstd", zenc.EncodeAll(block, nil), func(dst, src []byte) ([]byte, error) { return zdec.DecodeAll(src, dst[:0]) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dst := make([]byte, len(block))
			b.ReportAllocs()
			b.SetBytes(int64(len(block)))
			for b.Loop() {
				out, err := tc.decode(dst, tc.data)
				if err != nil || len(out) != len(block) {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNeedleSearch compares a literal filter applied line by line with
// one search over the whole decompressed block (what grep does).
func BenchmarkNeedleSearch(b *testing.B) {
	block, lines := benchBlock(b)
	needle := []byte("06bd90033817c715") // not in the block: a full scan
	b.Run("per line", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(block)))
		for b.Loop() {
			for _, l := range lines {
				if bytes.Contains(l, needle) {
					b.Fatal("found")
				}
			}
		}
	})
	b.Run("whole block", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(block)))
		for b.Loop() {
			if bytes.Contains(block, needle) {
				b.Fatal("found")
			}
		}
	})
}
