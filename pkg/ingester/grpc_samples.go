package ingester

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/ingester/client"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logproto/pb"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// querySampleBatch bounds the samples of one streamed batch.
const querySampleBatch = 1024

// sampleSelector is the ingester's sample extraction (query_samples.go).
type sampleSelector interface {
	SelectSamples(ctx context.Context, tenant string, p logql.SelectSampleParams) (iter.SampleIterator, error)
}

// QuerySample implements pb.QuerierServer: it streams the samples the
// selector's extractor takes from the ingester's entries, oldest first.
func (g *GRPCServer) QuerySample(req *pb.SampleQueryRequest, stream grpc.ServerStreamingServer[pb.SampleQueryResponse]) error {
	ctx := stream.Context()
	tenant, err := client.TenantFromContext(ctx)
	if err != nil {
		return client.ToStatus(err)
	}
	ss, ok := any(g.ing).(sampleSelector)
	if !ok {
		return status.Error(codes.Unimplemented, "this ingester does not extract samples")
	}
	expr, err := syntax.ParseSampleExpr(req.GetSelector())
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	x, err := log.NewSampleExtractor(expr, index.Fingerprint)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	var matchers []*labels.Matcher
	switch e := expr.(type) {
	case *syntax.RangeAggregationExpr:
		matchers = e.Selector().Matchers()
	case *syntax.VectorAggregationExpr:
		if r, ok := log.PushesGrouping(e); ok {
			matchers = r.Selector().Matchers()
		}
	}
	var stats log.Counters
	it, err := ss.SelectSamples(ctx, tenant, logql.SelectSampleParams{
		Start: req.GetStart(), End: req.GetEnd(), Query: req.GetSelector(),
		Matchers: matchers, Extractor: x, Stats: &stats,
	})
	if err != nil {
		return client.ToStatus(err)
	}
	defer it.Close()

	var (
		resp    pb.SampleQueryResponse
		samples [querySampleBatch]pb.QuerySample
		byHash  = map[uint64][]uint32{}
		lbls    []labels.Labels
		sent    log.Counters
	)
	flush := func() error {
		resp.Lines, resp.Bytes, resp.PostFilterLines = stats.Lines-sent.Lines, stats.Bytes-sent.Bytes, stats.PostFilter-sent.PostFilter
		sent = stats
		err := stream.Send(&resp)
		resp.Series, resp.Samples = resp.Series[:0], resp.Samples[:0]
		clear(byHash)
		lbls = lbls[:0]
		return err
	}
	for it.Next() {
		s := it.At()
		l, h := it.Labels(), it.StreamHash()
		idx := -1
		for _, k := range byHash[h] {
			if labels.Equal(lbls[k], l) {
				idx = int(k)
				break
			}
		}
		if idx < 0 {
			idx = len(resp.Series)
			byHash[h] = append(byHash[h], uint32(idx))
			lbls = append(lbls, l)
			resp.Series = append(resp.Series, &pb.StreamLabels{Labels: logproto.LabelsString(l), Hash: h})
		}
		ps := &samples[len(resp.Samples)]
		*ps = pb.QuerySample{Series: uint32(idx), Timestamp: s.Timestamp, Value: s.Value, Hash: s.Hash}
		resp.Samples = append(resp.Samples, ps)
		if len(resp.Samples) == querySampleBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := it.Err(); err != nil {
		return client.ToStatus(err)
	}
	return flush()
}
