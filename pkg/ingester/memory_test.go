package ingester

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skald-logs/skald/pkg/logproto"
)

// logLine returns a log line of about size bytes that compresses about as
// well as real access logs: fixed words, varying numbers and ids.
func logLine(r *rand.Rand, stream string, n, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s 10.%d.%d.%d - - GET /api/v%d/items/%d?page=%d HTTP/1.1 %d %d %.3fms trace=%016x ",
		stream, r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(3), r.IntN(100000), r.IntN(50),
		[]int{200, 200, 200, 404, 500}[r.IntN(5)], r.IntN(20000), r.Float64()*100, r.Uint64())
	for b.Len() < size {
		b.WriteString([]string{"user-agent=curl/8.1 ", "region=eu-west-1 ", "cache=miss ", "cache=hit ", fmt.Sprintf("n=%d ", n)}[r.IntN(5)])
	}
	return b.String()
}

// heapInUse returns the bytes of live heap objects after a collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// The chunk memory estimate follows the heap the chunks really take, for
// chunks that never cut a block, chunks with several blocks, and many
// streams with their head blocks part full.
func TestMemoryEstimateTracksHeap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		streams int
		lines   int      // per stream
		budget  ByteSize // small: smaller blocks (newChunkConfig)
	}{
		{"one stream, heads only", 1, 600, 0},
		{"one stream, many blocks", 1, 12000, 0},
		{"many streams, part-full heads", 200, 300, 0},
		{"some streams, blocks and heads", 20, 3000, 0},
		{"some streams, small blocks", 20, 3000, 4 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("")
			cfg.MemoryBudget = 1 << 40
			if tc.budget > 0 {
				cfg.MemoryBudget = tc.budget
			}
			// The ingester is not started: no flush loop, no pressure
			// sweeps.
			ing, err := New(cfg, testLimits(), newFakeStore(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := ing.Recover(context.Background()); err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			base := time.Now().Add(-time.Hour).UnixNano()
			before := heapInUse()
			const batch = 100
			for sent := 0; sent < tc.lines; sent += batch {
				req := &logproto.PushRequest{}
				for s := range tc.streams {
					st := logproto.Stream{Labels: fmt.Sprintf(`{app="mem", s="s%d"}`, s)}
					for k := range min(batch, tc.lines-sent) {
						n := sent + k
						st.Entries = append(st.Entries, logproto.Entry{
							Timestamp: base + int64(n)*int64(time.Millisecond),
							Line:      logLine(r, fmt.Sprintf("s%d", s), n, 150+r.IntN(80)),
						})
					}
					req.Streams = append(req.Streams, st)
				}
				if err := ing.Push(context.Background(), "tenant", req); err != nil {
					t.Fatal(err)
				}
			}
			heap := heapInUse() - before
			est := ing.chunkMem.Load()
			if tc.budget > 0 && est < int64(tc.budget) {
				t.Fatalf("the pushes took %d bytes, below the budget %d", est, tc.budget)
			}
			// The first chunks, made while few were held, may still have
			// the configured size.
			if blocks := blockSizes(ing); tc.budget > 0 && blocks[minBlockSize] == 0 {
				t.Fatalf("chunks by block size %v: want some of %d with a small budget", blocks, minBlockSize)
			}
			ratio := float64(est) / float64(heap)
			t.Logf("heap %s, estimate %s (%.2f)", humanBytes(heap), humanBytes(est), ratio)
			if ratio < 0.75 || ratio > 1.33 {
				t.Errorf("estimate %s is %.2f times the heap the chunks take (%s); want within [0.75, 1.33]",
					humanBytes(est), ratio, humanBytes(heap))
			}
			runtime.KeepAlive(ing)
		})
	}
}

// blockSizes counts the chunks held by block size.
func blockSizes(ing *Ingester) map[int]int {
	out := map[int]int{}
	for _, inst := range ing.allInstances() {
		for _, st := range inst.snapshot() {
			st.mtx.Lock()
			for _, cd := range st.chunks {
				out[cd.blockSize]++
			}
			st.mtx.Unlock()
		}
	}
	return out
}

