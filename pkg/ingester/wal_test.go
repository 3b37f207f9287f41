package ingester

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/skald-logs/skald/pkg/validation"
	"github.com/skald-logs/skald/pkg/wal"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var base = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC).UnixNano()

// afterCrash starts a new ingester on a copy of dir taken now, with a copy
// of the store as it is now, and checks that the acknowledged lines are,
// between the new ingester's memory and its store, there exactly once.
func afterCrash(t *testing.T, cfg Config, dir string, store *fakeStore, acked []line) (*Ingester, *fakeStore) {
	t.Helper()
	crashed := crashCopy(t, dir)
	store2 := store.clone()
	cfg.WAL.Dir = crashed
	ing := startIngester(t, cfg, store2)
	exactlyOnce(t, "after crash: memory + store", append(memEntries(t, ing), store2.entries(t)...), acked)
	return ing, store2
}

func TestCrashReplay(t *testing.T) {
	streams := []string{"a", "b", "c"}
	for _, tc := range []struct {
		name string
		// work runs against the first process before the crash.
		work func(t *testing.T, ing *Ingester, p *pusher)
	}{
		{"pushes only", func(t *testing.T, ing *Ingester, p *pusher) {
			for range 10 {
				p.mustPush(streams, 20)
			}
		}},
		{"flush in between", func(t *testing.T, ing *Ingester, p *pusher) {
			p.mustPush(streams, 50)
			if err := ing.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			p.mustPush(streams, 50)
		}},
		{"checkpoint then more", func(t *testing.T, ing *Ingester, p *pusher) {
			p.mustPush(streams, 30)
			if err := ing.checkpoint(false); err != nil {
				t.Fatal(err)
			}
			p.mustPush(streams[:1], 30)
		}},
		{"checkpoint, flush, checkpoint", func(t *testing.T, ing *Ingester, p *pusher) {
			p.mustPush(streams, 30)
			if err := ing.checkpoint(false); err != nil {
				t.Fatal(err)
			}
			if err := ing.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			p.mustPush(streams[1:], 30)
			if err := ing.checkpoint(false); err != nil {
				t.Fatal(err)
			}
			p.mustPush(streams, 5)
		}},
		{"small chunks cut as full", func(t *testing.T, ing *Ingester, p *pusher) {
			for range 20 {
				p.mustPush(streams, 40)
			}
			if err := ing.sweep(context.Background(), sweepOptions{}); err != nil {
				t.Fatal(err)
			}
			p.mustPush(streams, 40)
		}},
		{"pressure sweeps", func(t *testing.T, ing *Ingester, p *pusher) {
			ing.budget = 2 << 10
			for range 10 {
				p.mustPush(streams, 20)
				p.mustPush(streams[:1], 20)
				// The flush loop may have run one already.
				if err := ing.sweep(context.Background(), sweepOptions{pressure: true, reason: reasonMemoryPressure}); err != nil {
					t.Fatal(err)
				}
			}
			p.mustPush(streams, 5)
		}},
		{"failed flush", func(t *testing.T, ing *Ingester, p *pusher) {
			p.mustPush(streams, 30)
			ing.store.(*fakeStore).setFailures(-1)
			if err := ing.Flush(context.Background()); err == nil {
				t.Fatal("flush to a failing store succeeded")
			}
			p.mustPush(streams, 30)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			cfg.ChunkBlockSize = 1024
			cfg.ChunkTargetSize = 2048
			store := newFakeStore()
			ing := startIngester(t, cfg, store)
			p := &pusher{t: t, ing: ing, base: base}
			tc.work(t, ing, p)

			ing2, store2 := afterCrash(t, cfg, dir, store, p.acked)
			// Flushing the replayed chunks stores everything exactly once.
			if err := ing2.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			exactlyOnce(t, "after crash and flush: store", store2.entries(t), p.acked)
			stopNoFlush(t, ing2)
			stopNoFlush(t, ing)
		})
	}
}

