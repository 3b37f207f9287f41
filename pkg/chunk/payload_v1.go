package chunk

import (
	"slices"

	"github.com/skald-logs/skald/pkg/logproto"
)

// Version 1 of the block payload, which this package still reads:
//
//	uvarint #symbols, then per symbol: uvarint length, bytes
//	per entry: uvarint ts-prev (prev starts at the block's mint),
//	           uvarint line length, line,
//	           uvarint #pairs, then per pair: uvarint name ref, uvarint value ref

// decodeV1 decodes a version-1 payload and checks it against the index.
// Consecutive entries with the same metadata share a set.
func (d *blockData) decodeV1() error {
	p, m := d.payload, &d.meta
	pos := d.symbols(0)
	if pos < 0 {
		return d.err
	}
	nsyms := uint64(len(d.syms))
	var refs, prevRefs []uint64
	prev, sum := m.mint, 0
	for i := range d.ts {
		var delta, l uint64
		delta, pos = uvarintAt(p, pos)
		ts := prev + int64(delta)
		if pos < 0 || ts < prev || ts > m.maxt || (i == 0 && delta != 0) {
			return d.corrupt("bad timestamp")
		}
		l, pos = uvarintAt(p, pos)
		if pos < 0 || l > uint64(len(p)-pos) {
			return d.corrupt("bad line length")
		}
		d.ts[i], d.start[i], d.end[i] = ts, uint32(pos), uint32(pos+int(l))
		pos += int(l)
		prev, sum = ts, sum+int(l)

		var n uint64
		n, pos = uvarintAt(p, pos)
		if pos < 0 || n > uint64(len(p)-pos)/2 {
			return d.corrupt("bad metadata count")
		}
		refs = refs[:0]
		for range 2 * n {
			var r uint64
			r, pos = uvarintAt(p, pos)
			if pos < 0 || r >= nsyms {
				return d.corrupt("bad metadata ref")
			}
			refs = append(refs, r)
		}
		switch {
		case n == 0:
			d.set[i] = 0
		case i > 0 && d.set[i-1] != 0 && slices.Equal(refs, prevRefs):
			d.set[i] = d.set[i-1]
		default:
			for j := 0; j < len(refs); j += 2 {
				d.arena = append(d.arena, logproto.LabelAdapter{Name: d.syms[refs[j]], Value: d.syms[refs[j+1]]})
			}
			d.setEnds = append(d.setEnds, len(d.arena))
			d.set[i] = uint32(len(d.setEnds))
			prevRefs = append(prevRefs[:0], refs...)
		}
	}
	d.makeSets()
	switch {
	case pos != len(p):
		return d.corrupt("%d trailing bytes", len(p)-pos)
	case prev != m.maxt:
		return d.corrupt("last timestamp %d, index says %d", prev, m.maxt)
	case sum != m.lineBytes:
		return d.corrupt("%d line bytes, index says %d", sum, m.lineBytes)
	}
	return nil
}
