package ingester

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skald-logs/skald/pkg/chunk"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/storage"
	"github.com/skald-logs/skald/pkg/validation"
)

// fakeStore keeps the chunks written to it by key and can be made to fail.
type fakeStore struct {
	mu     sync.Mutex
	chunks map[string][]byte // by storage.ChunkKey
	puts   int
	// failures makes the next n PutChunks calls fail; -1 fails until reset.
	failures int
	// block, if set, is received from at the start of every PutChunks.
	block chan struct{}
}

var errStoreDown = errors.New("store is down")

func newFakeStore() *fakeStore { return &fakeStore{chunks: map[string][]byte{}} }

func (s *fakeStore) PutChunks(ctx context.Context, tenant string, chunks []storage.Chunk) error {
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	if s.failures != 0 {
		if s.failures > 0 {
			s.failures--
		}
		return errStoreDown
	}
	for _, c := range chunks {
		s.chunks[storage.ChunkKey(tenant, c.Fingerprint, c.Ref)] = slices.Clone(c.Data)
	}
	return nil
}

func (s *fakeStore) setFailures(n int) {
	s.mu.Lock()
	s.failures = n
	s.mu.Unlock()
}

// clone returns a store holding what s holds now: a crashed process's store
// must not see what the old process writes after the crash.
func (s *fakeStore) clone() *fakeStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := newFakeStore()
	for k, v := range s.chunks {
		c.chunks[k] = v
	}
	return c
}

// line is one entry as the tests track it.
type line struct {
	stream string
	ts     int64
	text   string
	meta   string // "k=v" of the single metadata pair, or ""
}

func (l line) String() string { return fmt.Sprintf("%s@%d:%q[%s]", l.stream, l.ts, l.text, l.meta) }

