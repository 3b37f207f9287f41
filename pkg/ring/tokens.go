package ring

import (
	"math/rand/v2"
	"slices"
)

// GenerateTokens returns n random tokens, sorted, unique and not in taken
// (which must be sorted, as Desc.TakenTokens returns it).
func GenerateTokens(n int, taken []uint32) []uint32 {
	return generateTokens(n, taken, rand.Uint32)
}

func generateTokens(n int, taken []uint32, random func() uint32) []uint32 {
	if n <= 0 {
		return nil
	}
	out := make([]uint32, 0, n)
	seen := make(map[uint32]struct{}, n)
	for len(out) < n {
		t := random()
		if _, dup := seen[t]; dup {
			continue
		}
		if _, found := slices.BinarySearch(taken, t); found {
			continue
		}
		seen[t] = struct{}{}
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// TokenFor returns the ring key of a stream: where on the ring the stream of
// tenant with the given label fingerprint (index.Fingerprint of its sorted
// label set) lives. Distributors use it to find a stream's ingesters, and
// ingesters to check which streams they own.
//
// It is 64-bit FNV-1a over the tenant's bytes and then the fingerprint's 8
// bytes (little endian), finished with murmur3's 64-bit mixer and folded to 32
// bits. Including the tenant spreads two tenants' identical streams over
// different ingesters. Every distributor of a cluster must compute the same
// token for a stream, so this function must not change; it is not Loki's
// token (Loki hashes the label string with 32-bit FNV), which only matters
// if the two shared a ring, which they cannot.
func TokenFor(tenant string, labelsFingerprint uint64) uint32 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(tenant); i++ {
		h ^= uint64(tenant[i])
		h *= prime64
	}
	for i := 0; i < 8; i++ {
		h ^= (labelsFingerprint >> (8 * i)) & 0xff
		h *= prime64
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb3f9fe1a85e5
	h ^= h >> 33
	return uint32(h) ^ uint32(h>>32)
}
