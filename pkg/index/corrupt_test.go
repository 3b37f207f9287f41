package index

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func TestDecodeDamaged(t *testing.T) {
	good := encode(t, func() *Writer {
		w := NewWriter()
		for _, s := range randomSeries(rand.New(rand.NewPCG(3, 4)), 20) {
			w.Add(s.lbls, s.refs...)
		}
		return w
	}())
	if _, err := Decode(good); err != nil {
		t.Fatal(err)
	}
	for n := range len(good) {
		if _, err := Decode(good[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: err = %v", n, err)
		}
	}
	b := make([]byte, len(good))
	for i := range good {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			copy(b, good)
			b[i] ^= flip
			if _, err := Decode(b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("byte %d xor %#x: err = %v", i, flip, err)
			}
		}
	}
	if _, err := Decode(append(good, 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: err = %v", err)
	}
}

// rawSection is one section for assemble.
type rawSection struct {
	kind byte
	data []byte
}

// assemble builds an object around hand-made sections, with correct
// checksums, so that tests can reach the content checks.
func assemble(version byte, secs ...rawSection) []byte {
	e := encbuf{}
	e.be32(Magic)
	e.byte1(version)
	offs := make([]int, len(secs))
	for i, s := range secs {
		offs[i] = len(e.b)
		e.b = append(e.b, s.data...)
	}
	toc := len(e.b)
	e.byte1(byte(len(secs)))
	for i, s := range secs {
		e.byte1(s.kind)
		e.be64(uint64(offs[i]))
		e.be64(uint64(len(s.data)))
		e.be32(crc32.Checksum(s.data, castagnoli))
	}
	sum := crc32.Checksum(e.b[toc:], castagnoli)
	e.be64(uint64(toc))
	e.be32(sum)
	return e.b
}

func symbolsSection(syms ...string) []byte {
	e := encbuf{}
	e.uvarint(uint64(len(syms)))
	for _, s := range syms {
		e.str(s)
	}
	return e.b
}

// rawSeries is a series record: label symbol ids and refs as written.
type rawSeries struct {
	fp    uint64
	pairs []uint64
	refs  []ChunkRef
}

func seriesSection(ss ...rawSeries) []byte {
	var npairs, nrefs int
	for _, s := range ss {
		npairs += len(s.pairs) / 2
		nrefs += len(s.refs)
	}
	e := encbuf{}
	e.uvarint(uint64(len(ss)))
	e.uvarint(uint64(npairs))
	e.uvarint(uint64(nrefs))
	for _, s := range ss {
		e.be64(s.fp)
		e.uvarint(uint64(len(s.pairs) / 2))
		for _, id := range s.pairs {
			e.uvarint(id)
		}
		e.uvarint(uint64(len(s.refs)))
		for j, r := range s.refs {
			if j == 0 {
				e.varint(r.From)
			} else {
				e.uvarint(uint64(r.From - s.refs[j-1].From))
			}
			e.uvarint(uint64(r.Through - r.From))
			e.be32(r.Checksum)
			e.uvarint(uint64(r.Entries))
			e.uvarint(uint64(r.UncompressedBytes))
			e.uvarint(uint64(r.CompressedBytes))
		}
	}
	return e.b
}

// rawPostings: name id -> value id -> series ids (as written, absolute).
type rawName struct {
	name   uint64
	values []rawValue
}

type rawValue struct {
	value uint64
	ids   []uint64
}

func postingsSection(names ...rawName) []byte {
	e := encbuf{}
	e.uvarint(uint64(len(names)))
	for _, n := range names {
		e.uvarint(n.name)
		e.uvarint(uint64(len(n.values)))
		for _, v := range n.values {
			e.uvarint(v.value)
			e.uvarint(uint64(len(v.ids)))
			var prev uint64
			for _, id := range v.ids {
				e.uvarint(id - prev)
				prev = id
			}
		}
	}
	return e.b
}

// patch returns a copy of b with b[i] = x.
func patch(b []byte, i int, x byte) []byte {
	b = slices.Clone(b)
	b[i] = x
	return b
}

func TestDecodeInconsistent(t *testing.T) {
	// Symbols: 0 "", 1 "a", 2 "app", 3 "b", 4 "env".
	syms := symbolsSection("", "a", "app", "b", "env")
	fpA := Fingerprint(labels.FromStrings("app", "a"))
	fpB := Fingerprint(labels.FromStrings("app", "b"))
	fpAB := Fingerprint(labels.FromStrings("app", "a", "env", "b"))
	seriesA := rawSeries{fpA, []uint64{2, 1}, []ChunkRef{ref(0, 1)}}
	seriesB := rawSeries{fpB, []uint64{2, 3}, []ChunkRef{ref(0, 1)}}
	okSeries := seriesSection(seriesA, seriesB)
	okPostings := postingsSection(rawName{2, []rawValue{{1, []uint64{0}}, {3, []uint64{1}}}})
	valid := func(secs ...rawSection) []rawSection {
		out := []rawSection{{sectionSymbols, syms}, {sectionSeries, okSeries}, {sectionPostings, okPostings}}
		for _, s := range secs {
			for i := range out {
				if out[i].kind == s.kind {
					out[i] = s
				}
			}
		}
		return out
	}

	if _, err := Decode(assemble(Version, valid()...)); err != nil {
		t.Fatalf("the valid base case fails: %v", err)
	}
	if r, err := Decode(assemble(Version, append(valid(), rawSection{kind: 200, data: []byte("future")})...)); err != nil || r.Len() != 2 {
		t.Fatalf("an unknown section must be skipped: %v", err)
	}

	for _, tc := range []struct {
		name string
		why  string // part of the error message
		b    []byte
	}{
		{"bad magic", "bad magic", func() []byte { b := assemble(Version, valid()...); b[0] = 'X'; return b }()},
		{"future version", "unsupported version", assemble(Version+1, valid()...)},
		{"missing section", "section 3 missing", assemble(Version, valid()[:2]...)},
		{"repeated section", "section 2 repeated", assemble(Version, append(valid(), rawSection{sectionSeries, okSeries})...)},
		{"symbols unsorted", "not greater than its predecessor", assemble(Version, valid(rawSection{sectionSymbols, symbolsSection("", "app", "a", "b", "env")})...)},
		{"symbols repeated", "not greater than its predecessor", assemble(Version, valid(rawSection{sectionSymbols, symbolsSection("", "a", "a", "b", "env")})...)},
		{"symbols trailing bytes", "trailing bytes in symbols", assemble(Version, valid(rawSection{sectionSymbols, append(symbolsSection("", "a", "app", "b", "env"), 0)})...)},
		{"symbol count too large", "exceeds the remaining bytes", assemble(Version, valid(rawSection{sectionSymbols, binary.AppendUvarint(nil, math.MaxUint64)})...)},
		{"symbol out of range", "symbol out of range", assemble(Version, valid(rawSection{sectionSeries, seriesSection(rawSeries{fpA, []uint64{2, 9}, []ChunkRef{ref(0, 1)}}, seriesB)})...)},
		{"empty value", "empty label value", assemble(Version, valid(rawSection{sectionSeries, seriesSection(rawSeries{fpA, []uint64{2, 0}, []ChunkRef{ref(0, 1)}}, seriesB)})...)},
		{"label names unsorted", "label names not sorted", assemble(Version, valid(rawSection{sectionSeries, seriesSection(rawSeries{fpAB, []uint64{4, 3, 2, 1}, []ChunkRef{ref(0, 1)}}, seriesB)})...)},
		{"series unsorted", "label sets not sorted", assemble(Version, valid(rawSection{sectionSeries, seriesSection(seriesB, seriesA)})...)},
		{"series repeated", "label sets not sorted", assemble(Version, valid(rawSection{sectionSeries, seriesSection(seriesA, seriesA)})...)},
		{"fingerprint mismatch", "does not match labels", assemble(Version, valid(rawSection{sectionSeries, seriesSection(rawSeries{fpB, seriesA.pairs, seriesA.refs}, seriesB)})...)},
		{"no refs", "no chunk refs", assemble(Version, valid(rawSection{sectionSeries, seriesSection(rawSeries{fpA, seriesA.pairs, nil}, rawSeries{fpB, seriesB.pairs, []ChunkRef{ref(0, 1), ref(2, 3), ref(4, 5)}})})...)},
		{"refs repeated", "chunk refs not sorted", assemble(Version, valid(rawSection{sectionSeries, seriesSection(rawSeries{fpA, seriesA.pairs, []ChunkRef{ref(0, 1), ref(0, 1)}}, seriesB)})...)},
		{"refs unsorted", "chunk refs not sorted", assemble(Version, valid(rawSection{sectionSeries, seriesSection(rawSeries{fpA, seriesA.pairs, []ChunkRef{ref(0, 5), ref(0, 1)}}, seriesB)})...)},
		{"chunk end overflows", "chunk end overflows", assemble(Version, valid(rawSection{sectionSeries, seriesSection(rawSeries{fpA, seriesA.pairs, []ChunkRef{{From: math.MaxInt64 - 1, Through: math.MinInt64}}}, seriesB)})...)},
		{"series header too few labels", "more labels than the section header says", assemble(Version, valid(rawSection{sectionSeries, patch(okSeries, 1, 1)})...)},
		{"series header too many labels", "records hold", assemble(Version, valid(rawSection{sectionSeries, patch(okSeries, 1, 3)})...)},
		{"series header too few refs", "more chunk refs than the section header says", assemble(Version, valid(rawSection{sectionSeries, patch(okSeries, 2, 1)})...)},
		{"series trailing bytes", "trailing bytes in series", assemble(Version, valid(rawSection{sectionSeries, append(okSeries, 0)})...)},
		{"postings miss a label", "labels missing from postings", assemble(Version, valid(rawSection{sectionPostings, postingsSection(rawName{2, []rawValue{{1, []uint64{0}}}})})...)},
		{"postings add a label", "does not carry this label", assemble(Version, valid(rawSection{sectionPostings, postingsSection(rawName{2, []rawValue{{1, []uint64{0}}, {3, []uint64{1}}}}, rawName{4, []rawValue{{1, []uint64{0}}}})})...)},
		{"postings wrong value", "does not carry this label", assemble(Version, valid(rawSection{sectionPostings, postingsSection(rawName{2, []rawValue{{1, []uint64{0, 1}}}})})...)},
		{"postings id out of range", "series id out of range", assemble(Version, valid(rawSection{sectionPostings, postingsSection(rawName{2, []rawValue{{1, []uint64{0}}, {3, []uint64{1, 2}}}})})...)},
		{"postings ids repeated", "series id out of range or out of order", assemble(Version, valid(rawSection{sectionPostings, postingsSection(rawName{2, []rawValue{{1, []uint64{0, 0}}, {3, []uint64{1}}}})})...)},
		{"postings values unsorted", "value symbol out of range or out of order", assemble(Version, valid(rawSection{sectionPostings, postingsSection(rawName{2, []rawValue{{3, []uint64{1}}, {1, []uint64{0}}}})})...)},
		{"postings empty list", "empty list", assemble(Version, valid(rawSection{sectionPostings, postingsSection(rawName{2, []rawValue{{1, nil}, {3, []uint64{0}}}}, rawName{4, []rawValue{{1, []uint64{0}}}})})...)},
		{"postings name without values", "has no values", assemble(Version, valid(rawSection{sectionPostings, postingsSection(rawName{2, []rawValue{{1, []uint64{0}}, {3, []uint64{1}}}}, rawName{4, nil})})...)},
		{"postings trailing bytes", "trailing bytes in postings", assemble(Version, valid(rawSection{sectionPostings, append(okPostings, 0)})...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.b)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("err = %v, want ErrCorrupt for %q", err, tc.why)
			}
		})
	}
}
