package chunk

import (
	"bytes"
	"math"
	"sort"

	"github.com/skald-logs/skald/pkg/logproto"
)

// IterOptions say which entries an iterator yields.
type IterOptions struct {
	// From and Through bound the timestamps: [From, Through).
	From, Through int64
	// Direction: forward yields ascending timestamps, entries of equal
	// timestamp in arrival order; backward exactly the reverse.
	Direction logproto.Direction
	// Contains, when not empty, keeps only the entries whose line contains
	// at least one of these strings (case-sensitive, as bytes). It is the
	// push-down of a query's line filters (`|= "a" or "b"`): a block in
	// which none of them occurs is skipped without decoding its entries,
	// and the lines of the others are searched as one region. An empty
	// string matches every line.
	Contains []string
	// SkippedLines and SkippedBytes, when not nil, are increased by the
	// number of entries in range that Contains left out and by the bytes
	// of their lines, so that a query's statistics can still count them
	// as processed. They are updated by the goroutine that calls Next.
	SkippedLines, SkippedBytes *int64
}

// scan is the internal form of IterOptions: an inclusive time range and
// the literal matcher.
type scan struct {
	from, through int64 // inclusive
	forward       bool
	m             *matcher // nil: every entry
	skipLines     *int64
	skipBytes     *int64
}

// newScan converts o; ok is false if its range is empty.
func newScan(o IterOptions) (s scan, ok bool) {
	if o.Through <= o.From || o.Through == math.MinInt64 {
		return s, false
	}
	s = scan{from: o.From, through: o.Through - 1, forward: o.Direction == logproto.Forward,
		skipLines: o.SkippedLines, skipBytes: o.SkippedBytes}
	s.m = newMatcher(o.Contains)
	return s, true
}

// skipped counts n entries with b line bytes left out by the matcher.
func (s *scan) skipped(n, b int) {
	if s.skipLines != nil {
		*s.skipLines += int64(n)
	}
	if s.skipBytes != nil {
		*s.skipBytes += int64(b)
	}
}

// matcher finds the lines that contain any of its literals. It keeps
// search state, so each iterator has its own.
type matcher struct {
	lits [][]byte
	fs   []finder
	next []int // per literal: its next occurrence in the region, or -1
}

// newMatcher returns nil when lits match every line.
func newMatcher(lits []string) *matcher {
	if len(lits) == 0 {
		return nil
	}
	m := &matcher{lits: make([][]byte, len(lits)), fs: make([]finder, len(lits)), next: make([]int, len(lits))}
	for i, l := range lits {
		if l == "" {
			return nil
		}
		m.lits[i] = []byte(l)
		m.fs[i] = newFinder(m.lits[i])
	}
	return m
}

// line reports whether line contains one of the literals.
func (m *matcher) line(line []byte) bool {
	for _, l := range m.lits {
		if bytes.Contains(line, l) {
			return true
		}
	}
	return false
}

// first searches region for every literal and reports whether any occurs.
// It starts the search state that entries continues.
func (m *matcher) first(region []byte) bool {
	found := false
	for i := range m.fs {
		m.next[i] = m.fs[i].index(region)
		found = found || m.next[i] >= 0
	}
	return found
}

// entries appends to sel, in ascending order, the entries in [lo, hi) of a
// decoded version-2 block whose line contains a literal. first must have
// been called on the block's lines region.
func (m *matcher) entries(d *blockData, lo, hi int, sel []int32) []int32 {
	if lo >= hi {
		return sel
	}
	base := linesStart(&d.meta)
	region := d.payload[base:]
	pos := int(d.start[lo]) - base // occurrences before pos do not matter
	for i := lo; i < hi; {
		best, bj := -1, 0
		for j := range m.fs {
			if n := m.next[j]; n >= 0 && n < pos {
				if k := m.fs[j].index(region[pos:]); k >= 0 {
					m.next[j] = pos + k
				} else {
					m.next[j] = -1
				}
			}
			if n := m.next[j]; n >= 0 && (best < 0 || n < best) {
				best, bj = n, j
			}
		}
		if best < 0 {
			break
		}
		// The line that holds the occurrence: the first one that ends at
		// or after it.
		at := base + best
		e := i + sort.Search(hi-i, func(k int) bool { return int(d.end[i+k]) >= at })
		if e >= hi {
			break
		}
		if at+len(m.lits[bj]) <= int(d.end[e]) {
			sel = append(sel, int32(e))
			i, pos = e+1, int(d.end[e])+1-base
			continue
		}
		// It runs over the end of the line: look further for this literal.
		if k := m.fs[bj].index(region[best+1:]); k >= 0 {
			m.next[bj] = best + 1 + k
		} else {
			m.next[bj] = -1
		}
	}
	return sel
}
