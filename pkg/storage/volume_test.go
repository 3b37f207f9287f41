package storage

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/objstore/memory"
)

func TestChunkVolumeBytesIn(t *testing.T) {
	// A chunk of 1000 bytes whose entries span the instants 100..199.
	c := ChunkVolume{From: 100, Through: 199, Bytes: 1000}
	for _, tc := range []struct {
		from, through int64
		want          uint64
	}{
		{0, 1000, 1000},  // covers it
		{100, 200, 1000}, // exactly
		{100, 199, 990},  // the last instant is out: 99 of 100
		{150, 200, 500},  // the second half
		{0, 110, 100},    // the first tenth
		{120, 130, 100},  // a tenth in the middle
		{200, 300, 0},    // after
		{0, 100, 0},      // before (through is exclusive)
		{199, 200, 10},   // the last instant
		{150, 150, 0},    // empty range
		{160, 150, 0},    // inverted
	} {
		if got := c.BytesIn(tc.from, tc.through); got != tc.want {
			t.Errorf("BytesIn(%d, %d) = %d, want %d", tc.from, tc.through, got, tc.want)
		}
	}
	// A chunk of one instant is all or nothing.
	one := ChunkVolume{From: 5, Through: 5, Bytes: 42}
	if one.BytesIn(5, 6) != 42 || one.BytesIn(0, 5) != 0 || one.BytesIn(6, 9) != 0 {
		t.Errorf("one-instant chunk: %d %d %d", one.BytesIn(5, 6), one.BytesIn(0, 5), one.BytesIn(6, 9))
	}
	v := StreamVolume{Chunks: []ChunkVolume{c, {From: 150, Through: 249, Bytes: 100}}}
	if got := v.BytesIn(150, 200); got != 500+50 {
		t.Errorf("stream BytesIn = %d, want 550", got)
	}
}

func TestStreamVolumes(t *testing.T) {
	b := memory.New()
	ctx := context.Background()
	w := newStore(t, b, "ing-1")
	api := labels.FromStrings("app", "api", "env", "prod")
	db := labels.FromStrings("app", "db", "env", "prod")
	apiOld := makeChunk(t, api, seq(10, 5, 10), "a") // 10..50
	apiNew := makeChunk(t, api, seq(60, 5, 10), "b") // 60..100
	dbc := makeChunk(t, db, seq(12, 3, 20), "d")     // 12..52
	if err := w.PutChunks(ctx, "t1", []Chunk{apiOld, apiNew, dbc}); err != nil {
		t.Fatal(err)
	}
	// The same chunk flushed again by a replica is one chunk.
	if err := newStore(t, b, "ing-2").PutChunks(ctx, "t1", []Chunk{apiNew}); err != nil {
		t.Fatal(err)
	}
	r := newStore(t, b, "querier")
	prod := labels.MustNewMatcher(labels.MatchEqual, "env", "prod")
	vs, err := r.StreamVolumes(ctx, "t1", 0, 1000, []*labels.Matcher{prod})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range vs {
		got[v.Labels.String()] = fmt.Sprint(v.Chunks)
	}
	want := map[string]string{
		api.String(): fmt.Sprintf("[{10 50 %d} {60 100 %d}]", apiOld.Ref.UncompressedBytes, apiNew.Ref.UncompressedBytes),
		db.String():  fmt.Sprintf("[{12 52 %d}]", dbc.Ref.UncompressedBytes),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("volumes\n got %v\nwant %v", got, want)
	}
	// Only the chunks overlapping the range, only matching streams.
	vs, err = r.StreamVolumes(ctx, "t1", 55, 1000, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "app", "api")})
	if err != nil || len(vs) != 1 || len(vs[0].Chunks) != 1 || vs[0].Chunks[0].From != 60 {
		t.Errorf("api after 55: %+v %v", vs, err)
	}
	if vs, err := r.StreamVolumes(ctx, "t2", 0, 1000, []*labels.Matcher{prod}); err != nil || len(vs) != 0 {
		t.Errorf("tenant t2: %+v %v", vs, err)
	}
}
