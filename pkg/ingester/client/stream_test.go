package client

import (
	"context"
	"io"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logproto/pb"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
)

// fakeBatches is a server stream that answers the given batches, then
// io.EOF.
type fakeBatches[R any] struct {
	grpc.ClientStream
	batches []*R
}

func (f *fakeBatches[R]) Recv() (*R, error) {
	if len(f.batches) == 0 {
		return nil, io.EOF
	}
	b := f.batches[0]
	f.batches = f.batches[1:]
	return b, nil
}

// fakeQuerier answers Query and QuerySample with fixed batches.
type fakeQuerier struct {
	pb.QuerierClient
	entries []*pb.QueryResponse
	samples []*pb.SampleQueryResponse
}

func (f fakeQuerier) Query(context.Context, *pb.QueryRequest, ...grpc.CallOption) (grpc.ServerStreamingClient[pb.QueryResponse], error) {
	return &fakeBatches[pb.QueryResponse]{batches: f.entries}, nil
}

func (f fakeQuerier) QuerySample(context.Context, *pb.SampleQueryRequest, ...grpc.CallOption) (grpc.ServerStreamingClient[pb.SampleQueryResponse], error) {
	return &fakeBatches[pb.SampleQueryResponse]{batches: f.samples}, nil
}

func TestSampleStream(t *testing.T) {
	web := &pb.StreamLabels{Labels: `{app="web"}`, Hash: 11}
	db := &pb.StreamLabels{Labels: `{app="db"}`, Hash: 22}
	type row struct {
		labels string
		hash   uint64
		sample iter.Sample
	}
	for _, tc := range []struct {
		name    string
		batches []*pb.SampleQueryResponse
		want    []row
		stats   log.Counters
		err     string
	}{{
		name: "batches, an empty one with stats only",
		batches: []*pb.SampleQueryResponse{
			{Series: []*pb.StreamLabels{web, db}, Samples: []*pb.QuerySample{
				{Series: 1, Timestamp: 1, Value: 1, Hash: 7},
				{Series: 0, Timestamp: 2, Value: 2.5, Hash: 8},
			}, Lines: 10, Bytes: 100, PostFilterLines: 3},
			{Lines: 5, Bytes: 50, PostFilterLines: 0},
			{Series: []*pb.StreamLabels{db}, Samples: []*pb.QuerySample{{Series: 0, Timestamp: 3, Value: 4}}, Lines: 1, Bytes: 9, PostFilterLines: 1},
		},
		want: []row{
			{`{app="db"}`, 22, iter.Sample{Timestamp: 1, Value: 1, Hash: 7}},
			{`{app="web"}`, 11, iter.Sample{Timestamp: 2, Value: 2.5, Hash: 8}},
			{`{app="db"}`, 22, iter.Sample{Timestamp: 3, Value: 4}},
		},
		stats: log.Counters{Lines: 16, Bytes: 159, PostFilter: 4},
	}, {
		name: "a sample names a series the batch does not have",
		batches: []*pb.SampleQueryResponse{
			{Series: []*pb.StreamLabels{web}, Samples: []*pb.QuerySample{{Series: 0, Timestamp: 1, Value: 1}}, Lines: 1},
			{Series: []*pb.StreamLabels{web}, Samples: []*pb.QuerySample{{Series: 1, Timestamp: 2, Value: 1}}, Lines: 2},
		},
		want:  []row{{`{app="web"}`, 11, iter.Sample{Timestamp: 1, Value: 1}}},
		stats: log.Counters{Lines: 1},
		err:   "sample names a series the batch does not have",
	}, {
		name:    "bad labels",
		batches: []*pb.SampleQueryResponse{{Series: []*pb.StreamLabels{{Labels: `{app=`}}, Lines: 3}},
		err:     "bad labels",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var stats log.Counters
			c := &Client{addr: "ingester-1", m: newMetrics(), querier: fakeQuerier{samples: tc.batches}}
			it, err := c.SelectSamples(context.Background(), "tenant", logql.SelectSampleParams{Query: "x", Stats: &stats})
			if err != nil {
				t.Fatal(err)
			}
			var got []row
			for it.Next() {
				got = append(got, row{it.Labels().String(), it.StreamHash(), it.At()})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d samples %v, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("sample %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			if stats != tc.stats {
				t.Errorf("stats %+v, want %+v", stats, tc.stats)
			}
			if err := it.Err(); tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("error %v, want one containing %q", err, tc.err)
			}
			if it.Next() {
				t.Error("Next after the end is true")
			}
			if err := it.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestEntryStream(t *testing.T) {
	web := &pb.StreamLabels{Labels: `{app="web"}`, Hash: 11}
	db := &pb.StreamLabels{Labels: `{app="db"}`, Hash: 22}
	type row struct {
		labels string
		hash   uint64
		entry  logproto.Entry
	}
	for _, tc := range []struct {
		name    string
		batches []*pb.QueryResponse
		want    []row
		err     string
	}{{
		name: "batches with metadata, an empty one between",
		batches: []*pb.QueryResponse{
			{Streams: []*pb.StreamLabels{web, db}, Entries: []*pb.QueryEntry{
				{Stream: 1, Timestamp: 1, Line: "a", StructuredMetadata: []*pb.LabelPairAdapter{{Name: "trace", Value: "t1"}}},
				{Stream: 0, Timestamp: 2, Line: "b", Parsed: []*pb.LabelPairAdapter{{Name: "level", Value: "info"}}},
			}},
			{},
			{Streams: []*pb.StreamLabels{web}, Entries: []*pb.QueryEntry{{Stream: 0, Timestamp: 3, Line: "c"}}},
		},
		want: []row{
			{`{app="db"}`, 22, logproto.Entry{Timestamp: 1, Line: "a", StructuredMetadata: []logproto.LabelAdapter{{Name: "trace", Value: "t1"}}}},
			{`{app="web"}`, 11, logproto.Entry{Timestamp: 2, Line: "b", Parsed: []logproto.LabelAdapter{{Name: "level", Value: "info"}}}},
			{`{app="web"}`, 11, logproto.Entry{Timestamp: 3, Line: "c"}},
		},
	}, {
		name: "an entry names a stream the batch does not have",
		batches: []*pb.QueryResponse{
			{Streams: []*pb.StreamLabels{web}, Entries: []*pb.QueryEntry{{Stream: 0, Timestamp: 1, Line: "a"}, {Stream: 1, Timestamp: 2, Line: "b"}}},
		},
		err: "entry names a stream the batch does not have",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{addr: "ingester-1", m: newMetrics(), querier: fakeQuerier{entries: tc.batches}}
			it, err := c.SelectLogs(context.Background(), "tenant", logql.SelectLogParams{Query: "x"})
			if err != nil {
				t.Fatal(err)
			}
			var got []row
			for it.Next() {
				got = append(got, row{it.Labels().String(), it.StreamHash(), it.At()})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d entries %v, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if got[i].labels != tc.want[i].labels || got[i].hash != tc.want[i].hash || !reflect.DeepEqual(got[i].entry, tc.want[i].entry) {
					t.Errorf("entry %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			if err := it.Err(); tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("error %v, want one containing %q", err, tc.err)
			}
			if err := it.Close(); err != nil {
				t.Error(err)
			}
			if it.Next() {
				t.Error("Next after Close is true")
			}
		})
	}
}
