package wal

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
)

// benchEntries is an Entries payload of n entries of lineLen bytes.
func benchEntries(n, lineLen int) []byte {
	line := string(bytes.Repeat([]byte("x"), lineLen))
	b := AppendEntriesHeader(nil, 42)
	for i := range n {
		b = AppendEntry(b, 7, int64(1700000000000000000+i), line, 1)
		b = AppendLabel(b, "trace_id", "0123456789abcdef")
	}
	return b
}

func BenchmarkEncodeEntries(b *testing.B) {
	line := string(bytes.Repeat([]byte("x"), 200))
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	b.SetBytes(100 * 200)
	for b.Loop() {
		buf = AppendEntriesHeader(buf[:0], 42)
		for i := range 100 {
			buf = AppendEntry(buf, 7, int64(i), line, 1)
			buf = AppendLabel(buf, "trace_id", "0123456789abcdef")
		}
	}
}

func BenchmarkDecodeEntries(b *testing.B) {
	p := benchEntries(100, 200)
	var r Record
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if err := r.Decode(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogWait measures acknowledged pushes of 100 lines of 200 bytes
// (one record each) under each sync policy, from 1 and from 16 concurrent
// writers. It writes to the disk under the test's temporary directory: the
// numbers depend on that disk's fsync latency.
func BenchmarkLogWait(b *testing.B) {
	p := benchEntries(100, 200)
	for _, policy := range []SyncPolicy{SyncAlways, SyncBatch, SyncNone} {
		for _, writers := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/goroutines=%d", policy, writers*runtime.GOMAXPROCS(0)), func(b *testing.B) {
				w, err := Open(Options{Dir: b.TempDir(), Sync: policy}, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer w.Close()
				b.ReportAllocs()
				b.SetBytes(int64(len(p)))
				b.SetParallelism(writers)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						t, err := w.Log(p)
						if err == nil {
							err = w.Wait(t)
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "acks/s")
			})
		}
	}
}

func BenchmarkSegmentReader(b *testing.B) {
	p := benchEntries(100, 200)
	seg := appendSegmentHeader(nil)
	for range 1000 {
		seg = appendFrame(seg, p)
	}
	var r Record
	b.ReportAllocs()
	b.SetBytes(int64(len(seg)))
	for b.Loop() {
		sr := NewSegmentReader(bytes.NewReader(seg), int64(len(seg)))
		for sr.Next() {
			if err := r.Decode(sr.Record()); err != nil {
				b.Fatal(err)
			}
		}
	}
}