// A crash during a flush: the chunk objects are written but the process
// dies before the WAL says so. The replayed chunks are the same, so the
// second flush writes the same objects.
func TestCrashBetweenStoreWriteAndFlushRecord(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	store := newFakeStore()
	ing := startIngester(t, cfg, store)
	p := &pusher{t: t, ing: ing, base: base}
	p.mustPush([]string{"a", "b"}, 100)
	if err := ing.checkpoint(false); err != nil {
		t.Fatal(err)
	}
	p.mustPush([]string{"a"}, 10)
	crashed := crashCopy(t, dir) // before the flush is logged ...
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	stored := store.clone() // ... after its objects are written.
	objects := len(stored.chunks)

	cfg.WAL.Dir = crashed
	ing2 := startIngester(t, cfg, stored)
	if err := ing2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(stored.chunks) != objects {
		t.Fatalf("replayed chunks wrote %d new objects; want the same %d objects again", len(stored.chunks)-objects, objects)
	}
	exactlyOnce(t, "store", stored.entries(t), p.acked)
	stopNoFlush(t, ing2)
	stopNoFlush(t, ing)
}

// Pushes, sweeps and checkpoints run concurrently; a crash at the end
// loses and duplicates nothing.
func TestCrashReplayConcurrent(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.ChunkBlockSize = 2048
	cfg.ChunkTargetSize = 4096
	store := newFakeStore()
	ing := startIngester(t, cfg, store)

	var mu sync.Mutex
	var acked []line
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &pusher{t: t, ing: ing, base: base + int64(w)}
			s := []string{fmt.Sprintf("w%d", w), "shared"}
			for range 60 {
				if err := p.push(s, 7); err != nil {
					t.Error(err)
					return
				}
			}
			mu.Lock()
			acked = append(acked, p.acked...)
			mu.Unlock()
		}()
	}
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := ing.checkpoint(false); err != nil {
				t.Error(err)
			}
			if err := ing.sweep(context.Background(), sweepOptions{}); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	close(stop)
	bg.Wait()
	// Lines of the "shared" stream from different writers may be equal
	// only if timestamps and texts collide; they do not (base differs).
	ing2, _ := afterCrash(t, cfg, dir, store, acked)
	stopNoFlush(t, ing2)
	stopNoFlush(t, ing)
}

// Truncating or garbling the last segment loses only the records from the
// damage on: every push acknowledged before it is replayed.
func TestCorruptTail(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	store := newFakeStore()
	ing := startIngester(t, cfg, store)
	p := &pusher{t: t, ing: ing, base: base}
	seg := filepath.Join(dir, "00000000")
	var ends []int64 // segment size after each push
	var counts []int // acked lines after each push
	for range 8 {
		p.mustPush([]string{"a"}, 10)
		fi, err := os.Stat(seg)
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, fi.Size())
		counts = append(counts, len(p.acked))
	}
	crashed := crashCopy(t, dir)
	stopNoFlush(t, ing)

	for k := 1; k < len(ends); k++ {
		recStart, recEnd := ends[k-1], ends[k]
		for _, tc := range []struct {
			name   string
			damage func(path string) error
		}{
			{"truncated in header", func(path string) error { return os.Truncate(path, recStart+3) }},
			{"truncated in payload", func(path string) error { return os.Truncate(path, recEnd-1) }},
			{"garbled payload", func(path string) error { return flipByte(path, recEnd-2) }},
			{"zeroed tail", func(path string) error {
				if err := os.Truncate(path, recStart); err != nil {
					return err
				}
				return os.Truncate(path, recEnd+512)
			}},
		} {
			t.Run(fmt.Sprintf("push%d/%s", k, tc.name), func(t *testing.T) {
				d := crashCopy(t, crashed)
				// Keep only the first k+1 pushes, then damage push k.
				if err := os.Truncate(filepath.Join(d, "00000000"), recEnd); err != nil {
					t.Fatal(err)
				}
				if err := tc.damage(filepath.Join(d, "00000000")); err != nil {
					t.Fatal(err)
				}
				c := cfg
				c.WAL.Dir = d
				reg := prometheus.NewRegistry()
				ing2, err := New(c, testLimits(), newFakeStore(), nil, reg)
				if err != nil {
					t.Fatal(err)
				}
				if err := ing2.Recover(context.Background()); err != nil {
					t.Fatalf("recover from a damaged WAL: %v", err)
				}
				exactlyOnce(t, "replayed", memEntries(t, ing2), p.acked[:counts[k-1]])
				if got := metricSum(t, reg, "skald_ingester_wal_corruptions_total"); got != 1 {
					t.Fatalf("corruptions metric = %v, want 1", got)
				}
				stopNoFlush(t, ing2)
			})
		}
	}
}

