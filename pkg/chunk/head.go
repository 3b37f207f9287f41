package chunk

import (
	"slices"
	"sort"
	"strings"

	"github.com/skald-logs/skald/pkg/logproto"
)

// headEntry is one entry of the head block. Its line and metadata refs live
// in the head's arenas.
type headEntry struct {
	ts      int64
	lineOff uint32
	lineLen uint32
	refOff  uint32 // into headBlock.refs: name, value, name, value, ...
	refLen  uint32
}

// headBlock holds the entries not yet cut into a block, in arrival order.
//
// Its arenas (entries, lines, refs, syms) are append-only between cuts, so a
// snapshot taken for an iterator stays valid while Appends continue. After a
// snapshot the head is marked shared, and the next cut starts new arenas
// instead of reusing them.
type headBlock struct {
	entries []headEntry
	lines   []byte
	refs    []uint32
	syms    []string
	symIdx  map[string]uint32
	// dedup maps the hash of every entry to the first entry with it, once
	// indexed is set: when an entry arrives that could be a duplicate and
	// a look at the newest entries does not settle it. Entries that arrive
	// in time order never need it.
	dedup   map[uint64]uint32
	indexed bool

	size       int // sum of EntrySize
	lineBytes  int
	mint, maxt int64
	ordered    bool // entries are in timestamp order
	shared     bool // a snapshot references the arenas
}

func (h *headBlock) init() {
	h.symIdx = make(map[string]uint32)
	h.ordered = true
}

// reset empties the head. The arenas are reused unless a snapshot shares
// them; the maps are never shared.
func (h *headBlock) reset() {
	if h.shared {
		h.entries = make([]headEntry, 0, cap(h.entries))
		h.lines = make([]byte, 0, cap(h.lines))
		h.refs = make([]uint32, 0, cap(h.refs))
		h.syms = nil
	} else {
		h.entries, h.lines, h.refs = h.entries[:0], h.lines[:0], h.refs[:0]
		clear(h.syms)
		h.syms = h.syms[:0]
	}
	clear(h.symIdx)
	clear(h.dedup)
	h.indexed = false
	h.size, h.lineBytes, h.mint, h.maxt = 0, 0, 0, 0
	h.ordered, h.shared = true, false
}

func (h *headBlock) line(e *headEntry) []byte {
	return h.lines[e.lineOff : e.lineOff+e.lineLen : e.lineOff+e.lineLen]
}

// labels returns e's metadata, built in buf.
func (h *headBlock) labels(e *headEntry, buf []logproto.LabelAdapter) []logproto.LabelAdapter {
	return labelsOf(h.refs[e.refOff:e.refOff+e.refLen], h.syms, buf)
}

// labelsOf resolves refs into buf[:0] and returns it.
func labelsOf(refs []uint32, syms []string, buf []logproto.LabelAdapter) []logproto.LabelAdapter {
	buf = buf[:0]
	for i := 0; i+1 < len(refs); i += 2 {
		buf = append(buf, logproto.LabelAdapter{Name: syms[refs[i]], Value: syms[refs[i+1]]})
	}
	return buf
}

func (h *headBlock) entrySize(e *headEntry) int {
	n := 8 + int(e.lineLen)
	for _, r := range h.refs[e.refOff : e.refOff+e.refLen] {
		n += len(h.syms[r])
	}
	return n
}

func (h *headBlock) equal(e *headEntry, ts int64, line string, sm []logproto.LabelAdapter) bool {
	if e.ts != ts || int(e.lineLen) != len(line) || int(e.refLen) != 2*len(sm) {
		return false
	}
	if string(h.line(e)) != line {
		return false
	}
	refs := h.refs[e.refOff : e.refOff+e.refLen]
	for i, l := range sm {
		if h.syms[refs[2*i]] != l.Name || h.syms[refs[2*i+1]] != l.Value {
			return false
		}
	}
	return true
}

// recent reports whether the newest entries settle whether the head holds
// this exact entry (found): it does when the head is in time order and ts
// is its newest timestamp (a re-sent entry, typically), unless too many
// entries share that timestamp.
func (h *headBlock) recent(ts int64, line string, sm []logproto.LabelAdapter) (found, settled bool) {
	if !h.ordered || ts != h.maxt {
		return false, false
	}
	for j, n := len(h.entries)-1, 0; j >= 0 && h.entries[j].ts == ts; j, n = j-1, n+1 {
		if n == 16 {
			return false, false
		}
		if h.equal(&h.entries[j], ts, line, sm) {
			return true, true
		}
	}
	return false, true
}

// contains reports whether the indexed head holds this exact entry, whose
// hash is hash.
func (h *headBlock) contains(hash uint64, ts int64, line string, sm []logproto.LabelAdapter) bool {
	i, ok := h.dedup[hash]
	if !ok {
		return false
	}
	if h.equal(&h.entries[i], ts, line, sm) {
		return true
	}
	// A 64-bit hash collision between different entries: look at all of
	// them with this timestamp.
	for j := range h.entries {
		if e := &h.entries[j]; e.ts == ts && h.equal(e, ts, line, sm) {
			return true
		}
	}
	return false
}

