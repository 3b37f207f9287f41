package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/logql/syntax"
	"github.com/skald-logs/skald/pkg/objstore/memory"
)

// selectQuery runs a log query; with push set it passes the query text,
// from which the store takes the literals it pushes down to the chunks.
func selectQuery(t *testing.T, s *Store, query string, dir logproto.Direction, push bool) ([]string, error) {
	t.Helper()
	ex, err := syntax.ParseLogSelector(query, true)
	if err != nil {
		t.Fatal(err)
	}
	pipeline, err := log.NewPipeline(ex, index.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	p := logql.SelectLogParams{Start: 0, End: 1 << 40, Direction: dir, Matchers: ex.Matchers(), Pipeline: pipeline}
	if push {
		p.Query = query
	}
	it, err := s.SelectLogs(context.Background(), "t1", p)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, fmt.Sprintf("%s %d %s", it.Labels(), it.At().Timestamp, it.At().Line))
	}
	return out, it.Err()
}

func TestSelectLogsPushDown(t *testing.T) {
	b := memory.New()
	s := newStore(t, b, "ing-1")
	api := labels.FromStrings("app", "api")
	db := labels.FromStrings("app", "db")
	if err := s.PutChunks(context.Background(), "t1", []Chunk{
		makeChunk(t, api, seq(10, 200, 10), "a"),   // 10..2000, many blocks
		makeChunk(t, api, seq(1005, 100, 10), "b"), // overlapping
		makeChunk(t, db, seq(12, 300, 7), "d"),
	}); err != nil {
		t.Fatal(err)
	}
	var lines []string // every line stored, for the expected counts
	for _, x := range seq(10, 200, 10) {
		lines = append(lines, fmt.Sprintf("a %d", x))
	}
	for _, x := range seq(1005, 100, 10) {
		lines = append(lines, fmt.Sprintf("b %d", x))
	}
	for _, x := range seq(12, 300, 7) {
		lines = append(lines, fmt.Sprintf("d %d", x))
	}
	has := strings.Contains
	queries := []struct {
		query string
		keep  func(line string) bool
	}{
		{`{app=~".+"} |= "a 1"`, func(l string) bool { return has(l, "a 1") }},
		{`{app=~".+"} |= "a 1" or "b 1"`, func(l string) bool { return has(l, "a 1") || has(l, "b 1") }},
		{`{app="api"} |= "zzz"`, func(string) bool { return false }},
		{`{app=~".+"} |~ "d 1[0-9]+5$"`, regexp.MustCompile(`d 1[0-9]+5$`).MatchString},
		{`{app=~".+"} |= "5" != "55" | line_format "{{.app}}" |= "api"`, func(l string) bool { return has(l, "5") && !has(l, "55") && l[0] != 'd' }},
		{`{app=~".+"} |= "0" | line_format "x" |= "x"`, func(l string) bool { return has(l, "0") }},
	}
	for _, q := range queries {
		for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
			want, err := selectQuery(t, s, q.query, dir, false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := selectQuery(t, s, q.query, dir, true)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s %v: pushed down\n%v\nwithout\n%v", q.query, dir, got, want)
			}
			n := 0
			for _, l := range lines {
				if q.keep(l) {
					n++
				}
			}
			if len(got) != n || n == 0 && q.query != `{app="api"} |= "zzz"` {
				t.Errorf("%s %v: %d lines, want %d", q.query, dir, len(got), n)
			}
		}
	}
}

// TestCorruptChunkNotCached checks that a chunk object is checked in full
// before it enters the cache, whose bytes later queries trust.
func TestCorruptChunkNotCached(t *testing.T) {
	b := memory.New()
	s := newStore(t, b, "ing-1")
	api := labels.FromStrings("app", "api")
	c := makeChunk(t, api, seq(10, 100, 10), "a")
	if err := s.PutChunks(context.Background(), "t1", []Chunk{c}); err != nil {
		t.Fatal(err)
	}
	// Flip a byte inside the first block, where only its checksum sees it.
	bad := bytes.Clone(c.Data)
	bad[8] ^= 0x40
	key := ChunkKey("t1", c.Fingerprint, c.Ref)
	if err := b.Put(context.Background(), key, bytes.NewReader(bad), int64(len(bad))); err != nil {
		t.Fatal(err)
	}
	reader := newStore(t, b, "reader")
	for i := range 2 {
		_, err := selectQuery(t, reader, `{app="api"}`, logproto.Forward, true)
		if !errors.Is(err, chunk.ErrCorrupt) {
			t.Fatalf("query %d: error %v, want ErrCorrupt", i, err)
		}
	}
	if n := testutil.ToFloat64(reader.m.chunksFetched); n != 2 {
		t.Errorf("%v chunk reads from the bucket, want 2: the corrupt chunk must not be cached", n)
	}
}
