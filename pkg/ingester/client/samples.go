package client

import (
	"context"

	"google.golang.org/grpc"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto/pb"
	"github.com/skald-logs/skald/pkg/logql"
)

// SelectSamples streams the samples the ingester extracts for p. p.Query
// is the expression the ingester compiles; p.Matchers and p.Extractor are
// not sent. The lines the ingester read are added to p.Stats.
func (c *Client) SelectSamples(ctx context.Context, tenant string, p logql.SelectSampleParams) (iter.SampleIterator, error) {
	bs, err := openBatches(ctx, c, tenant, "query_sample", func(ctx context.Context) (grpc.ServerStreamingClient[pb.SampleQueryResponse], error) {
		return c.querier.QuerySample(ctx, &pb.SampleQueryRequest{Selector: p.Query, Start: p.Start, End: p.End})
	})
	if err != nil {
		return nil, err
	}
	bs.rows, bs.bad = sampleRows, "sample names a series the batch does not have"
	if stats := p.Stats; stats != nil {
		bs.loaded = func(resp *pb.SampleQueryResponse) {
			stats.Lines += resp.GetLines()
			stats.Bytes += resp.GetBytes()
			stats.PostFilter += resp.GetPostFilterLines()
		}
	}
	return &sampleStream{batchStream: bs}, nil
}

func sampleRows(resp *pb.SampleQueryResponse, refs []uint32) ([]*pb.StreamLabels, []uint32) {
	for _, smp := range resp.GetSamples() {
		refs = append(refs, smp.GetSeries())
	}
	return resp.GetSeries(), refs
}

// sampleStream is a SampleIterator over a QuerySample stream.
type sampleStream struct {
	batchStream[pb.SampleQueryResponse]
}

func (s *sampleStream) At() iter.Sample {
	smp := s.batch.Samples[s.i]
	return iter.Sample{Timestamp: smp.GetTimestamp(), Value: smp.GetValue(), Hash: smp.GetHash()}
}
