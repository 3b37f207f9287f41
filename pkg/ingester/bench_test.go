package ingester

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skald-logs/skald/pkg/logproto"
)

// benchLines are the lines of testdata/loghub/HDFS_2k.log (see its README).
func benchLines(b *testing.B) []string {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "loghub", "HDFS_2k.log"))
	if err != nil {
		b.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// benchRequest builds a push of n lines to one of 10 streams.
func benchRequest(lines []string, n int, seq int64) (*logproto.PushRequest, int) {
	st := logproto.Stream{Labels: fmt.Sprintf(`{app="hdfs", shard="%d"}`, seq%10)}
	bytes := 0
	for k := range n {
		l := lines[(int(seq)*n+k)%len(lines)]
		st.Entries = append(st.Entries, logproto.Entry{Timestamp: base + seq*int64(n) + int64(k), Line: l})
		bytes += len(l)
	}
	return &logproto.PushRequest{Streams: []logproto.Stream{st}}, bytes
}

// BenchmarkPush measures acknowledged pushes of 100 HDFS lines through
// Ingester.Push: without a WAL and with each sync policy, from 2 and 16
// goroutines. The WAL is written under the test's temporary directory, so
// the numbers depend on that disk.
func BenchmarkPush(b *testing.B) {
	lines := benchLines(b)
	for _, mode := range []string{"off", "none", "batch", "always"} {
		for _, par := range []int{1, 8} {
			b.Run(fmt.Sprintf("wal=%s/goroutines=%d", mode, par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
				dir := ""
				if mode != "off" {
					dir = b.TempDir()
				}
				cfg := testConfig(dir)
				cfg.WAL.Sync = mode
				if mode == "off" {
					cfg.WAL.Sync = "none"
				}
				ing, err := New(cfg, testLimits(), newFakeStore(), nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := ing.Recover(context.Background()); err != nil {
					b.Fatal(err)
				}
				_, size := benchRequest(lines, 100, 0)
				var seq atomic.Int64
				b.ReportAllocs()
				b.SetBytes(int64(size))
				b.SetParallelism(par)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req, _ := benchRequest(lines, 100, seq.Add(1))
						if err := ing.Push(context.Background(), "bench", req); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "lines/s")
				b.StopTimer()
				ing.cfg.WAL.FlushOnShutdown = false
				ing.Stop(context.Background())
			})
		}
	}
}

// BenchmarkReplay replays a WAL of the given size (segments only, no
// checkpoint) into a new ingester and reports the replay rate and the heap
// in use afterwards.
func BenchmarkReplay(b *testing.B) {
	lines := benchLines(b)
	for _, mb := range []int{16, 64} {
		b.Run(fmt.Sprintf("wal=%dMiB", mb), func(b *testing.B) {
			dir := b.TempDir()
			cfg := testConfig(dir)
			cfg.WAL.Sync = "none"
			ing, err := New(cfg, testLimits(), newFakeStore(), nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := ing.Recover(context.Background()); err != nil {
				b.Fatal(err)
			}
			var seq int64
			for walSize(b, dir) < int64(mb)<<20 {
				for range 100 {
					seq++
					req, _ := benchRequest(lines, 100, seq)
					if err := ing.Push(context.Background(), "bench", req); err != nil {
						b.Fatal(err)
					}
				}
			}
			ing.wal.Close() // a crash: no flush, no checkpoint
			size := walSize(b, dir)
			entries := seq * 100

			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			var heap uint64
			var elapsed time.Duration
			for b.Loop() {
				t0 := time.Now()
				ing2, err := New(cfg, testLimits(), newFakeStore(), nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := ing2.Recover(context.Background()); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(t0)
				b.StopTimer()
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heap = max(heap, ms.HeapInuse)
				if got := len(memEntries(b, ing2)); int64(got) != entries {
					b.Fatalf("replayed %d entries, want %d", got, entries)
				}
				ing2.wal.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(entries)*float64(b.N)/elapsed.Seconds(), "entries/s")
			b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
		})
	}
}

func walSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
