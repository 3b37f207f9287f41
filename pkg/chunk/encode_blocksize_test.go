package chunk

import (
	"bytes"
	"testing"
)

// TestEncodeBlockSize checks that a chunk kept in small blocks in memory
// encodes exactly as one kept in blocks of the encode size: the bytes depend
// on the entries only, and small in-memory blocks cost nothing on disk.
func TestEncodeBlockSize(t *testing.T) {
	lines := readLines(t, "testdata/loghub/OpenSSH_2k.log")
	small := NewMemChunk(Config{BlockSize: 16 << 10, EncodeBlockSize: 64 << 10, Encoding: EncodingSnappy})
	large := NewMemChunk(Config{BlockSize: 64 << 10, Encoding: EncodingSnappy})
	for i, l := range lines {
		ts := int64(1_000_000 + i*1000)
		if _, err := small.Append(ts, l, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := large.Append(ts, l, nil); err != nil {
			t.Fatal(err)
		}
	}
	if small.Blocks() <= large.Blocks() {
		t.Fatalf("setup: %d small blocks, %d large ones", small.Blocks(), large.Blocks())
	}
	a, err := small.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := large.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("encoded %d bytes from small blocks, %d from large ones: not identical", len(a), len(b))
	}
	c, err := Decode(a)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != len(lines) {
		t.Fatalf("decoded %d entries, want %d", c.Len(), len(lines))
	}
}