func flipByte(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	b[0] ^= 0xff
	_, err = f.WriteAt(b, off)
	return err
}

// When the replayed chunks reach the ceiling they are flushed during
// replay, and a checkpoint is written before the ingester is ready.
func TestReplayMemoryCeiling(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.ChunkBlockSize = 1024
	store := newFakeStore()
	ing := startIngester(t, cfg, store)
	p := &pusher{t: t, ing: ing, base: base}
	for range 30 {
		p.mustPush([]string{"a", "b", "c", "d"}, 25)
	}
	held := ing.unflushed.Load()
	crashed := crashCopy(t, dir)
	stopNoFlush(t, ing)

	cfg.WAL.Dir = crashed
	cfg.WAL.ReplayMemoryCeiling = ByteSize(held / 5)
	store2 := newFakeStore()
	ing2 := startIngester(t, cfg, store2)
	if len(store2.chunks) == 0 {
		t.Fatal("nothing flushed during replay")
	}
	if got := ing2.unflushed.Load(); got >= held/5+held/20 {
		t.Fatalf("after replay %d bytes held, ceiling %d", got, held/5)
	}
	if ing2.wal.LastCheckpoint() < 0 {
		t.Fatal("no checkpoint after a replay that flushed")
	}
	exactlyOnce(t, "memory + store", append(memEntries(t, ing2), store2.entries(t)...), p.acked)

	// A crash right after: the checkpoint holds exactly the unflushed rest.
	ing3, store3 := afterCrash(t, cfg, crashed, store2, p.acked)
	stopNoFlush(t, ing3)
	_ = store3
	stopNoFlush(t, ing2)
}

