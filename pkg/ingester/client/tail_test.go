package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logproto/pb"
)

// tailQuerier answers Tail with fixed batches, then io.EOF.
type tailQuerier struct {
	pb.QuerierClient
	batches []*pb.TailResponse
}

func (f tailQuerier) Tail(context.Context, *pb.TailRequest, ...grpc.CallOption) (grpc.ServerStreamingClient[pb.TailResponse], error) {
	return &fakeBatches[pb.TailResponse]{batches: f.batches}, nil
}

func describeTail(es []iter.StreamEntry) string {
	var s []string
	for _, e := range es {
		d := fmt.Sprintf("%s/%d/%d/%q", e.Labels, e.Hash, e.Timestamp, e.Line)
		if len(e.StructuredMetadata) > 0 {
			d += fmt.Sprint(e.StructuredMetadata)
		}
		if len(e.Parsed) > 0 {
			d += fmt.Sprint(e.Parsed)
		}
		s = append(s, d)
	}
	return strings.Join(s, " ")
}

func TestClientTail(t *testing.T) {
	web := &pb.StreamLabels{Labels: `{app="web"}`, Hash: 11}
	db := &pb.StreamLabels{Labels: `{app="db"}`, Hash: 22}
	for _, tc := range []struct {
		name    string
		batches []*pb.TailResponse
		want    []string // one per send: "entries | dropped"
		err     string
	}{{
		name: "registration, batches, drops",
		batches: []*pb.TailResponse{
			{},
			{Streams: []*pb.StreamLabels{web, db}, Entries: []*pb.QueryEntry{
				{Stream: 1, Timestamp: 5, Line: "a", StructuredMetadata: []*pb.LabelPairAdapter{{Name: "trace_id", Value: "t"}}},
				{Stream: 0, Timestamp: 3, Line: "b", Parsed: []*pb.LabelPairAdapter{{Name: "level", Value: "info"}}},
			}},
			{Streams: []*pb.StreamLabels{db}, Entries: []*pb.QueryEntry{{Stream: 0, Timestamp: 9, Line: "c"}},
				Dropped: []*pb.QueryEntry{{Stream: 0, Timestamp: 7}}},
		},
		want: []string{
			" | ",
			`{app="db"}/22/5/"a"[{trace_id t}] {app="web"}/11/3/"b"[{level info}] | `,
			`{app="db"}/22/9/"c" | {app="db"}/22/7/""`,
		},
		err: "ingester ing:9095: " + ErrTailEnded.Error(),
	}, {
		name: "a row naming no stream",
		batches: []*pb.TailResponse{
			{},
			{Streams: []*pb.StreamLabels{web}, Dropped: []*pb.QueryEntry{{Stream: 1, Timestamp: 1}}},
		},
		want: []string{" | "},
		err:  "ingester ing:9095: Internal: tailed entry names a stream the batch does not have",
	}, {
		name:    "bad labels",
		batches: []*pb.TailResponse{{Streams: []*pb.StreamLabels{{Labels: `{app=`}}, Entries: []*pb.QueryEntry{{}}}},
		err:     `bad labels "{app=" from ingester`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{addr: "ing:9095", querier: tailQuerier{batches: tc.batches}, m: newMetrics()}
			var got []string
			err := c.Tail(context.Background(), "t", `{app=~".+"}`, func(entries, dropped []iter.StreamEntry) error {
				got = append(got, describeTail(entries)+" | "+describeTail(dropped))
				return nil
			})
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("sent\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
	// send's error ends the tail with it.
	stop := errors.New("stop")
	c := &Client{addr: "ing:9095", querier: tailQuerier{batches: []*pb.TailResponse{{}, {}}}, m: newMetrics()}
	if err := c.Tail(context.Background(), "t", "{a=\"b\"}", func(_, _ []iter.StreamEntry) error { return stop }); err != stop {
		t.Errorf("send failing: %v", err)
	}
}

// FuzzTailRows decodes arbitrary TailResponse bytes: the rows either decode
// to entries whose labels are those their stream index names, or fail.
func FuzzTailRows(f *testing.F) {
	for _, m := range []*pb.TailResponse{
		{},
		{Streams: []*pb.StreamLabels{{Labels: `{app="web"}`, Hash: 1}}, Entries: []*pb.QueryEntry{{Stream: 0, Timestamp: 2, Line: "x"}},
			Dropped: []*pb.QueryEntry{{Stream: 0, Timestamp: 1}}},
		{Streams: []*pb.StreamLabels{{Labels: `{app="web", pod="a"}`}, {Labels: `{}`}}, Entries: []*pb.QueryEntry{{Stream: 2}}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var resp pb.TailResponse
		if proto.Unmarshal(data, &resp) != nil {
			return
		}
		c := &Client{addr: "x"}
		for _, rows := range [][]*pb.QueryEntry{resp.GetEntries(), resp.GetDropped()} {
			es, err := c.tailRows(labelsCache{}, resp.GetStreams(), rows)
			if err != nil {
				continue
			}
			if len(es) != len(rows) {
				t.Fatalf("%d rows decoded to %d entries", len(rows), len(es))
			}
			for i, e := range es {
				want, err := logproto.ParseLabels(resp.GetStreams()[rows[i].GetStream()].GetLabels())
				if err != nil || e.Labels.String() != want.String() || e.Line != rows[i].GetLine() || e.Timestamp != rows[i].GetTimestamp() {
					t.Fatalf("row %d decoded to %+v", i, e)
				}
			}
		}
	})
}
