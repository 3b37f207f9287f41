package index

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// FuzzDecode checks that no input makes Decode or a query on what it
// accepts panic, and that whatever it accepts re-encodes to the same content.
func FuzzDecode(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", goldenIndex)); err == nil {
		f.Add(b)
	}
	f.Add(encode(f, NewWriter()))
	f.Add(encode(f, func() *Writer {
		w := NewWriter()
		w.Add(labels.FromStrings("app", "a", "env", "prod"), ref(0, 10), ref(5, 20))
		w.Add(labels.FromStrings("app", "b"), ref(-5, 5))
		return w
	}()))
	f.Add([]byte("SKIX\x01"))

	ms := []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchRegexp, "app", ".+"),
		labels.MustNewMatcher(labels.MatchNotEqual, "env", "prod"),
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			return
		}
		for _, sel := range [][]*labels.Matcher{nil, ms} {
			_ = r.Series(sel, math.MinInt64, math.MaxInt64, func(labels.Labels, uint64, []ChunkRef) error { return nil })
			_, _ = r.LabelNames(sel, 0, 100)
			_, _ = r.LabelValues("app", sel, math.MinInt64, math.MaxInt64)
			_, _ = r.Stats(sel, -10, 10)
		}
		w, err := Merge(r)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := w.Encode()
		if err != nil {
			t.Fatalf("re-encoding an accepted object: %v", err)
		}
		r2, err := Decode(enc)
		if err != nil {
			t.Fatalf("decoding the re-encoded object: %v", err)
		}
		if !equalReaders(r, r2) {
			t.Fatalf("re-encoding changed the content")
		}
	})
}

// FuzzRoundTrip builds an index from fuzz input, checks that it decodes to
// exactly what was added, and that decoding and re-encoding is the identity
// on the bytes.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13"))
	f.Add(bytes.Repeat([]byte{0xff, 0x00, 0x7f, 0x80}, 40))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		w := NewWriter()
		want := map[string][]ChunkRef{} // labels string -> normalized refs
		lbls := map[string]labels.Labels{}
		for len(data) >= 4 {
			// One byte picks the labels, the rest the ref.
			sel := data[0]
			data = data[1:]
			b := labels.NewScratchBuilder(4)
			for i, name := range []string{"app", "env", "pod", "zone"} {
				if sel&(1<<i) != 0 {
					b.Add(name, []string{"a", "b", "ü", `"`}[(sel>>4+byte(i))%4])
				}
			}
			l := b.Labels()
			var raw [20]byte
			n := copy(raw[:], data)
			data = data[n:]
			from := int64(binary.LittleEndian.Uint64(raw[0:])) >> (raw[19] % 64)
			span := int64(binary.LittleEndian.Uint16(raw[8:]))
			if from > math.MaxInt64-span {
				from = math.MaxInt64 - span
			}
			c := ChunkRef{From: from, Through: from + span, Checksum: uint32(raw[10] % 4),
				Entries: binary.LittleEndian.Uint32(raw[11:]), UncompressedBytes: uint32(raw[15]), CompressedBytes: uint32(raw[16])}
			w.Add(l, c)
			k := l.String()
			lbls[k] = l
			if !slices.ContainsFunc(want[k], func(x ChunkRef) bool { return compareRefs(x, c) == 0 }) {
				want[k] = append(want[k], c)
			} else {
				// The writer keeps the smallest ref of an identity.
				i := slices.IndexFunc(want[k], func(x ChunkRef) bool { return compareRefs(x, c) == 0 })
				if compareRefsFull(c, want[k][i]) < 0 {
					want[k][i] = c
				}
			}
		}
		enc, err := w.Encode()
		if err != nil {
			t.Fatal(err)
		}
		r, err := Decode(enc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if r.Len() != len(want) {
			t.Fatalf("%d series, want %d", r.Len(), len(want))
		}
		for _, s := range dump(r) {
			refs := want[s.lbls]
			slices.SortFunc(refs, compareRefs)
			if !slices.Equal(s.refs, refs) || s.fp != Fingerprint(lbls[s.lbls]) {
				t.Fatalf("series %s: refs %v fp %x, want %v %x", s.lbls, s.refs, s.fp, refs, Fingerprint(lbls[s.lbls]))
			}
		}
		w2, _ := Merge(r)
		enc2, err := w2.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("decode and re-encode changed the bytes")
		}
	})
}

// FuzzDecodeSections fuzzes the section contents behind valid checksums,
// which FuzzDecode rarely gets past, so that the content checks of the
// symbol, series and postings decoders are exercised.
func FuzzDecodeSections(f *testing.F) {
	addSeed := func(b []byte) {
		secs, err := splitSections(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(secs[sectionSymbols], secs[sectionSeries], secs[sectionPostings])
	}
	if b, err := os.ReadFile(filepath.Join("testdata", goldenIndex)); err == nil {
		addSeed(b)
	}
	w := NewWriter()
	w.Add(labels.FromStrings("app", "a", "env", "prod"), ref(0, 10), ref(5, 20))
	w.Add(labels.FromStrings("app", "b"), ref(-5, 5))
	addSeed(encode(f, w))

	f.Fuzz(func(t *testing.T, syms, series, postings []byte) {
		r, err := Decode(assemble(Version,
			rawSection{sectionSymbols, syms}, rawSection{sectionSeries, series}, rawSection{sectionPostings, postings}))
		if err != nil {
			return
		}
		_ = r.Series(nil, math.MinInt64, math.MaxInt64, func(labels.Labels, uint64, []ChunkRef) error { return nil })
		_, _ = r.LabelNames(nil, 0, 100)
		w, _ := Merge(r)
		enc, err := w.Encode()
		if err != nil {
			t.Fatalf("re-encoding an accepted object: %v", err)
		}
		r2, err := Decode(enc)
		if err != nil {
			t.Fatalf("decoding the re-encoded object: %v", err)
		}
		if !equalReaders(r, r2) {
			t.Fatalf("re-encoding changed the content")
		}
	})
}

// splitSections returns the sections of a valid object by kind.
func splitSections(b []byte) (map[byte][]byte, error) {
	if _, err := Decode(b); err != nil {
		return nil, err
	}
	tocOff := binary.BigEndian.Uint64(b[len(b)-footerLen:])
	toc := b[tocOff : len(b)-footerLen]
	out := map[byte][]byte{}
	for i := 1; i+tocEntry <= len(toc); i += tocEntry {
		off := binary.BigEndian.Uint64(toc[i+1:])
		n := binary.BigEndian.Uint64(toc[i+9:])
		out[toc[i]] = b[off : off+n]
	}
	return out, nil
}