// While the WAL replays, the ingester is not ready and refuses pushes.
func TestNotReadyWhileReplaying(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	ing := startIngester(t, cfg, newFakeStore())
	p := &pusher{t: t, ing: ing, base: base}
	for range 10 {
		p.mustPush([]string{"a", "b"}, 50)
	}
	held := ing.unflushed.Load()
	crashed := crashCopy(t, dir)
	stopNoFlush(t, ing)

	// A store that blocks holds the replay in its ceiling flush.
	store := newFakeStore()
	store.block = make(chan struct{})
	cfg.WAL.Dir = crashed
	cfg.WAL.ReplayMemoryCeiling = ByteSize(held / 3)
	ing2, err := New(cfg, testLimits(), store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ing2.CheckReady(); err == nil || err.Error() != "not ready: starting" {
		t.Fatalf("before replay: %v", err)
	}
	done := make(chan error)
	go func() { done <- ing2.Recover(context.Background()) }()
	store.block <- struct{}{} // the replay is flushing now
	if err := ing2.CheckReady(); err == nil || err.Error() != "not ready: replaying WAL" {
		t.Fatalf("during replay: %v", err)
	}
	err = (&pusher{t: t, ing: ing2, base: base}).push([]string{"z"}, 1)
	if !errors.Is(err, validation.ErrRateLimited) {
		t.Fatalf("push during replay: %v, want a 429 error", err)
	}
	close(store.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := ing2.CheckReady(); err != nil {
		t.Fatalf("after replay: %v", err)
	}
	ing2.Start()
	stopNoFlush(t, ing2)
}

// A clean stop flushes, checkpoints what is left and leaves a WAL whose
// replay is empty; with the store down the data stays in the checkpoint.
func TestStopAndRestart(t *testing.T) {
	for _, storeDown := range []bool{false, true} {
		t.Run(fmt.Sprintf("storeDown=%v", storeDown), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			store := newFakeStore()
			ing := startIngester(t, cfg, store)
			p := &pusher{t: t, ing: ing, base: base}
			p.mustPush([]string{"a", "b"}, 40)
			if storeDown {
				store.setFailures(-1)
			}
			if err := ing.Stop(context.Background()); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			d, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range d {
				if e.Name() != "lock" {
					names = append(names, e.Name())
				}
			}
			if !slices.Equal(names, []string{"checkpoint.00000000"}) {
				t.Fatalf("wal dir after stop: %v, want only the final checkpoint", names)
			}
			store.setFailures(0)
			ing2 := startIngester(t, cfg, store)
			want := p.acked
			if !storeDown {
				want = nil
			}
			exactlyOnce(t, "memory after restart", memEntries(t, ing2), want)
			if err := ing2.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			exactlyOnce(t, "store", store.entries(t), p.acked)
			stopNoFlush(t, ing2)
		})
	}
}

// A write to the WAL that fails fails the push.
func TestPushFailsWhenWALFails(t *testing.T) {
	dir := t.TempDir()
	ing := startIngester(t, testConfig(dir), newFakeStore())
	p := &pusher{t: t, ing: ing, base: base}
	p.mustPush([]string{"a"}, 1)
	if err := ing.wal.Close(); err != nil {
		t.Fatal(err)
	}
	err := p.push([]string{"a"}, 1)
	if !errors.Is(err, wal.ErrClosed) {
		t.Fatalf("push with a closed WAL: %v", err)
	}
	ing.wal = nil // already closed
	ing.cfg.WAL.Enabled = false
	ing.Stop(context.Background())
}

func TestWALDisabled(t *testing.T) {
	store := newFakeStore()
	ing := startIngester(t, testConfig(""), store)
	p := &pusher{t: t, ing: ing, base: base}
	p.mustPush([]string{"a", "b"}, 20)
	if err := ing.CheckReady(); err != nil {
		t.Fatal(err)
	}
	if err := ing.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, "store after stop", store.entries(t), p.acked)
}

// metricSum returns the sum of a counter or gauge family over its labels.
func metricSum(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

// A replay that fails (here: cancelled) leaves the ingester refusing pushes
// and the WAL as it was.
func TestReplayFailure(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	ing := startIngester(t, cfg, newFakeStore())
	p := &pusher{t: t, ing: ing, base: base}
	p.mustPush([]string{"a"}, 10)
	crashed := crashCopy(t, dir)
	stopNoFlush(t, ing)

	cfg.WAL.Dir = crashed
	ing2, err := New(cfg, testLimits(), newFakeStore(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ing2.Recover(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recover with a cancelled context = %v", err)
	}
	if err := ing2.CheckReady(); err == nil || !strings.Contains(err.Error(), "WAL replay failed") {
		t.Fatalf("CheckReady after a failed replay = %v", err)
	}
	if err := (&pusher{t: t, ing: ing2, base: base}).push([]string{"z"}, 1); !errors.Is(err, validation.ErrRateLimited) {
		t.Fatalf("push after a failed replay = %v, want a 429 error", err)
	}
	if err := ing2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	ing3 := startIngester(t, cfg, newFakeStore())
	exactlyOnce(t, "replayed after the failed attempt", memEntries(t, ing3), p.acked)
	stopNoFlush(t, ing3)
}
