package storage

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
)

// StreamVolume is what one stored stream holds in a time range, read from
// the index alone: no chunk is fetched.
type StreamVolume struct {
	Labels labels.Labels
	// Chunks are the stream's chunks that overlap the range, each once
	// (a chunk listed by several index objects counts once), by From.
	Chunks []ChunkVolume
}

// ChunkVolume is the time span and size of one stored chunk.
type ChunkVolume struct {
	From, Through int64  // first and last entry, Unix ns, both inclusive
	Bytes         uint64 // uncompressed bytes of its log lines
}

// Contains reports whether ts falls in the chunk's span.
func (c ChunkVolume) Contains(ts int64) bool { return c.From <= ts && ts <= c.Through }

// BytesIn returns the chunk's bytes in [from, through): all of them for a
// chunk inside the range, none for one outside, and for a chunk that
// straddles a bound the share of its instants From..Through inside, as Loki
// prorates chunk statistics.
func (c ChunkVolume) BytesIn(from, through int64) uint64 {
	if from >= through || c.From >= through || c.Through < from {
		return 0
	}
	lo, hi := max(c.From, from), min(c.Through, through-1)
	if lo == c.From && hi == c.Through {
		return c.Bytes
	}
	f := (float64(hi) - float64(lo) + 1) / (float64(c.Through) - float64(c.From) + 1)
	return uint64(float64(c.Bytes) * f)
}

// BytesIn returns the stream's bytes in [from, through), chunk by chunk
// (see ChunkVolume.BytesIn).
func (v StreamVolume) BytesIn(from, through int64) uint64 {
	var n uint64
	for _, c := range v.Chunks {
		n += c.BytesIn(from, through)
	}
	return n
}

// StreamVolumes returns the tenant's stored streams that match and have
// chunks overlapping [from, through), with those chunks.
func (s *Store) StreamVolumes(ctx context.Context, tenant string, from, through int64, matchers []*labels.Matcher) ([]StreamVolume, error) {
	ss, err := s.lookup(ctx, tenant, matchers, from, through)
	if err != nil {
		return nil, err
	}
	out := make([]StreamVolume, 0, len(ss))
	for _, sr := range ss {
		v := StreamVolume{Labels: sr.lbls, Chunks: make([]ChunkVolume, 0, len(sr.refs))}
		for _, r := range sr.refs {
			if r.Overlaps(from, through) {
				v.Chunks = append(v.Chunks, ChunkVolume{From: r.From, Through: r.Through, Bytes: uint64(r.UncompressedBytes)})
			}
		}
		if len(v.Chunks) > 0 {
			out = append(out, v)
		}
	}
	return out, ctx.Err()
}
