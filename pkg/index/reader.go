package index

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// Reader answers queries over one decoded index object. It holds no
// reference to the encoded bytes, is immutable, and is safe for concurrent
// use. Strings it returns share memory with the Reader.
type Reader struct {
	symbols []string
	series  []series    // sorted by label set; a series id is its position
	names   []labelName // postings, sorted by name
	all     []uint32    // 0..len(series)-1, the postings of "every series"
	refs    []ChunkRef  // backing array of every series' refs
	pairs   int         // total number of labels over all series
	minTime int64       // smallest From, or 0 when empty
	maxTime int64       // largest Through, or 0 when empty
}

type series struct {
	lbls       labels.Labels
	fp         uint64
	maxThrough int64      // largest Through of refs
	refs       []ChunkRef // sorted by From, Through, Checksum; never empty
}

type labelName struct {
	name   string
	values []labelValue // sorted by value
}

type labelValue struct {
	value string
	ids   []uint32 // sorted series ids
}

// Decode validates an encoded index object and returns a Reader over it. Any
// defect (wrong magic or version, checksum mismatch, truncation, content
// that the writer could not have produced) returns an error wrapping
// ErrCorrupt. The Reader does not retain b.
func Decode(b []byte) (*Reader, error) {
	if len(b) < headerLen+1+footerLen {
		return nil, corruptf("object of %d bytes is too short", len(b))
	}
	if m := binary.BigEndian.Uint32(b); m != Magic {
		return nil, corruptf("bad magic %#08x", m)
	}
	if v := b[4]; v != Version {
		return nil, corruptf("unsupported version %d", v)
	}
	tocOff := binary.BigEndian.Uint64(b[len(b)-footerLen:])
	if tocOff < headerLen || tocOff > uint64(len(b)-footerLen-1) {
		return nil, corruptf("table of contents offset %d out of range", tocOff)
	}
	toc := b[tocOff : len(b)-footerLen]
	if crc32.Checksum(toc, castagnoli) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return nil, corruptf("table of contents checksum mismatch")
	}
	n := int(toc[0])
	if len(toc) != 1+n*tocEntry {
		return nil, corruptf("table of contents of %d bytes for %d sections", len(toc), n)
	}
	var secs [sectionPostings + 1][]byte
	d := decbuf{b: toc, off: 1}
	for range n {
		kind, off, length, sum := d.byte1(), d.be64(), d.be64(), d.be32()
		if off < headerLen || off > tocOff || length > tocOff-off {
			return nil, corruptf("section %d at [%d, +%d) out of range", kind, off, length)
		}
		sec := b[off : off+length]
		if crc32.Checksum(sec, castagnoli) != sum {
			return nil, corruptf("section %d checksum mismatch", kind)
		}
		if kind >= sectionSymbols && kind <= sectionPostings {
			if secs[kind] != nil {
				return nil, corruptf("section %d repeated", kind)
			}
			secs[kind] = sec
		}
	}
	for k := sectionSymbols; k <= sectionPostings; k++ {
		if secs[k] == nil {
			return nil, corruptf("section %d missing", k)
		}
	}

	r := &Reader{}
	if err := r.decodeSymbols(secs[sectionSymbols]); err != nil {
		return nil, err
	}
	pairs, err := r.decodeSeries(secs[sectionSeries])
	if err != nil {
		return nil, err
	}
	if err := r.decodePostings(secs[sectionPostings], pairs); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Reader) decodeSymbols(sec []byte) error {
	str := string(sec) // one copy; every symbol is a substring of it
	d := decbuf{b: sec}
	n := d.count(1)
	r.symbols = make([]string, n)
	for i := range n {
		l := d.uvarint()
		start := d.skip(l)
		if d.err != nil {
			return d.err
		}
		r.symbols[i] = str[start : start+int(l)]
		if i > 0 && r.symbols[i] <= r.symbols[i-1] {
			return corruptf("symbol %d is not greater than its predecessor", i)
		}
	}
	if d.err == nil && d.left() != 0 {
		return corruptf("%d trailing bytes in symbols", d.left())
	}
	return d.err
}

