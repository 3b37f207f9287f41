package compactor

import (
	"context"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"go.uber.org/goleak"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/objstore"
	"github.com/skald-logs/skald/pkg/objstore/memory"
	"github.com/skald-logs/skald/pkg/storage"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func chunkOf(t *testing.T, app string, ts int64) storage.Chunk {
	t.Helper()
	lbls := labels.FromStrings("app", app)
	c := chunk.NewMemChunk(chunk.DefaultConfig())
	if _, err := c.Append(ts, fmt.Sprintf("%s line %d", app, ts), nil); err != nil {
		t.Fatal(err)
	}
	data, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return storage.Chunk{Labels: lbls, Fingerprint: index.Fingerprint(lbls), Data: data, Ref: index.ChunkRef{
		From: ts, Through: ts, Checksum: crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)),
		Entries: 1, UncompressedBytes: uint32(c.Size()), CompressedBytes: uint32(len(data)),
	}}
}

func newStore(t *testing.T, b objstore.Bucket, id string) *storage.Store {
	t.Helper()
	s, err := storage.New(storage.Config{ChunkCacheSizeMB: 1, MaxParallelGetChunk: 2}, b, id, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func lines(t *testing.T, s *storage.Store) []string {
	t.Helper()
	it, err := s.SelectLogs(context.Background(), "t", logql.SelectLogParams{
		Start: 0, End: int64(time.Hour), Direction: logproto.Forward,
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "app", ".+")},
		Pipeline: log.NewFilterPipeline(nil, index.Fingerprint),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, it.At().Line)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func indexObjects(t *testing.T, b objstore.Bucket) []string {
	t.Helper()
	var keys []string
	if err := b.List(context.Background(), "index", func(k string) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestMergeKeepsEveryLineVisible(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	w := newStore(t, b, "ing")
	var want []string
	for i := int64(1); i <= 5; i++ {
		if err := w.PutChunks(ctx, "t", []storage.Chunk{chunkOf(t, "a", i*10), chunkOf(t, "b", i*10+1)}); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("a line %d", i*10), fmt.Sprintf("b line %d", i*10+1))
	}
	if n := len(indexObjects(t, b)); n != 5 {
		t.Fatalf("%d index objects before compaction, want 5", n)
	}
	reader := newStore(t, b, "querier") // refresh period 0: lists on every query
	if got := lines(t, reader); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("before: %v", got)
	}

	now := time.Unix(1000, 0)
	c, err := New(Config{Interval: time.Minute, MinObjects: 3, DeleteDelay: time.Minute}, b, slogDiscard(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return now }
	if err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// Inputs and the merged object side by side: every line still once.
	if n := len(indexObjects(t, b)); n != 6 {
		t.Fatalf("%d objects after merging, want 5 inputs + 1 merged", n)
	}
	if got := lines(t, reader); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("during the delay: %v", got)
	}
	// Before the delay nothing is deleted, and merged inputs are not merged again.
	if err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(indexObjects(t, b)); n != 6 {
		t.Fatalf("%d objects before the delay passed, want 6", n)
	}
	now = now.Add(time.Minute)
	if err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	objs := indexObjects(t, b)
	if len(objs) != 1 || !strings.Contains(objs[0], "/compacted-") {
		t.Fatalf("after the delay: %v, want the merged object only", objs)
	}
	if got := lines(t, reader); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after deletion: %v", got)
	}
	if got := lines(t, newStore(t, b, "fresh")); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fresh reader: %v", got)
	}
}

func TestRestartMergesLeftoversAgain(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	w := newStore(t, b, "ing")
	for i := int64(1); i <= 4; i++ {
		if err := w.PutChunks(ctx, "t", []storage.Chunk{chunkOf(t, "a", i)}); err != nil {
			t.Fatal(err)
		}
	}
	first, _ := New(Config{Interval: time.Minute, MinObjects: 2, DeleteDelay: time.Hour}, b, slogDiscard(), nil)
	if err := first.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// The process stops before deleting; a new compactor finds 4 inputs + 1
	// merged object and merges them all again.
	second, _ := New(Config{Interval: time.Minute, MinObjects: 2, DeleteDelay: 0}, b, slogDiscard(), nil)
	if err := second.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := second.RunOnce(ctx); err != nil { // deletes (delay 0)
		t.Fatal(err)
	}
	objs := indexObjects(t, b)
	if len(objs) != 1 {
		t.Fatalf("objects %v, want one merged object", objs)
	}
	if got := lines(t, newStore(t, b, "fresh")); len(got) != 4 {
		t.Fatalf("lines %v, want 4", got)
	}
}

func TestFewObjectsLeftAlone(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	w := newStore(t, b, "ing")
	for i := int64(1); i <= 2; i++ {
		if err := w.PutChunks(ctx, "t", []storage.Chunk{chunkOf(t, "a", i)}); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := New(Config{Interval: time.Minute, MinObjects: 3, DeleteDelay: 0}, b, slogDiscard(), nil)
	if err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(indexObjects(t, b)); n != 2 {
		t.Fatalf("%d objects, want the 2 inputs untouched", n)
	}
}
