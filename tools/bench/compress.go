package main

import (
	"encoding/binary"
	"fmt"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/skald-logs/skald/tools/loadgen/loadgen"
)

// baselineBlockSize is the block the baselines compress: the chunk format's
// default uncompressed block size.
const baselineBlockSize = 256 << 10

// Baseline is what a general-purpose codec gives on the raw lines.
type Baseline struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

// codec compresses one block, appending to dst.
type codec struct {
	name     string
	compress func(dst, src []byte) []byte
}

func baselineCodecs() ([]codec, func(), error) {
	zfast, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, nil, err
	}
	zdef, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, nil, err
	}
	codecs := []codec{
		{"snappy", func(dst, src []byte) []byte { return snappy.Encode(dst[:cap(dst)], src) }},
		{"s2", func(dst, src []byte) []byte { return s2.Encode(dst[:cap(dst)], src) }},
		{"s2 better", func(dst, src []byte) []byte { return s2.EncodeBetter(dst[:cap(dst)], src) }},
		{"zstd fastest", func(dst, src []byte) []byte { return zfast.EncodeAll(src, dst[:0]) }},
		{"zstd default", func(dst, src []byte) []byte { return zdef.EncodeAll(src, dst[:0]) }},
	}
	return codecs, func() { zfast.Close(); zdef.Close() }, nil
}

// framedBaseline names the baseline that lays entries out as a chunk block
// payload does (uvarint timestamp delta, uvarint length, line) before
// compressing with snappy: it tells the cost of the timestamps apart from
// the cost of the chunk container.
const framedBaseline = "snappy, ts+len+line"

// rawStats regenerates every line of w and returns the raw line bytes of
// each stream and what each baseline codec makes of them: each stream's
// lines, newline-separated, cut into blocks of baselineBlockSize as a chunk
// cuts its blocks, each block compressed on its own. The last baseline is
// framedBaseline.
func rawStats(w *loadgen.Workload) (perStream []int64, baselines []Baseline, err error) {
	codecs, closeCodecs, err := baselineCodecs()
	if err != nil {
		return nil, nil, fmt.Errorf("baseline codecs: %w", err)
	}
	defer closeCodecs()
	baselines = make([]Baseline, len(codecs)+1)
	for i, c := range codecs {
		baselines[i].Name = c.name
	}
	framedIdx := len(codecs)
	baselines[framedIdx].Name = framedBaseline
	block := make([]byte, 0, baselineBlockSize+64<<10)
	framed := make([]byte, 0, baselineBlockSize+64<<10)
	out := make([]byte, 0, snappy.MaxEncodedLen(cap(block)))
	var prevTS int64
	flush := func() {
		if len(block) == 0 {
			return
		}
		for i, c := range codecs {
			out = c.compress(out[:0], block)
			baselines[i].Bytes += int64(len(out))
		}
		out = snappy.Encode(out[:cap(out)], framed)
		baselines[framedIdx].Bytes += int64(len(out))
		block, framed = block[:0], framed[:0]
	}
	perStream = make([]int64, len(w.Streams()))
	var line []byte
	for s := range w.Streams() {
		cur := w.Cursor(s)
		for {
			var ts int64
			var ok bool
			line, ts, ok = cur.Next(line[:0])
			if !ok {
				break
			}
			perStream[s] += int64(len(line))
			block = append(block, line...)
			block = append(block, '\n')
			if len(framed) == 0 {
				prevTS = ts
			}
			framed = binary.AppendUvarint(framed, uint64(ts-prevTS))
			framed = binary.AppendUvarint(framed, uint64(len(line)))
			framed = append(framed, line...)
			prevTS = ts
			if len(block) >= baselineBlockSize {
				flush()
			}
		}
		flush()
	}
	return perStream, baselines, nil
}
