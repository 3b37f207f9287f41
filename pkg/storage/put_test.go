package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/objstore/memory"
)

// A store that only writes (an ingester of a cluster) keeps none of the
// index objects it writes in memory: without queries nothing ever prunes
// its day cache, which grew by a decoded index object per flush. A day
// being read sees what the process writes at once, as before.
func TestWritesCacheOnlyDaysInUse(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.New(), "ing-1")
	now := time.Unix(1_000_000, 0)
	s.now = func() time.Time { return now }
	lbls := labels.FromStrings("app", "api")
	eq := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "app", "api")}
	for i := range int64(10) {
		if err := s.PutChunks(ctx, "t", []Chunk{makeChunk(t, lbls, []int64{10 + i}, "x")}); err != nil {
			t.Fatal(err)
		}
	}
	cached := 0
	s.days.Range(func(_, v any) bool {
		d := v.(*dayIndex)
		d.mtx.Lock()
		cached += len(d.objects)
		d.mtx.Unlock()
		return true
	})
	if cached != 0 {
		t.Errorf("%d index objects cached by a store that was never read", cached)
	}
	if got := selectAll(t, s, "t", eq, 0, 100, logproto.Forward); len(got) != 10 {
		t.Fatalf("read after ten flushes: %v", got)
	}
	// Within the refresh period (the clock stands still), a write shows
	// in the next read without a new listing.
	if err := s.PutChunks(ctx, "t", []Chunk{makeChunk(t, lbls, []int64{50}, "y")}); err != nil {
		t.Fatal(err)
	}
	got := selectAll(t, s, "t", eq, 0, 100, logproto.Forward)
	if len(got) != 11 || got[10] != "api: y 50" {
		t.Errorf("read after a further flush: %v", fmt.Sprint(got))
	}
}

// Chunks before 1970 (accepted when reject_old_samples is off) are indexed
// under the days a query looks them up in: days are floored, not truncated
// toward zero.
func TestPutChunksBeforeEpochFindable(t *testing.T) {
	day := int64(24 * time.Hour)
	for _, tc := range []struct {
		name string
		ts   []int64
	}{
		{"just before", []int64{-10, -5}},
		{"across the epoch", []int64{-5, 5}},
		{"a day and more before", []int64{-day - 10, -day + 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, memory.New(), "ing-1")
			lbls := labels.FromStrings("app", "api")
			if err := s.PutChunks(context.Background(), "t", []Chunk{makeChunk(t, lbls, tc.ts, "x")}); err != nil {
				t.Fatal(err)
			}
			eq := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "app", "api")}
			for _, ts := range tc.ts {
				got := selectAll(t, s, "t", eq, ts, ts+1, logproto.Forward)
				if want := fmt.Sprintf("[api: x %d]", ts); fmt.Sprint(got) != want {
					t.Errorf("select [%d, %d): %v, want %s", ts, ts+1, got, want)
				}
			}
		})
	}
}
