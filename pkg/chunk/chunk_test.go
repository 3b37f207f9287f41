package chunk

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"testing"

	"github.com/skald-logs/skald/pkg/logproto"
)

func encodeEntries(tb testing.TB, cfg Config, in []entry) []byte {
	tb.Helper()
	c := NewMemChunk(cfg)
	appendAll(tb, c, in)
	b, err := c.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// readAll decodes b and iterates it fully in both directions.
func readAll(b []byte, verify bool) error {
	c, err := decode(b, verify, verify)
	if err != nil {
		return err
	}
	for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
		if _, err := drain(c.Iterator(math.MinInt64, math.MaxInt64, dir)); err != nil {
			return err
		}
	}
	return nil
}

func TestDecodeDetectsEveryByteFlip(t *testing.T) {
	b := encodeEntries(t, Config{BlockSize: 1 << 10}, sshEntries(t, 0)[:40])
	if err := readAll(b, true); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			b[i] ^= mask
			_, err := Decode(b)
			b[i] ^= mask
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("byte %d ^ %#x: Decode error = %v, want ErrCorrupt", i, mask, err)
			}
		}
	}
	for n := range len(b) {
		if _, err := Decode(b[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: Decode error = %v, want ErrCorrupt", n, err)
		}
	}
	if _, err := Decode(append(b[:len(b):len(b)], 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("one byte appended: Decode error = %v, want ErrCorrupt", err)
	}
}

// TestInconsistentIndex rewrites the index of a valid chunk with correct
// checksums but numbers that disagree with the blocks: Decode or the
// iterators must report ErrCorrupt.
func TestInconsistentIndex(t *testing.T) {
	b := encodeEntries(t, Config{BlockSize: 1 << 10}, sshEntries(t, 0)[:40])
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tamper func(m *blockMeta)
	}{
		{"one entry more", func(m *blockMeta) { m.entries++ }},
		{"one entry less", func(m *blockMeta) { m.entries-- }},
		{"maxt later", func(m *blockMeta) { m.maxt++ }},
		{"maxt earlier", func(m *blockMeta) { m.maxt-- }},
		{"mint earlier", func(m *blockMeta) { m.mint-- }},
		{"line bytes", func(m *blockMeta) { m.lineBytes-- }},
		{"payload longer", func(m *blockMeta) { m.payloadLen++ }},
		{"payload shorter", func(m *blockMeta) { m.payloadLen-- }},
		{"payload huge", func(m *blockMeta) { m.payloadLen = maxPayloadLen + 1 }},
		{"no entries", func(m *blockMeta) { m.entries = 0 }},
		{"checksum", func(m *blockMeta) { m.crc++ }},
	}
	for _, tc := range tests {
		for blk := range c.Blocks() {
			blocks := make([]*block, c.Blocks())
			for i, m := range c.blocks {
				blocks[i] = &block{meta: m, data: b[m.offset : m.offset+m.length]}
			}
			tc.tamper(&blocks[blk].meta)
			bad := assemble(EncodingSnappy, blocks)
			if err := readAll(bad, true); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s in block %d: error = %v, want ErrCorrupt", tc.name, blk, err)
			}
		}
	}
}

func TestEmptyChunk(t *testing.T) {
	b := encodeEntries(t, Config{}, nil)
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 0 || c.Blocks() != 0 || c.Size() != 0 {
		t.Errorf("empty chunk: Len %d, Blocks %d, Size %d", c.Len(), c.Blocks(), c.Size())
	}
	if got, err := drain(c.Iterator(math.MinInt64, math.MaxInt64, logproto.Forward)); err != nil || len(got) != 0 {
		t.Errorf("empty chunk iterates %d entries, err %v", len(got), err)
	}
}

func TestChecksum(t *testing.T) {
	in := sshEntries(t, 0)[:100]
	a, _ := Decode(encodeEntries(t, Config{}, in))
	b, _ := Decode(encodeEntries(t, Config{}, in[:99]))
	if a.Checksum() == b.Checksum() {
		t.Errorf("different chunks have the same checksum %#x", a.Checksum())
	}
	in[0].Line = "changed"
	c, _ := Decode(encodeEntries(t, Config{}, in))
	if a.Checksum() == c.Checksum() {
		t.Errorf("a changed line keeps the checksum %#x", a.Checksum())
	}
}

// TestLayout pins the documented byte layout (docs/format/chunk.md).
func TestLayout(t *testing.T) {
	var pb payloadBuilder
	pb.reset()
	pb.add(1_000_000_000, []byte("GET /"), level("info"))
	pb.add(1_002_000_000, []byte("GET /x"), level("info"))
	want := "\x00\x80\x89\x7a" + // flags, timestamp unit 2,000,000 ns
		"\x02\x0edetected_level\x04info" + // 2 symbols
		"\x01\x01\x00\x01" + // 1 metadata set: 1 pair, symbol 0 = symbol 1
		"\x00\x01" + // timestamps: mint + 0, + 1 unit
		"\x01\x01" + // metadata sets
		"GET /\nGET /x\n"
	if got := string(pb.finish()); got != want {
		t.Errorf("payload %q, want %q", got, want)
	}
	// A line with a newline adds the column of line lengths and flag 1.
	pb.reset()
	pb.add(5, []byte("a\nb"), nil)
	pb.add(5, []byte(""), nil)
	want = "\x01\x01\x00\x00" + "\x00\x00" + "\x00\x00" + "\x03\x00" + "a\nb\n\n"
	if got := string(pb.finish()); got != want {
		t.Errorf("payload %q, want %q", got, want)
	}

	b := encodeEntries(t, Config{}, []entry{{TS: 1000, Line: "GET /", SM: level("info")}})
	if got := string(b[:6]); got != "\xd5SKC\x02\x01" {
		t.Errorf("header %q", got)
	}
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	m := c.blocks[0]
	idx := b[6+m.length : len(b)-8]
	// 1 block; mint 1000 (zig-zag varint 2000); maxt−mint 0; 1 entry;
	// 5 line bytes; payload and compressed lengths; CRC; no extensions.
	payloadLen := len("\x00\x01\x02\x0edetected_level\x04info\x01\x01\x00\x01\x00\x01GET /\n")
	wantIdx := []byte{1, 0xd0, 0x0f, 0, 1, 5, byte(payloadLen), byte(m.length)}
	wantIdx = binary.BigEndian.AppendUint32(wantIdx, crc32.Checksum(b[6:6+m.length], castagnoli))
	wantIdx = append(wantIdx, 0, 0)
	if string(idx) != string(wantIdx) {
		t.Errorf("index % x, want % x", idx, wantIdx)
	}
	trailer := binary.BigEndian.AppendUint32(nil, uint32(len(idx)))
	trailer = binary.BigEndian.AppendUint32(trailer, crc32.Update(crc32.Checksum(b[:6], castagnoli), castagnoli, idx))
	if got := b[len(b)-8:]; string(got) != string(trailer) {
		t.Errorf("trailer % x, want % x", got, trailer)
	}
}
