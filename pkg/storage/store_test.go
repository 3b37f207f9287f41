package storage

import (
	"context"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/objstore"
	"github.com/skald-logs/skald/pkg/objstore/memory"
)

func testConfig() Config {
	return Config{ChunkCacheSizeMB: 4, IndexRefreshPeriod: time.Minute, MaxParallelGetChunk: 4, PrefetchChunks: 2}
}

func newStore(t *testing.T, b objstore.Bucket, id string) *Store {
	t.Helper()
	s, err := New(testConfig(), b, id, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// makeChunk encodes entries (ts, line) of one stream.
func makeChunk(t *testing.T, lbls labels.Labels, ts []int64, prefix string) Chunk {
	t.Helper()
	c := chunk.NewMemChunk(chunk.Config{BlockSize: 256, TargetSize: 1 << 20, Encoding: chunk.EncodingSnappy})
	for _, x := range ts {
		if _, err := c.Append(x, fmt.Sprintf("%s %d", prefix, x), nil); err != nil {
			t.Fatal(err)
		}
	}
	data, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	from, through := c.Bounds()
	return Chunk{Labels: lbls, Fingerprint: index.Fingerprint(lbls), Data: data, Ref: index.ChunkRef{
		From: from, Through: through, Checksum: crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)),
		Entries: uint32(c.Len()), UncompressedBytes: uint32(c.Size()), CompressedBytes: uint32(len(data)),
	}}
}

