package s3_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/skald-logs/skald/pkg/objstore"
	"github.com/skald-logs/skald/pkg/objstore/s3/s3test"
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

// BenchmarkPut measures a 1.5 MiB Put to versitygw on the loopback
// interface: mostly the SDK's signing and checksumming, HTTP, and the
// server's own fsync-free write.
func BenchmarkPut(b *testing.B) {
	bkt := newBucket(b, s3test.Start(b), nil)
	defer bkt.Close()
	ctx := context.Background()
	data := chunkData()
	b.ReportAllocs()
	b.SetBytes(chunkSize)
	i := 0
	for b.Loop() {
		if err := bkt.Put(ctx, fmt.Sprintf("chunks/fake/%d", i), bytes.NewReader(data), chunkSize); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGetAll(b *testing.B) {
	bkt := newBucket(b, s3test.Start(b), nil)
	defer bkt.Close()
	ctx := context.Background()
	if err := bkt.Put(ctx, "chunks/fake/1", bytes.NewReader(chunkData()), chunkSize); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(chunkSize)
	for b.Loop() {
		data, err := objstore.GetAll(ctx, bkt, "chunks/fake/1")
		if err != nil || len(data) != chunkSize {
			b.Fatal(len(data), err)
		}
	}
}
