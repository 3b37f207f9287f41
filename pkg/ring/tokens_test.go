package ring

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"testing"
)

func TestGenerateTokens(t *testing.T) {
	taken := GenerateTokens(5000, nil)
	if len(taken) != 5000 || !slices.IsSorted(taken) || len(slices.Compact(slices.Clone(taken))) != 5000 {
		t.Fatal("GenerateTokens(5000) not 5000 sorted unique tokens")
	}
	for range 20 {
		got := GenerateTokens(128, taken)
		if len(got) != 128 || !slices.IsSorted(got) {
			t.Fatalf("got %d tokens, sorted=%v", len(got), slices.IsSorted(got))
		}
		for i, tok := range got {
			if i > 0 && got[i-1] == tok {
				t.Fatalf("duplicate token %d", tok)
			}
			if _, found := slices.BinarySearch(taken, tok); found {
				t.Fatalf("token %d already taken", tok)
			}
		}
	}
	if GenerateTokens(0, nil) != nil {
		t.Fatal("GenerateTokens(0) not empty")
	}
}

func TestGenerateTokensSkipsTakenAndRepeated(t *testing.T) {
	seq := []uint32{9, 5, 9, 7, 3, 7, 1, 4}
	next := 0
	random := func() uint32 { v := seq[next]; next++; return v }
	got := generateTokens(4, []uint32{3, 7}, random)
	if want := []uint32{1, 4, 5, 9}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if next != len(seq) {
		t.Fatalf("drew %d numbers, want %d", next, len(seq))
	}
}

// tokenForReference computes TokenFor from its definition with the standard
// library's FNV.
func tokenForReference(tenant string, fp uint64) uint32 {
	h := fnv.New64a()
	h.Write([]byte(tenant))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], fp)
	h.Write(b[:])
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb3f9fe1a85e5
	x ^= x >> 33
	return uint32(x) ^ uint32(x>>32)
}

func TestTokenFor(t *testing.T) {
	for _, tenant := range []string{"", "fake", "tenant-1", "ünïcode"} {
		for _, fp := range []uint64{0, 1, 0xdeadbeef, math.MaxUint64} {
			if got, want := TokenFor(tenant, fp), tokenForReference(tenant, fp); got != want {
				t.Errorf("TokenFor(%q, %x) = %d, want %d", tenant, fp, got, want)
			}
		}
	}
	// Pinned values: the token of a stream must never change between
	// versions, or a rolling upgrade sends streams to new ingesters.
	if got := TokenFor("fake", 0x0123456789abcdef); got != 0x74853233 {
		t.Errorf("TokenFor(fake, 0x0123456789abcdef) = %#x; the hash changed", got)
	}
	if TokenFor("a", 1) == TokenFor("b", 1) || TokenFor("a", 1) == TokenFor("a", 2) {
		t.Error("tenant or fingerprint ignored")
	}
}

func TestTokenForSpreadsStreams(t *testing.T) {
	// Consecutive fingerprints (the worst case for a weak mix) over 16
	// buckets: each should get close to 1/16 of 64k streams.
	const n, buckets = 1 << 16, 16
	var counts [buckets]int
	for i := range n {
		counts[TokenFor("tenant-"+strconv.Itoa(i%3), uint64(i))>>28]++
	}
	for b, c := range counts {
		if c < n/buckets*9/10 || c > n/buckets*11/10 {
			t.Errorf("bucket %d has %d of %d streams", b, c, n)
		}
	}
}