// When a push takes the chunks to the memory budget it wakes the flush
// loop; the pressure sweep then flushes the largest chunks, drops them from
// memory at once (whatever the retain period), and stops at the low
// watermark. Nothing is lost: every line is stored once in the end.
func TestMemoryPressureSweep(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MemoryBudget = 128 << 10
	cfg.ChunkRetainPeriod = time.Hour
	store := newFakeStore()
	reg := prometheus.NewRegistry()
	ing, err := New(cfg, testLimits(), store, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	// Recovered but not started: the test runs the sweeps the flush loop
	// would run.
	if err := ing.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := &pusher{t: t, ing: ing, base: base}
	// Streams of different volumes: a1 gets the most.
	streams := [][]string{{"a1", "a2", "a3", "a4", "a5", "a6"}, {"a1", "a2", "a3"}, {"a1"}}
	for round := 0; !ing.overBudget(); round++ {
		if len(ing.pressureCh) != 0 {
			t.Fatal("pressure signalled below the budget")
		}
		p.mustPush(streams[round%3], 20)
	}
	if len(ing.pressureCh) != 1 {
		t.Fatal("a push over the budget did not signal the flush loop")
	}
	<-ing.pressureCh

	// The size of each stream's chunk before the sweep.
	sizes := map[string]int64{}
	for _, st := range ing.instance("tenant", false).snapshot() {
		st.mtx.Lock()
		for _, cd := range st.chunks {
			sizes[st.lbls.Get("s")] += cd.memAccounted
		}
		st.mtx.Unlock()
	}
	if err := ing.sweep(context.Background(), sweepOptions{pressure: true, reason: reasonMemoryPressure}); err != nil {
		t.Fatal(err)
	}
	if held, low := ing.chunkMem.Load(), ing.budget*lowWatermarkShare/4; held > low {
		t.Fatalf("after the pressure sweep the chunks take %d bytes, above the low watermark %d", held, low)
	}
	flushed := map[string]bool{}
	for _, l := range store.entries(t) {
		flushed[l.stream] = true
	}
	if len(flushed) == 0 || len(flushed) == len(sizes) {
		t.Fatalf("flushed the chunks of %d streams of %d; want the largest, not all", len(flushed), len(sizes))
	}
	// Every flushed stream was at least as large as every kept one, and
	// its chunks are gone from memory although the retain period is long.
	var minFlushed, maxKept int64 = 1 << 62, 0
	for s, size := range sizes {
		if flushed[s] {
			minFlushed = min(minFlushed, size)
		} else {
			maxKept = max(maxKept, size)
		}
	}
	if minFlushed < maxKept {
		t.Fatalf("flushed a chunk of %d bytes and kept one of %d; sizes %v, flushed %v", minFlushed, maxKept, sizes, flushed)
	}
	for _, st := range ing.instance("tenant", false).snapshot() {
		st.mtx.Lock()
		for _, cd := range st.chunks {
			if !cd.flushed.IsZero() {
				t.Errorf("stream %s keeps a flushed chunk after a pressure sweep", st.key)
			}
		}
		st.mtx.Unlock()
	}
	if got := metricSum(t, reg, "skald_ingester_memory_chunk_bytes"); got != float64(ing.chunkMem.Load()) || got == 0 {
		t.Fatalf("memory metric %v, estimate %d", got, ing.chunkMem.Load())
	}
	exactlyOnce(t, "memory + store", append(memEntries(t, ing), store.entries(t)...), p.acked)

	// Below the watermark a pressure sweep changes nothing.
	puts := store.puts
	if err := ing.sweep(context.Background(), sweepOptions{pressure: true, reason: reasonMemoryPressure}); err != nil {
		t.Fatal(err)
	}
	if store.puts != puts {
		t.Fatal("a pressure sweep below the budget wrote to the store")
	}
	p.mustPush(streams[0], 10)
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, "store", store.entries(t), p.acked)
	if ing.chunkMem.Load() == 0 {
		t.Fatal("the flushed chunks kept for the retain period do not count")
	}
	// The next sweep after the retain period drops them.
	ing.cfg.ChunkRetainPeriod = 0
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := ing.chunkMem.Load(); got != 0 || countChunks(ing) != 0 {
		t.Fatalf("estimate %d bytes, %d chunks, with every chunk flushed and dropped", got, countChunks(ing))
	}
	stopNoFlush(t, ing)
}

// With more streams than the budget holds at the smallest size a pressure
// sweep cuts, a sweep cuts nothing, and the next waits until the chunks
// hold another quarter of the budget: no sweep for every push.
func TestMemoryPressureTooManyStreams(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MemoryBudget = 256 << 10 // the smallest cut: 4 KiB
	store := newFakeStore()
	ing, err := New(cfg, testLimits(), store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ing.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := &pusher{t: t, ing: ing, base: base}
	var streams []string
	for k := range 300 {
		streams = append(streams, fmt.Sprintf("s%03d", k))
	}
	for !ing.overBudget() {
		p.mustPush(streams, 5)
	}
	if err := ing.relieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	held := ing.chunkMem.Load()
	if store.puts != 0 || held < ing.budget {
		t.Fatalf("a sweep with every chunk below the smallest cut wrote %d batches, left %d bytes", store.puts, held)
	}
	if ing.overBudget() {
		t.Fatal("over budget right after a sweep that could not cut anything")
	}
	for ing.chunkMem.Load() < held+ing.budget/4 {
		if ing.overBudget() {
			t.Fatalf("over budget again at %d bytes, before another quarter of the budget (%d)", ing.chunkMem.Load(), held+ing.budget/4)
		}
		p.mustPush(streams[:100], 1)
	}
	if !ing.overBudget() {
		t.Fatal("not over budget after another quarter of it")
	}
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, "store", store.entries(t), p.acked)
	// The next sweep drops the flushed chunks (no retain period here).
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ing.overBudget() || ing.pressureAt.Load() != 0 {
		t.Fatalf("over budget (%d bytes) or a stale threshold (%d) after everything was flushed", ing.chunkMem.Load(), ing.pressureAt.Load())
	}
	stopNoFlush(t, ing)
}

// The flush loop runs the pressure sweep on its own when pushes reach the
// budget.
func TestMemoryPressureFlushLoop(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MemoryBudget = 64 << 10
	store := newFakeStore()
	reg := prometheus.NewRegistry()
	ing, err := New(cfg, testLimits(), store, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	ing.Start()
	p := &pusher{t: t, ing: ing, base: base}
	for !ing.overBudget() {
		p.mustPush([]string{"a", "b"}, 20)
	}
	// Wait for the sweep (the loop's period is an hour: only the signal
	// can start it).
	deadline := time.Now().Add(time.Minute)
	for metricSum(t, reg, "skald_ingester_memory_pressure_sweeps_total") == 0 || len(store.entries(t)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no pressure sweep flushed anything within a minute")
		}
		time.Sleep(time.Millisecond)
	}
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, "store", store.entries(t), p.acked)
	stopNoFlush(t, ing)
}
