package index

import (
	"fmt"
	"hash/crc32"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// Writer collects series and their chunk refs and encodes them as one index
// object. The zero value is not usable; call NewWriter. A Writer is not safe
// for concurrent use.
type Writer struct {
	series map[uint64]*wseries // by fingerprint; collisions chain through next
	n      int
}

type wseries struct {
	lbls labels.Labels
	fp   uint64
	refs []ChunkRef
	next *wseries
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{series: make(map[uint64]*wseries)}
}

// Add records refs for the series lbls, which must be sorted (as every
// labels.Labels constructor makes them). Labels with an empty value are
// dropped first: under the matching semantics they are the same as absent
// ones. A series may be added any number of times; its refs accumulate and
// are sorted and de-duplicated by Encode. The refs are copied.
func (w *Writer) Add(lbls labels.Labels, refs ...ChunkRef) {
	lbls = lbls.WithoutEmpty()
	w.add(lbls, Fingerprint(lbls), refs)
}

func (w *Writer) add(lbls labels.Labels, fp uint64, refs []ChunkRef) {
	head := w.series[fp]
	for s := head; s != nil; s = s.next {
		if labels.Equal(s.lbls, lbls) {
			s.refs = append(s.refs, refs...)
			return
		}
	}
	w.series[fp] = &wseries{lbls: lbls, fp: fp, refs: slices.Clone(refs), next: head}
	w.n++
}

// Len returns the number of distinct series added so far, including series
// without refs (which Encode leaves out).
func (w *Writer) Len() int { return w.n }

// Encode returns the index object holding every series added so far that has
// at least one chunk ref. The output depends only on the content added, not
// on the order of Add calls. Encode may be called again after more Adds.
func (w *Writer) Encode() ([]byte, error) {
	list := make([]*wseries, 0, w.n)
	for _, head := range w.series {
		for s := head; s != nil; s = s.next {
			s.refs = normalizeRefs(s.refs)
			if len(s.refs) == 0 {
				continue
			}
			if err := checkSeries(s); err != nil {
				return nil, err
			}
			list = append(list, s)
		}
	}
	if uint64(len(list)) > math.MaxUint32 {
		return nil, fmt.Errorf("%w: %d series do not fit one index", ErrInvalidSeries, len(list))
	}
	slices.SortFunc(list, func(a, b *wseries) int { return labels.Compare(a.lbls, b.lbls) })

	syms, symID := buildSymbols(list)

	e := encbuf{b: make([]byte, 0, estimateSize(list, syms))}
	e.be32(Magic)
	e.byte1(Version)

	type section struct {
		kind     byte
		off, len int
	}
	var toc [3]section

	// Symbols.
	start := len(e.b)
	e.uvarint(uint64(len(syms)))
	for _, s := range syms {
		e.str(s)
	}
	toc[0] = section{sectionSymbols, start, len(e.b) - start}

	// Series, collecting the postings on the way.
	var npairs, nrefs int
	for _, s := range list {
		npairs += s.lbls.Len()
		nrefs += len(s.refs)
	}
	postings := make([]posting, 0, npairs)
	start = len(e.b)
	e.uvarint(uint64(len(list)))
	e.uvarint(uint64(npairs))
	e.uvarint(uint64(nrefs))
	for i, s := range list {
		e.be64(s.fp)
		e.uvarint(uint64(s.lbls.Len()))
		s.lbls.Range(func(l labels.Label) {
			p := posting{symID[l.Name], symID[l.Value], uint32(i)}
			e.uvarint(uint64(p.name))
			e.uvarint(uint64(p.value))
			postings = append(postings, p)
		})
		e.uvarint(uint64(len(s.refs)))
		prev := s.refs[0].From
		for j, r := range s.refs {
			if j == 0 {
				e.varint(r.From)
			} else {
				e.uvarint(uint64(r.From - prev))
			}
			prev = r.From
			e.uvarint(uint64(r.Through - r.From))
			e.be32(r.Checksum)
			e.uvarint(uint64(r.Entries))
			e.uvarint(uint64(r.UncompressedBytes))
			e.uvarint(uint64(r.CompressedBytes))
		}
	}
	toc[1] = section{sectionSeries, start, len(e.b) - start}

	// Postings: by name, then value, then series id. They were collected in
	// series order, so two stable counting sorts (value, then name) do it.
	postings = sortPostings(postings, len(syms))
	start = len(e.b)
	// Counts precede each group, so walk the groups first.
	var nnames int
	for i := range postings {
		if i == 0 || postings[i].name != postings[i-1].name {
			nnames++
		}
	}
	e.uvarint(uint64(nnames))
	for i := 0; i < len(postings); {
		name := postings[i].name
		j := i
		var nvalues int
		for ; j < len(postings) && postings[j].name == name; j++ {
			if j == i || postings[j].value != postings[j-1].value {
				nvalues++
			}
		}
		e.uvarint(uint64(name))
		e.uvarint(uint64(nvalues))
		for k := i; k < j; {
			value := postings[k].value
			l := k
			for l < j && postings[l].value == value {
				l++
			}
			e.uvarint(uint64(value))
			e.uvarint(uint64(l - k))
			prev := uint32(0)
			for m := k; m < l; m++ {
				e.uvarint(uint64(postings[m].series - prev))
				prev = postings[m].series
			}
			k = l
		}
		i = j
	}
	toc[2] = section{sectionPostings, start, len(e.b) - start}

	// Table of contents and footer.
	tocOff := len(e.b)
	e.byte1(byte(len(toc)))
	for _, s := range toc {
		e.byte1(s.kind)
		e.be64(uint64(s.off))
		e.be64(uint64(s.len))
		e.be32(crc32.Checksum(e.b[s.off:s.off+s.len], castagnoli))
	}
	tocCRC := crc32.Checksum(e.b[tocOff:], castagnoli)
	e.be64(uint64(tocOff))
	e.be32(tocCRC)
	return e.b, nil
}

type posting struct {
	name, value, series uint32
}

// sortPostings sorts postings collected in series order by name, then value,
// then series: a least-significant-first radix sort by symbol id.
func sortPostings(ps []posting, nsyms int) []posting {
	tmp := make([]posting, len(ps))
	counts := make([]int, nsyms+1)
	for _, p := range ps {
		counts[p.value+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	for _, p := range ps {
		tmp[counts[p.value]] = p
		counts[p.value]++
	}
	clear(counts)
	for _, p := range tmp {
		counts[p.name+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	for _, p := range tmp {
		ps[counts[p.name]] = p
		counts[p.name]++
	}
	return ps
}

// checkSeries validates what the format cannot represent: label names must
// be strictly increasing, and every ref must end no earlier than it starts.
func checkSeries(s *wseries) error {
	var prev string
	var err error
	first := true
	s.lbls.Range(func(l labels.Label) {
		if err == nil && !first && l.Name <= prev {
			err = fmt.Errorf("%w: label names of %s are not sorted and unique", ErrInvalidSeries, s.lbls)
		}
		prev, first = l.Name, false
	})
	if err != nil {
		return err
	}
	for _, r := range s.refs {
		if r.Through < r.From {
			return fmt.Errorf("%w: chunk ref of %s ends (%d) before it starts (%d)", ErrInvalidSeries, s.lbls, r.Through, r.From)
		}
	}
	return nil
}

// buildSymbols returns the sorted, unique names and values of all series and
// a map from each to its position.
func buildSymbols(list []*wseries) ([]string, map[string]uint32) {
	set := make(map[string]uint32)
	for _, s := range list {
		s.lbls.Range(func(l labels.Label) {
			set[l.Name] = 0
			set[l.Value] = 0
		})
	}
	syms := make([]string, 0, len(set))
	for s := range set {
		syms = append(syms, s)
	}
	slices.Sort(syms)
	for i, s := range syms {
		set[s] = uint32(i)
	}
	return syms, set
}

// estimateSize guesses the encoded size to size the output buffer once.
func estimateSize(list []*wseries, syms []string) int {
	n := headerLen + footerLen + 1 + 3*tocEntry + 16
	for _, s := range syms {
		n += len(s) + 2
	}
	for _, s := range list {
		l := s.lbls.Len()
		n += 8 + 2 + l*8 + 2 + len(s.refs)*20
	}
	return n
}

// Merge returns a Writer holding the union of the series and refs of all
// readers, for the compactor to encode (and, if it wants, add to).
func Merge(readers ...*Reader) (*Writer, error) {
	w := NewWriter()
	for _, r := range readers {
		if r == nil {
			continue
		}
		for i := range r.series {
			s := &r.series[i]
			w.add(s.lbls, s.fp, s.refs)
		}
	}
	return w, nil
}
