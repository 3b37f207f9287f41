package ring

import (
	"cmp"
	"slices"
)

// ringState is an immutable snapshot of a Desc, indexed for lookups: the
// live instances sorted by ID and every token on the ring with its owner.
type ringState struct {
	desc      *Desc          // the Desc it was built from, tombstones included
	instances []InstanceDesc // live instances (not LEFT), sorted by ID
	tokens    []uint32       // sorted, unique
	owners    []int32        // owners[i]: index in instances of tokens[i]'s owner
	numOwners int            // instances owning at least one token
	numZones  int            // distinct zones of the instances owning tokens
}

// ownsTokenOver reports whether a keeps a token that both a and b claim.
// Every process decides such a conflict the same way from the same Desc: a
// LEAVING instance yields to one that is not, then the instance registered
// first keeps it, then the one with the smaller ID. The lifecycler of the
// loser replaces the token at its next heartbeat.
func ownsTokenOver(a, b *InstanceDesc) bool {
	if (a.State == Leaving) != (b.State == Leaving) {
		return b.State == Leaving
	}
	if a.RegisteredTimestamp != b.RegisteredTimestamp {
		return a.RegisteredTimestamp < b.RegisteredTimestamp
	}
	return a.ID < b.ID
}

// newRingState indexes d. When the token layout of d equals prev's (only
// heartbeats or states other than LEAVING changed, the usual case), the token
// index of prev is reused.
func newRingState(d *Desc, prev *ringState) *ringState {
	s := &ringState{desc: d, instances: make([]InstanceDesc, 0, len(d.Instances))}
	for _, inst := range d.Instances {
		if inst.State != Left {
			s.instances = append(s.instances, inst)
		}
	}
	slices.SortFunc(s.instances, func(a, b InstanceDesc) int { return cmp.Compare(a.ID, b.ID) })

	if prev != nil && sameLayout(prev.instances, s.instances) {
		s.tokens, s.owners, s.numOwners, s.numZones = prev.tokens, prev.owners, prev.numOwners, prev.numZones
		return s
	}

	type claim struct {
		token uint32
		owner int32
	}
	n := 0
	for i := range s.instances {
		n += len(s.instances[i].Tokens)
	}
	claims := make([]claim, 0, n)
	zones := map[string]struct{}{}
	for i := range s.instances {
		if len(s.instances[i].Tokens) == 0 {
			continue
		}
		s.numOwners++
		zones[s.instances[i].Zone] = struct{}{}
		for _, t := range s.instances[i].Tokens {
			claims = append(claims, claim{t, int32(i)})
		}
	}
	s.numZones = len(zones)
	slices.SortFunc(claims, func(a, b claim) int { return cmp.Compare(a.token, b.token) })
	s.tokens = make([]uint32, 0, len(claims))
	s.owners = make([]int32, 0, len(claims))
	for _, c := range claims {
		if k := len(s.tokens) - 1; k >= 0 && s.tokens[k] == c.token {
			if ownsTokenOver(&s.instances[c.owner], &s.instances[s.owners[k]]) {
				s.owners[k] = c.owner
			}
			continue
		}
		s.tokens = append(s.tokens, c.token)
		s.owners = append(s.owners, c.owner)
	}
	return s
}

// sameLayout reports whether two sorted instance lists place the same tokens
// with the same owners and zones.
func sameLayout(a, b []InstanceDesc) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.ID != y.ID || x.Zone != y.Zone || x.RegisteredTimestamp != y.RegisteredTimestamp ||
			(x.State == Leaving) != (y.State == Leaving) || !slices.Equal(x.Tokens, y.Tokens) {
			return false
		}
	}
	return true
}

// searchToken returns the index of the first token greater than key,
// wrapping around to 0: the key's place on the ring.
func searchToken(tokens []uint32, key uint32) int {
	lo, hi := 0, len(tokens)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if tokens[m] <= key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(tokens) {
		return 0
	}
	return lo
}

// ownership returns, per instance index, the fraction of the ring's key space
// it owns as the first replica: the sum of the ranges [previous token, token).
func (s *ringState) ownership() []float64 {
	out := make([]float64, len(s.instances))
	if len(s.tokens) == 0 {
		return out
	}
	const space = float64(1 << 32)
	for i, t := range s.tokens {
		var size uint32
		if i == 0 {
			size = t - s.tokens[len(s.tokens)-1] // wraps around
			if len(s.tokens) == 1 {
				out[s.owners[i]] = 1
				return out
			}
		} else {
			size = t - s.tokens[i-1]
		}
		out[s.owners[i]] += float64(size) / space
	}
	return out
}