// entries decodes every chunk in the store, one line per stored entry (so
// an entry stored twice shows up twice).
func (s *fakeStore) entries(t *testing.T) []line {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []line
	for key, data := range s.chunks {
		c, err := chunk.Decode(data)
		if err != nil {
			t.Fatalf("chunk %s: %v", key, err)
		}
		// Keys are chunks/<tenant>/<fp>/...: the tests use one stream label.
		from, through := c.Bounds()
		it := c.Iterator(from, through+1, logproto.Forward)
		for it.Next() {
			ts, l, md := it.At()
			out = append(out, line{stream: streamOf(string(l)), ts: ts, text: string(l), meta: metaString(md)})
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// memEntries returns every unflushed entry the ingester holds.
func memEntries(t testing.TB, ing *Ingester) []line {
	t.Helper()
	var out []line
	for _, inst := range ing.allInstances() {
		for _, st := range inst.snapshot() {
			st.mtx.Lock()
			for _, cd := range st.chunks {
				if !cd.flushed.IsZero() || cd.c.Len() == 0 {
					continue
				}
				from, through := cd.c.Bounds()
				it := cd.c.Iterator(from, through+1, logproto.Forward)
				for it.Next() {
					ts, l, md := it.At()
					out = append(out, line{stream: st.lbls.Get("s"), ts: ts, text: string(l), meta: metaString(md)})
				}
				if err := it.Err(); err != nil {
					t.Fatal(err)
				}
			}
			st.mtx.Unlock()
		}
	}
	return out
}

// The tests write "<stream> ..." lines so a stored entry names its stream.
func streamOf(text string) string {
	s, _, _ := strings.Cut(text, " ")
	return s
}

func metaString(md []logproto.LabelAdapter) string {
	var parts []string
	for _, l := range md {
		parts = append(parts, l.Name+"="+l.Value)
	}
	return strings.Join(parts, ",")
}

func sortLines(ls []line) {
	slices.SortFunc(ls, func(a, b line) int {
		if c := strings.Compare(a.stream, b.stream); c != 0 {
			return c
		}
		if a.ts != b.ts {
			if a.ts < b.ts {
				return -1
			}
			return 1
		}
		return strings.Compare(a.text, b.text)
	})
}

// exactlyOnce checks that got holds every line of want exactly once and
// nothing else.
func exactlyOnce(t *testing.T, what string, got, want []line) {
	t.Helper()
	got, want = slices.Clone(got), slices.Clone(want)
	sortLines(got)
	sortLines(want)
	if slices.Equal(got, want) {
		return
	}
	count := map[line]int{}
	for _, l := range got {
		count[l]++
	}
	var missing, dup []line
	for _, l := range want {
		switch count[l] {
		case 0:
			missing = append(missing, l)
		case 1:
		default:
			dup = append(dup, l)
		}
		delete(count, l)
	}
	extra := len(count)
	t.Fatalf("%s: got %d entries, want %d: %d missing (first %v), %d duplicated (first %v), %d unexpected",
		what, len(got), len(want), len(missing), first(missing), len(dup), first(dup), extra)
}

func first(ls []line) any {
	if len(ls) == 0 {
		return "-"
	}
	return ls[0]
}

// testConfig returns the default config with the WAL in dir (WAL off if
// dir is empty) and quick backoffs.
func testConfig(dir string) Config {
	var cfg Config
	fs := flag.NewFlagSet("test", flag.PanicOnError)
	cfg.RegisterFlags(fs)
	cfg.ID = "test"
	cfg.WAL.Dir = dir
	cfg.WAL.Enabled = dir != ""
	cfg.FlushOpBackoff.MinBackoff = time.Millisecond
	cfg.FlushOpBackoff.MaxBackoff = 2 * time.Millisecond
	cfg.FlushOpBackoff.MaxRetries = 3
	cfg.MaxUnflushedBytes = 1 << 30
	cfg.ChunkRetainPeriod = 0
	// The periodic loops never fire during a test: tests drive sweeps and
	// checkpoints themselves.
	cfg.FlushCheckPeriod = time.Hour
	cfg.WAL.CheckpointDuration = time.Hour
	return cfg
}

func testLimits() *validation.Overrides {
	var l validation.Limits
	fs := flag.NewFlagSet("limits", flag.PanicOnError)
	l.RegisterFlags(fs)
	return validation.NewOverrides(l, nil)
}

// startIngester creates an ingester, replays its WAL and starts it.
func startIngester(t *testing.T, cfg Config, store ChunkWriter) *Ingester {
	t.Helper()
	ing, err := New(cfg, testLimits(), store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ing.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	ing.Start()
	return ing
}

// pusher pushes numbered lines and remembers the acknowledged ones.
type pusher struct {
	t     *testing.T
	ing   *Ingester
	base  int64
	n     int
	acked []line
}

// push sends count lines to each of the streams, one request, and records
// them if the push is acknowledged. Every third line carries metadata;
// timestamps go slightly out of order.
func (p *pusher) push(streams []string, count int) error {
	p.t.Helper()
	req := &logproto.PushRequest{}
	var lines []line
	for _, s := range streams {
		st := logproto.Stream{Labels: fmt.Sprintf(`{app="test", s=%q}`, s)}
		for range count {
			p.n++
			l := line{stream: s, ts: p.base + int64(p.n)*int64(time.Millisecond) - int64(p.n%3)*int64(time.Millisecond)*5,
				text: fmt.Sprintf("%s line %d %s", s, p.n, strings.Repeat("x", p.n%50))}
			e := logproto.Entry{Timestamp: l.ts, Line: l.text}
			if p.n%3 == 0 {
				l.meta = fmt.Sprintf("trace_id=t%d", p.n)
				e.StructuredMetadata = []logproto.LabelAdapter{{Name: "trace_id", Value: fmt.Sprintf("t%d", p.n)}}
			}
			st.Entries = append(st.Entries, e)
			lines = append(lines, l)
		}
		req.Streams = append(req.Streams, st)
	}
	if err := p.ing.Push(context.Background(), "tenant", req); err != nil {
		return err
	}
	p.acked = append(p.acked, lines...)
	return nil
}

func (p *pusher) mustPush(streams []string, count int) {
	p.t.Helper()
	if err := p.push(streams, count); err != nil {
		p.t.Fatal(err)
	}
}

// crashCopy copies the WAL directory as it is on disk now: what a process
// killed at this moment leaves behind.
func crashCopy(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, src); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// stopNoFlush stops an ingester that the test no longer needs, without
// writing anything to its store.
func stopNoFlush(t *testing.T, ing *Ingester) {
	t.Helper()
	ing.cfg.WAL.FlushOnShutdown = false
	if err := ing.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
