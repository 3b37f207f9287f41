package index

import (
	"cmp"
	"slices"
)

// ChunkRef describes one flushed chunk of a series. Together with the
// tenant and the series fingerprint, From, Through and Checksum name the
// chunk object.
type ChunkRef struct {
	From, Through     int64  // Unix ns of the first and last entry, both inclusive
	Checksum          uint32 // CRC32-C of the encoded chunk bytes
	Entries           uint32 // number of entries
	UncompressedBytes uint32 // bytes of log lines
	CompressedBytes   uint32 // size of the chunk object
}

// Overlaps reports whether the chunk holds time that falls in the half-open
// range [from, through): From < through && Through >= from. An empty range
// (through <= from) overlaps nothing.
func (c ChunkRef) Overlaps(from, through int64) bool {
	return from < through && c.From < through && c.Through >= from
}

// compareRefs orders refs by From, then Through, then Checksum: the order of
// refs in a series, and the identity of a chunk within it.
func compareRefs(a, b ChunkRef) int {
	if c := cmp.Compare(a.From, b.From); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Through, b.Through); c != 0 {
		return c
	}
	return cmp.Compare(a.Checksum, b.Checksum)
}

// compareRefsFull extends compareRefs with the remaining fields so that
// sorting is deterministic even when two refs share an identity.
func compareRefsFull(a, b ChunkRef) int {
	if c := compareRefs(a, b); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Entries, b.Entries); c != 0 {
		return c
	}
	if c := cmp.Compare(a.UncompressedBytes, b.UncompressedBytes); c != 0 {
		return c
	}
	return cmp.Compare(a.CompressedBytes, b.CompressedBytes)
}

// normalizeRefs sorts refs in place and drops refs whose identity (From,
// Through, Checksum) repeats, keeping the smallest by the remaining fields.
func normalizeRefs(refs []ChunkRef) []ChunkRef {
	if len(refs) < 2 {
		return refs
	}
	if !slices.IsSortedFunc(refs, compareRefsFull) {
		slices.SortFunc(refs, compareRefsFull)
	}
	out := refs[:1]
	for _, r := range refs[1:] {
		if compareRefs(out[len(out)-1], r) != 0 {
			out = append(out, r)
		}
	}
	return out
}

// overlapFactor returns the fraction of the chunk's instants From..Through
// that lie inside [from, through), for prorating the statistics of chunks
// that straddle the range (as Loki does). It is 0 when the chunk does not
// overlap the range and 1 when the range covers it.
func (c ChunkRef) overlapFactor(from, through int64) float64 {
	if !c.Overlaps(from, through) {
		return 0
	}
	lo, hi := c.From, c.Through
	if from > lo {
		lo = from
	}
	if through-1 < hi { // through is exclusive; Overlaps guarantees through > from
		hi = through - 1
	}
	if lo == c.From && hi == c.Through {
		return 1
	}
	return (float64(hi) - float64(lo) + 1) / (float64(c.Through) - float64(c.From) + 1)
}
