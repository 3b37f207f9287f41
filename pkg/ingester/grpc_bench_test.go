package ingester

import (
	"context"
	"fmt"
	"testing"

	"github.com/skald-logs/skald/pkg/ingester/client"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

func benchPush(streams, entries int, round int) *logproto.PushRequest {
	req := &logproto.PushRequest{}
	for s := range streams {
		var es []logproto.Entry
		for i := range entries {
			es = append(es, logproto.Entry{Timestamp: int64(round*entries+i) + 1, Line: fmt.Sprintf(`level=info msg="GET /api/v1/users/%d 200" duration=12ms`, i)})
		}
		req.Streams = append(req.Streams, pushStream(fmt.Sprintf(`{app="bench", pod="pod-%d"}`, s), es...))
	}
	return req
}

// BenchmarkGRPCPush is one distributor-to-ingester push of 10 streams of 100
// entries over a real loopback gRPC connection, ingester work included.
func BenchmarkGRPCPush(b *testing.B) {
	ing := testIngester(b, 0)
	_, c := serve(b, ing)
	req := benchPush(10, 100, 0)
	b.SetBytes(int64(client.PushRequestSize(req)))
	b.ReportAllocs()
	round := 0
	for b.Loop() {
		round++
		for i := range req.Streams {
			for j := range req.Streams[i].Entries {
				req.Streams[i].Entries[j].Timestamp = int64(round*100 + j + 1)
			}
		}
		if err := c.Push(context.Background(), "t", req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGRPCQuery streams 10 000 entries of 10 streams from an ingester
// over a real loopback gRPC connection.
func BenchmarkGRPCQuery(b *testing.B) {
	ing := testIngester(b, 0)
	_, c := serve(b, ing)
	var bytes int64
	for r := range 10 {
		req := benchPush(10, 100, r)
		for _, s := range req.Streams {
			for _, e := range s.Entries {
				bytes += int64(len(e.Line))
			}
		}
		if err := c.Push(context.Background(), "t", req); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	for b.Loop() {
		it, err := c.SelectLogs(context.Background(), "t", logql.SelectLogParams{Start: 0, End: 1 << 40, Direction: logproto.Forward, Query: `{app="bench"}`})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for it.Next() {
			n++
		}
		if it.Err() != nil || n != 10000 {
			b.Fatalf("%d entries, %v", n, it.Err())
		}
		_ = it.Close()
	}
}