func selectAll(t *testing.T, s *Store, tenant string, ms []*labels.Matcher, from, through int64, dir logproto.Direction) []string {
	t.Helper()
	it, err := s.SelectLogs(context.Background(), tenant, logql.SelectLogParams{
		Start: from, End: through, Direction: dir, Matchers: ms,
		Pipeline: log.NewFilterPipeline(nil, index.Fingerprint),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, it.Labels().Get("app")+": "+it.At().Line)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func seq(from, n, step int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = from + int64(i)*step
	}
	return out
}

func TestPutAndSelect(t *testing.T) {
	b := memory.New()
	s := newStore(t, b, "ing-1")
	ctx := context.Background()
	api := labels.FromStrings("app", "api")
	db := labels.FromStrings("app", "db")
	// Two overlapping chunks of api (as after an out-of-order cut) and one of db.
	if err := s.PutChunks(ctx, "t1", []Chunk{
		makeChunk(t, api, seq(10, 5, 10), "a"), // 10..50
		makeChunk(t, api, seq(15, 5, 10), "b"), // 15..55
		makeChunk(t, db, seq(12, 3, 20), "d"),  // 12, 32, 52
	}); err != nil {
		t.Fatal(err)
	}
	eq := labels.MustNewMatcher(labels.MatchEqual, "app", "api")
	got := selectAll(t, s, "t1", []*labels.Matcher{eq}, 0, 100, logproto.Forward)
	want := []string{"api: a 10", "api: b 15", "api: a 20", "api: b 25", "api: a 30", "api: b 35", "api: a 40", "api: b 45", "api: a 50", "api: b 55"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("forward\n got %v\nwant %v", got, want)
	}
	// Range bounds: start inclusive, end exclusive; backward.
	got = selectAll(t, s, "t1", []*labels.Matcher{eq}, 20, 45, logproto.Backward)
	want = []string{"api: a 40", "api: b 35", "api: a 30", "api: b 25", "api: a 20"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("backward [20,45)\n got %v\nwant %v", got, want)
	}
	// Every stream, merged.
	re := labels.MustNewMatcher(labels.MatchRegexp, "app", ".+")
	if got := selectAll(t, s, "t1", []*labels.Matcher{re}, 0, 100, logproto.Forward); len(got) != 13 {
		t.Errorf("all streams: %d entries, want 13: %v", len(got), got)
	}
	// Tenants are isolated.
	if got := selectAll(t, s, "t2", []*labels.Matcher{re}, 0, 100, logproto.Forward); len(got) != 0 {
		t.Errorf("tenant t2 sees %v", got)
	}
	// Metadata.
	names, err := s.LabelNames(ctx, "t1", 0, 100, nil)
	if err != nil || fmt.Sprint(names) != "[app]" {
		t.Errorf("label names %v %v", names, err)
	}
	values, err := s.LabelValues(ctx, "t1", "app", 0, 100, nil)
	if err != nil || fmt.Sprint(values) != "[api db]" {
		t.Errorf("label values %v %v", values, err)
	}
	values, err = s.LabelValues(ctx, "t1", "app", 53, 100, nil)
	if err != nil || fmt.Sprint(values) != "[api]" {
		t.Errorf("label values after 53: %v %v", values, err)
	}
	series, err := s.Series(ctx, "t1", 0, 100, [][]*labels.Matcher{{eq}})
	if err != nil || len(series) != 1 || !labels.Equal(series[0], api) {
		t.Errorf("series %v %v", series, err)
	}
	st, err := s.IndexStats(ctx, "t1", 0, 100, []*labels.Matcher{eq})
	if err != nil || st.Streams != 1 || st.Chunks != 2 || st.Entries != 10 {
		t.Errorf("stats %+v %v", st, err)
	}
}

func TestChunksAcrossDaysAndWriters(t *testing.T) {
	b := memory.New()
	ctx := context.Background()
	day := int64(24 * time.Hour)
	lbls := labels.FromStrings("app", "api")
	// A chunk that spans midnight is findable from both days.
	w := newStore(t, b, "ing-1")
	if err := w.PutChunks(ctx, "t", []Chunk{makeChunk(t, lbls, []int64{day - 10, day + 10}, "x")}); err != nil {
		t.Fatal(err)
	}
	// Another process (a querier) sees the objects the writer wrote.
	r := newStore(t, b, "querier")
	eq := labels.MustNewMatcher(labels.MatchEqual, "app", "api")
	if got := selectAll(t, r, "t", []*labels.Matcher{eq}, day, day+100, logproto.Forward); fmt.Sprint(got) != fmt.Sprint([]string{fmt.Sprintf("api: x %d", day+10)}) {
		t.Errorf("second day: %v", got)
	}
	if got := selectAll(t, r, "t", []*labels.Matcher{eq}, 0, day, logproto.Forward); fmt.Sprint(got) != fmt.Sprint([]string{fmt.Sprintf("api: x %d", day-10)}) {
		t.Errorf("first day: %v", got)
	}
	// The same chunk flushed twice (a retry, or a replica) is read once.
	c := makeChunk(t, lbls, seq(100, 3, 1), "y")
	for i := 0; i < 2; i++ {
		if err := w.PutChunks(ctx, "t", []Chunk{c}); err != nil {
			t.Fatal(err)
		}
	}
	r2 := newStore(t, b, "querier2")
	if got := selectAll(t, r2, "t", []*labels.Matcher{eq}, 100, 200, logproto.Forward); len(got) != 3 {
		t.Errorf("duplicated chunk read %d entries, want 3: %v", len(got), got)
	}
}

// TestLazyOpening checks that a backward query with a small limit reads only
// the newest chunks.
func TestLazyOpening(t *testing.T) {
	b := memory.New()
	s := newStore(t, b, "ing")
	ctx := context.Background()
	lbls := labels.FromStrings("app", "api")
	var cs []Chunk
	for i := int64(0); i < 20; i++ {
		cs = append(cs, makeChunk(t, lbls, seq(i*1000, 10, 10), "l"))
	}
	if err := s.PutChunks(ctx, "t", cs); err != nil {
		t.Fatal(err)
	}
	reader := newStore(t, b, "reader")
	reader.cfg.PrefetchChunks = 0
	it, err := reader.SelectLogs(ctx, "t", logql.SelectLogParams{
		Start: 0, End: 1 << 40, Direction: logproto.Backward,
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "app", "api")},
		Pipeline: log.NewFilterPipeline(nil, index.Fingerprint),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 15 && it.Next(); i++ {
	}
	it.Close()
	if n := testutil.ToFloat64(reader.m.chunksFetched); n > 2 {
		t.Errorf("fetched %v chunks for 15 newest entries, want at most 2", n)
	}
}

// TestIdleDaysForgotten checks that the decoded index of a day nobody has
// queried for dayIndexIdle is dropped: a long-running process
// otherwise keeps the index of every day it ever wrote or read. A later
// query lists and loads the day again.
func TestIdleDaysForgotten(t *testing.T) {
	b := memory.New()
	ctx := context.Background()
	day := int64(24 * time.Hour)
	lbls := labels.FromStrings("app", "api")
	eq := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "app", "api")}
	now := time.Unix(1_000_000, 0)
	s := newStore(t, b, "ing-1")
	s.now = func() time.Time { return now }
	cached := func() int {
		n := 0
		s.days.Range(func(any, any) bool { n++; return true })
		return n
	}
	// A flush a day for ten days, each day's index queried once.
	for d := int64(0); d < 10; d++ {
		if err := s.PutChunks(ctx, "t", []Chunk{makeChunk(t, lbls, []int64{d*day + 10}, "x")}); err != nil {
			t.Fatal(err)
		}
		if got := selectAll(t, s, "t", eq, d*day, d*day+100, logproto.Forward); len(got) != 1 {
			t.Fatalf("day %d: %v", d, got)
		}
		now = now.Add(24 * time.Hour)
	}
	// The days before the last idle time are gone, the last one stays.
	if n := cached(); n != 1 {
		t.Errorf("%d days cached after ten days of flushes, want 1", n)
	}
	// A forgotten day is read again from the bucket.
	if got := selectAll(t, s, "t", eq, 0, 100, logproto.Forward); fmt.Sprint(got) != "[api: x 10]" {
		t.Errorf("day 0 after it was forgotten: %v", got)
	}
	// A day in use within the idle time stays.
	now = now.Add(dayIndexIdle / 2)
	selectAll(t, s, "t", eq, 0, 100, logproto.Forward)
	now = now.Add(dayIndexIdle / 2)
	selectAll(t, s, "t", eq, day, day+100, logproto.Forward)
	if n := cached(); n != 2 {
		t.Errorf("%d days cached, want 2 (days 0 and 1)", n)
	}
}
