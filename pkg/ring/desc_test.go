package ring

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// randomDesc draws a Desc from a small space of instances and versions, so
// that merges meet equal timestamps, tombstones and conflicting content often.
func randomDesc(rng *rand.Rand) *Desc {
	d := NewDesc()
	for _, id := range []string{"a", "b", "c", "d"} {
		if rng.IntN(3) == 0 {
			continue
		}
		states := []InstanceState{Active, Leaving, Joining, Left}
		i := InstanceDesc{
			ID:                  id,
			Addr:                []string{"h1:1", "h2:1"}[rng.IntN(2)],
			Zone:                []string{"", "z1"}[rng.IntN(2)],
			State:               states[rng.IntN(len(states))],
			RegisteredTimestamp: int64(rng.IntN(2)),
			Timestamp:           int64(rng.IntN(4)),
		}
		if i.State != Left {
			for range rng.IntN(3) {
				i.Tokens = append(i.Tokens, uint32(rng.IntN(6)))
			}
		}
		d.AddInstance(i)
	}
	return d
}

func merged(a, b *Desc) *Desc {
	out := a.Clone()
	out.Merge(b)
	return out
}

func TestMergeIsCommutativeAssociativeIdempotent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 5000 {
		a, b, c := randomDesc(rng), randomDesc(rng), randomDesc(rng)
		if ab, ba := merged(a, b), merged(b, a); !ab.Equal(ba) {
			t.Fatalf("#%d not commutative:\na=%v\nb=%v\na+b=%v\nb+a=%v", n, a, b, ab, ba)
		}
		if l, r := merged(merged(a, b), c), merged(a, merged(b, c)); !l.Equal(r) {
			t.Fatalf("#%d not associative:\n(a+b)+c=%v\na+(b+c)=%v", n, l, r)
		}
		if aa := merged(a, a); !aa.Equal(a) {
			t.Fatalf("#%d a+a != a: %v vs %v", n, aa, a)
		}
		ab := merged(a, b)
		again := ab.Clone()
		if again.Merge(b) || again.Merge(a) {
			t.Fatalf("#%d merging again reported a change", n)
		}
	}
}

func TestMergeReportsChangesAndDelta(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 3000 {
		a, b := randomDesc(rng), randomDesc(rng)
		want := merged(a, b)
		got := a.Clone()
		delta := got.MergeDelta(b)
		if !got.Equal(want) {
			t.Fatalf("#%d MergeDelta result %v, Merge result %v", n, got, want)
		}
		if (delta != nil) != !a.Equal(want) {
			t.Fatalf("#%d delta %v but a=%v and a+b=%v", n, delta, a, want)
		}
		if delta == nil {
			continue
		}
		// The delta is exactly the entries that differ from a, with their
		// new values; applying it to a gives the merge.
		for id, e := range delta.Instances {
			old, had := a.Instances[id]
			if had && compareVersions(&old, &e) == 0 {
				t.Fatalf("#%d delta holds unchanged %s", n, id)
			}
			if w := want.Instances[id]; compareVersions(&w, &e) != 0 {
				t.Fatalf("#%d delta entry %s differs from the result", n, id)
			}
		}
		for id, w := range want.Instances {
			old, had := a.Instances[id]
			_, inDelta := delta.Instances[id]
			if changed := !had || compareVersions(&old, &w) != 0; changed != inDelta {
				t.Fatalf("#%d %s changed=%v inDelta=%v", n, id, changed, inDelta)
			}
		}
		if applied := merged(a, delta); !applied.Equal(want) {
			t.Fatalf("#%d a+delta=%v, want %v", n, applied, want)
		}
	}
}

func TestMergeNewerHeartbeatWins(t *testing.T) {
	old := inst("a", "", 1, 2)
	newer := old
	newer.Timestamp++
	newer.State = Leaving
	newer.Tokens = []uint32{3}

	d := descOf(old)
	if !d.Merge(descOf(newer)) {
		t.Fatal("newer entry not taken")
	}
	if got := d.Instances["a"]; got.State != Leaving || !slices.Equal(got.Tokens, []uint32{3}) {
		t.Fatalf("got %+v", got)
	}
	if d.Merge(descOf(old)) {
		t.Fatal("older entry replaced a newer one")
	}
}

func TestMergeDoesNotShareMemory(t *testing.T) {
	src := descOf(inst("a", "", 5, 6))
	d := NewDesc()
	d.Merge(src)
	src.Instances["a"].Tokens[0] = 99
	if d.Instances["a"].Tokens[0] != 5 {
		t.Fatal("merge result shares tokens with its input")
	}
	c := d.Clone()
	c.Instances["a"].Tokens[1] = 99
	if d.Instances["a"].Tokens[1] != 6 {
		t.Fatal("clone shares tokens")
	}
}

func TestMergeNormalizesTokens(t *testing.T) {
	other := &Desc{Instances: map[string]InstanceDesc{
		"a": {Addr: "x", Tokens: []uint32{9, 3, 3, 7}, Timestamp: 5},
		"b": {Addr: "y", State: Left, Tokens: []uint32{1}, Timestamp: 5},
	}}
	d := NewDesc()
	d.Merge(other)
	if got := d.Instances["a"]; got.ID != "a" || !slices.Equal(got.Tokens, []uint32{3, 7, 9}) {
		t.Fatalf("a = %+v", got)
	}
	if got := d.Instances["b"]; len(got.Tokens) != 0 {
		t.Fatalf("tombstone kept tokens %v", got.Tokens)
	}
	if d.Merge(other) {
		t.Fatal("merging the same unnormalised input twice changed the ring")
	}
}

