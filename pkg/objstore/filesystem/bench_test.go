package filesystem

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/skald-logs/skald/pkg/objstore"
)

// chunkSize is Loki's default target chunk size, 1.5 MiB.
const chunkSize = 1572864

func chunkData() []byte {
	data := make([]byte, chunkSize)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	return data
}

func BenchmarkPut(b *testing.B) {
	bkt := newBucket(b)
	ctx := context.Background()
	data := chunkData()
	b.ReportAllocs()
	b.SetBytes(chunkSize)
	i := 0
	for b.Loop() {
		key := fmt.Sprintf("chunks/fake/%04x/%d", i%64, i)
		if err := bkt.Put(ctx, key, bytes.NewReader(data), chunkSize); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGetAll(b *testing.B) {
	bkt := newBucket(b)
	ctx := context.Background()
	if err := bkt.Put(ctx, "chunks/fake/00ab/1", bytes.NewReader(chunkData()), chunkSize); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(chunkSize)
	for b.Loop() {
		data, err := objstore.GetAll(ctx, bkt, "chunks/fake/00ab/1")
		if err != nil || len(data) != chunkSize {
			b.Fatal(len(data), err)
		}
	}
}

// BenchmarkGetInto reads the object into a reused buffer, the way a chunk
// cache with pooled buffers would.
func BenchmarkGetInto(b *testing.B) {
	bkt := newBucket(b)
	ctx := context.Background()
	if err := bkt.Put(ctx, "chunks/fake/00ab/1", bytes.NewReader(chunkData()), chunkSize); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, chunkSize)
	b.ReportAllocs()
	b.SetBytes(chunkSize)
	for b.Loop() {
		rc, err := bkt.Get(ctx, "chunks/fake/00ab/1")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(rc, buf); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

func BenchmarkGetRange(b *testing.B) {
	bkt := newBucket(b)
	ctx := context.Background()
	if err := bkt.Put(ctx, "chunks/fake/00ab/1", bytes.NewReader(chunkData()), chunkSize); err != nil {
		b.Fatal(err)
	}
	const blockSize = 256 << 10
	buf := make([]byte, blockSize)
	b.ReportAllocs()
	b.SetBytes(blockSize)
	for b.Loop() {
		rc, err := bkt.GetRange(ctx, "chunks/fake/00ab/1", 512<<10, blockSize)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(rc, buf); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

func BenchmarkList(b *testing.B) {
	bkt := newBucket(b)
	ctx := context.Background()
	const n = 1000
	for i := range n {
		key := fmt.Sprintf("index/fake/%d/%04d", 20400+i%10, i)
		if err := bkt.Put(ctx, key, bytes.NewReader(nil), 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		count := 0
		if err := bkt.List(ctx, "index/fake", func(string) error { count++; return nil }); err != nil || count != n {
			b.Fatal(count, err)
		}
	}
}