// seriesPairs holds the label symbol ids of every series during decoding:
// ids[start[i]:start[i+1]] are name, value, name, value, ... of series i.
type seriesPairs struct {
	ids   []uint32
	start []uint32
}

// minRefLen is the fewest bytes one chunk ref takes: from, span, checksum
// and three counts; minSeriesLen the fewest one series record takes:
// fingerprint, label count, ref count and one ref.
const (
	minRefLen    = 1 + 1 + 4 + 3
	minSeriesLen = 8 + 1 + 1 + minRefLen
)

func (r *Reader) decodeSeries(sec []byte) (seriesPairs, error) {
	d := decbuf{b: sec}
	n := d.count(minSeriesLen)
	// The totals of labels and refs let the reader allocate once; both are
	// checked against the records below.
	npairs := d.count(2)
	nrefs := d.count(minRefLen)
	if d.err != nil {
		return seriesPairs{}, d.err
	}
	if uint64(n) > math.MaxUint32 {
		return seriesPairs{}, corruptf("%d series", n)
	}
	nsyms := uint32(len(r.symbols))
	r.series = make([]series, n)
	r.refs = make([]ChunkRef, 0, nrefs)
	p := seriesPairs{ids: make([]uint32, 0, 2*npairs), start: make([]uint32, n+1)}
	b := labels.NewScratchBuilder(16)
	r.minTime, r.maxTime = math.MaxInt64, math.MinInt64

	for i := range n {
		s := &r.series[i]
		s.fp = d.be64()
		nl := d.count(2)
		if d.err != nil {
			return p, d.err
		}
		b.Reset()
		if nl > cap(p.ids)/2-len(p.ids)/2 {
			return p, corruptf("series %d: more labels than the section header says", i)
		}
		for j := range nl {
			name, value := d.uvarint32(), d.uvarint32()
			if d.err != nil {
				return p, d.err
			}
			if name >= nsyms || value >= nsyms {
				return p, corruptf("series %d: symbol out of range", i)
			}
			if r.symbols[value] == "" {
				return p, corruptf("series %d: empty label value", i)
			}
			if j > 0 && name <= p.ids[len(p.ids)-2] {
				return p, corruptf("series %d: label names not sorted and unique", i)
			}
			p.ids = append(p.ids, name, value)
			b.Add(r.symbols[name], r.symbols[value])
		}
		p.start[i+1] = uint32(len(p.ids))
		if i > 0 && slices.Compare(p.ids[p.start[i-1]:p.start[i]], p.ids[p.start[i]:]) >= 0 {
			return p, corruptf("series %d: label sets not sorted and unique", i)
		}
		s.lbls = b.Labels()
		if fp := Fingerprint(s.lbls); fp != s.fp {
			return p, corruptf("series %d: fingerprint %016x does not match labels (%016x)", i, s.fp, fp)
		}

		nr := d.count(minRefLen)
		if d.err == nil && nr == 0 {
			return p, corruptf("series %d has no chunk refs", i)
		}
		if nr > cap(r.refs)-len(r.refs) {
			return p, corruptf("series %d: more chunk refs than the section header says", i)
		}
		first := len(r.refs)
		var prev ChunkRef
		for j := range nr {
			var c ChunkRef
			if j == 0 {
				c.From = d.varint()
			} else {
				delta := d.uvarint()
				if delta > uint64(math.MaxInt64-prev.From) {
					return p, corruptf("series %d: chunk start overflows", i)
				}
				c.From = prev.From + int64(delta)
			}
			span := d.uvarint()
			if span > uint64(math.MaxInt64-c.From) {
				return p, corruptf("series %d: chunk end overflows", i)
			}
			c.Through = c.From + int64(span)
			c.Checksum = d.be32()
			c.Entries = d.uvarint32()
			c.UncompressedBytes = d.uvarint32()
			c.CompressedBytes = d.uvarint32()
			if d.err != nil {
				return p, d.err
			}
			if j > 0 && compareRefs(prev, c) >= 0 {
				return p, corruptf("series %d: chunk refs not sorted and unique", i)
			}
			if j == 0 || c.Through > s.maxThrough {
				s.maxThrough = c.Through
			}
			r.refs = append(r.refs, c)
			prev = c
		}
		s.refs = r.refs[first:len(r.refs):len(r.refs)] // r.refs never grows past its capacity
		r.minTime = min(r.minTime, s.refs[0].From)
		r.maxTime = max(r.maxTime, s.maxThrough)
	}
	if d.err == nil && d.left() != 0 {
		return p, corruptf("%d trailing bytes in series", d.left())
	}
	if d.err != nil {
		return p, d.err
	}
	if len(p.ids) != 2*npairs || len(r.refs) != nrefs {
		return p, corruptf("series section header says %d labels and %d refs, records hold %d and %d", npairs, nrefs, len(p.ids)/2, len(r.refs))
	}
	if n == 0 {
		r.minTime, r.maxTime = 0, 0
	}
	r.pairs = len(p.ids) / 2
	r.all = make([]uint32, n)
	for i := range r.all {
		r.all[i] = uint32(i)
	}
	return p, nil
}