func TestTombstones(t *testing.T) {
	live := inst("a", "z", 1, 2, 3)
	d := descOf(live, inst("b", "z", 4))

	if !d.Remove("a", testNow) {
		t.Fatal("Remove of a live instance reported nothing removed")
	}
	tomb := d.Instances["a"]
	if tomb.State != Left || len(tomb.Tokens) != 0 || tomb.Timestamp <= live.Timestamp {
		t.Fatalf("tombstone %+v", tomb)
	}
	if d.Remove("a", testNow) || d.Remove("nope", testNow) {
		t.Fatal("Remove of a tombstone or an unknown id reported a removal")
	}

	// Stale gossip of the live entry cannot bring it back.
	if d.Merge(descOf(live)) {
		t.Fatal("stale entry resurrected a tombstone")
	}
	// The tombstone spreads to a process that still has the live entry.
	other := descOf(live)
	if !other.Merge(d) || other.Instances["a"].State != Left {
		t.Fatalf("tombstone not taken: %v", other)
	}
	// An instance that is alive after all heartbeats past the tombstone.
	back := live
	back.Timestamp = tomb.Timestamp + 1
	if !d.Merge(descOf(back)) || d.Instances["a"].State != Active {
		t.Fatalf("newer heartbeat did not win over the tombstone: %v", d)
	}
}

func TestRemoveWithClockBehind(t *testing.T) {
	live := inst("a", "", 1)
	live.Timestamp = testNow.Add(time.Hour).UnixMilli() // its clock runs ahead of ours
	d := descOf(live)
	d.Remove("a", testNow)
	if got := d.Instances["a"].Timestamp; got != live.Timestamp+1 {
		t.Fatalf("tombstone timestamp %d, want %d", got, live.Timestamp+1)
	}
}

func TestRemoveTombstones(t *testing.T) {
	hourAgo := func(i InstanceDesc) InstanceDesc { i.Timestamp = testNow.Add(-time.Hour).UnixMilli(); return i }
	d := descOf(hourAgo(inst("live", "")), hourAgo(inst("old", "")), hourAgo(inst("recent", "")))
	d.Remove("old", testNow.Add(-10*time.Minute))
	d.Remove("recent", testNow.Add(-time.Minute))
	if n := d.RemoveTombstones(testNow.Add(-5 * time.Minute)); n != 1 {
		t.Fatalf("removed %d, want 1", n)
	}
	if _, ok := d.Instances["old"]; ok {
		t.Fatal("old tombstone kept")
	}
	if _, ok := d.Instances["recent"]; !ok {
		t.Fatal("recent tombstone removed")
	}
	if _, ok := d.Instances["live"]; !ok {
		t.Fatal("live instance removed")
	}
}

func TestCompareVersionsTieBreaks(t *testing.T) {
	base := inst("a", "", 1)
	tests := []struct {
		name   string
		change func(*InstanceDesc)
	}{
		{"later heartbeat", func(i *InstanceDesc) { i.Timestamp++ }},
		{"tombstone at the same time", func(i *InstanceDesc) { i.State = Left; i.Tokens = nil }},
		{"larger state", func(i *InstanceDesc) { i.State = Leaving }},
		{"later registration", func(i *InstanceDesc) { i.RegisteredTimestamp++ }},
		{"larger address", func(i *InstanceDesc) { i.Addr += "0" }},
		{"larger http address", func(i *InstanceDesc) { i.HTTPAddr = "x" }},
		{"larger zone", func(i *InstanceDesc) { i.Zone = "z" }},
		{"more tokens", func(i *InstanceDesc) { i.Tokens = []uint32{0, 1} }},
		{"larger token", func(i *InstanceDesc) { i.Tokens = []uint32{2} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			winner := base.clone()
			tt.change(&winner)
			if compareVersions(&winner, &base) != 1 || compareVersions(&base, &winner) != -1 {
				t.Fatalf("%+v does not beat %+v", winner, base)
			}
		})
	}
	// A tombstone wins even against a larger state at the same time.
	tomb, joining := base, base
	tomb.State, tomb.Tokens = Left, nil
	joining.State = Joining
	if compareVersions(&tomb, &joining) != 1 {
		t.Fatal("tombstone lost to JOINING at the same timestamp")
	}
}

func TestTakenTokens(t *testing.T) {
	d := descOf(inst("a", "", 5, 1), inst("b", "", 3, 5), inst("c", "", 9))
	d.Remove("c", testNow)
	if got := d.TakenTokens("a"); !slices.Equal(got, []uint32{3, 5}) {
		t.Fatalf("TakenTokens(a) = %v", got)
	}
	if got := d.TakenTokens(""); !slices.Equal(got, []uint32{1, 3, 5}) {
		t.Fatalf("TakenTokens() = %v", got)
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[InstanceState]string{
		Active: "ACTIVE", Leaving: "LEAVING", Joining: "JOINING", Left: "LEFT", 2: "PENDING", 9: "UNKNOWN(9)",
	} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", s, got, want)
		}
	}
}