// index records hash as the hash of entry i, unless an earlier entry has it.
func (h *headBlock) index(hash uint64, i int) {
	if _, ok := h.dedup[hash]; !ok {
		h.dedup[hash] = uint32(i)
	}
}

func (h *headBlock) intern(s string) uint32 {
	if r, ok := h.symIdx[s]; ok {
		return r
	}
	s = strings.Clone(s) // do not pin the caller's memory
	r := uint32(len(h.syms))
	h.syms = append(h.syms, s)
	h.symIdx[s] = r
	return r
}

// add appends an entry that is not in the head. The caller indexes it if
// the head is indexed.
func headAdd[L string | []byte](h *headBlock, ts int64, line L, sm []logproto.LabelAdapter) {
	e := headEntry{
		ts:      ts,
		lineOff: uint32(len(h.lines)), lineLen: uint32(len(line)),
		refOff: uint32(len(h.refs)), refLen: uint32(2 * len(sm)),
	}
	h.lines = append(h.lines, line...)
	size := 8 + len(line)
	for _, l := range sm {
		h.refs = append(h.refs, h.intern(l.Name), h.intern(l.Value))
		size += len(l.Name) + len(l.Value)
	}
	if len(h.entries) == 0 {
		h.mint, h.maxt = ts, ts
	} else {
		if ts < h.maxt {
			h.ordered = false
		}
		h.mint, h.maxt = min(h.mint, ts), max(h.maxt, ts)
	}
	h.entries = append(h.entries, e)
	h.size += size
	h.lineBytes += len(line)
}

// sortedOrder returns the indices of the entries sorted by timestamp, equal
// timestamps in arrival order.
func (h *headBlock) sortedOrder(order []int32) []int32 {
	order = order[:0]
	for i := range h.entries {
		order = append(order, int32(i))
	}
	if !h.ordered {
		slices.SortStableFunc(order, func(a, b int32) int {
			ta, tb := h.entries[a].ts, h.entries[b].ts
			switch {
			case ta < tb:
				return -1
			case ta > tb:
				return 1
			}
			return 0
		})
	}
	return order
}

// headSnapshot is a sorted, immutable view of the head block.
type headSnapshot struct {
	entries []headEntry // by timestamp, equal timestamps in arrival order
	lines   []byte
	refs    []uint32
	syms    []string
}

// snapshot returns a view that stays valid while Appends continue. If share
// is set the view may outlive the current call and the arenas are marked
// shared.
func (h *headBlock) snapshot(share bool) headSnapshot {
	s := headSnapshot{lines: h.lines, refs: h.refs, syms: h.syms}
	n := len(h.entries)
	if h.ordered {
		s.entries = h.entries[:n:n]
	} else {
		s.entries = slices.Clone(h.entries)
		slices.SortStableFunc(s.entries, func(a, b headEntry) int {
			switch {
			case a.ts < b.ts:
				return -1
			case a.ts > b.ts:
				return 1
			}
			return 0
		})
	}
	if share {
		h.shared = true
	}
	return s
}

// headIter iterates a head snapshot within a scan's range (inclusive),
// keeping the lines its matcher accepts.
type headIter struct {
	s       headSnapshot
	i       int // next entry
	end     int // forward: one past the last; backward: the last, minus one
	forward bool
	scan    *scan

	ts   int64
	line []byte
	sm   []logproto.LabelAdapter
}

func (it *headIter) reset(s headSnapshot, sc *scan) {
	lo := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].ts >= sc.from })
	hi := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].ts > sc.through })
	*it = headIter{s: s, forward: sc.forward, scan: sc, sm: it.sm[:0]}
	if it.forward {
		it.i, it.end = lo, hi
	} else {
		it.i, it.end = hi-1, lo-1
	}
}

func (it *headIter) next() bool {
	for it.i != it.end {
		e := &it.s.entries[it.i]
		if it.forward {
			it.i++
		} else {
			it.i--
		}
		line := it.s.lines[e.lineOff : e.lineOff+e.lineLen : e.lineOff+e.lineLen]
		if m := it.scan.m; m != nil && !m.line(line) {
			it.scan.skipped(1, len(line))
			continue
		}
		it.ts, it.line = e.ts, line
		it.sm = labelsOf(it.s.refs[e.refOff:e.refOff+e.refLen], it.s.syms, it.sm)
		return true
	}
	return false
}

func (it *headIter) at() (int64, []byte, []logproto.LabelAdapter) {
	if len(it.sm) == 0 {
		return it.ts, it.line, nil
	}
	return it.ts, it.line, it.sm
}

func (it *headIter) error() error { return nil }