// decodePostings reads the postings and checks that they list exactly the
// labels of the series: walking names in order consumes every series' labels
// in order, so each posting must be the next unconsumed label of its series.
func (r *Reader) decodePostings(sec []byte, p seriesPairs) error {
	d := decbuf{b: sec}
	nsyms := uint32(len(r.symbols))
	nseries := uint32(len(r.series))
	nn := d.count(4)
	if d.err != nil {
		return d.err
	}
	r.names = make([]labelName, nn)
	ids := make([]uint32, 0, r.pairs) // never grows past r.pairs: see the cursor check
	cursor := make([]uint32, nseries) // next unconsumed label of each series
	var prevName uint32
	for i := range nn {
		name := d.uvarint32()
		nv := d.count(3)
		if d.err != nil {
			return d.err
		}
		if name >= nsyms || (i > 0 && name <= prevName) {
			return corruptf("postings name %d: symbol out of range or out of order", i)
		}
		if nv == 0 {
			return corruptf("postings name %d has no values", i)
		}
		prevName = name
		ln := &r.names[i]
		ln.name = r.symbols[name]
		ln.values = make([]labelValue, nv)
		var prevValue uint32
		for j := range nv {
			value := d.uvarint32()
			nids := d.count(1)
			if d.err != nil {
				return d.err
			}
			if value >= nsyms || (j > 0 && value <= prevValue) {
				return corruptf("postings %s: value symbol out of range or out of order", ln.name)
			}
			if nids == 0 {
				return corruptf("postings %s: empty list", ln.name)
			}
			prevValue = value
			start := len(ids)
			var id uint32
			for k := range nids {
				delta := d.uvarint()
				if d.err != nil {
					return d.err
				}
				if (k > 0 && delta == 0) || delta >= uint64(nseries-id) {
					return corruptf("postings %s: series id out of range or out of order", ln.name)
				}
				id += uint32(delta)
				c := cursor[id]
				at := p.start[id] + 2*c
				if at >= p.start[id+1] || p.ids[at] != name || p.ids[at+1] != value {
					return corruptf("postings %s: series %d does not carry this label", ln.name, id)
				}
				cursor[id] = c + 1
				ids = append(ids, id)
			}
			ln.values[j] = labelValue{value: r.symbols[value], ids: ids[start:len(ids):len(ids)]}
		}
	}
	if d.err == nil && d.left() != 0 {
		return corruptf("%d trailing bytes in postings", d.left())
	}
	if d.err != nil {
		return d.err
	}
	for i, c := range cursor {
		if p.start[i]+2*c != p.start[i+1] {
			return corruptf("series %d: labels missing from postings", i)
		}
	}
	return nil
}

// Len returns the number of series in the index.
func (r *Reader) Len() int { return len(r.series) }

// Bounds returns the smallest From and the largest Through of all chunk
// refs; both are 0 for an empty index.
func (r *Reader) Bounds() (from, through int64) { return r.minTime, r.maxTime }
