package client

import (
	"context"
	"io"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto/pb"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
)

// SelectSamples streams the samples the ingester extracts for p. p.Query
// is the expression the ingester compiles; p.Matchers and p.Extractor are
// not sent. The lines the ingester read are added to p.Stats.
func (c *Client) SelectSamples(ctx context.Context, tenant string, p logql.SelectSampleParams) (iter.SampleIterator, error) {
	start := time.Now()
	ctx, cancel := context.WithCancel(withTenant(ctx, tenant))
	stream, err := c.querier.QuerySample(ctx, &pb.SampleQueryRequest{Selector: p.Query, Start: p.Start, End: p.End})
	if err != nil {
		cancel()
		err = fromStatus(c.addr, err)
		c.observe("query_sample", start, err)
		return nil, err
	}
	return &sampleStream{c: c, stream: stream, cancel: cancel, lbls: labelsCache{}, start: start, stats: p.Stats}, nil
}

// sampleStream is a SampleIterator over a QuerySample stream.
type sampleStream struct {
	c      *Client
	stream grpc.ServerStreamingClient[pb.SampleQueryResponse]
	cancel context.CancelFunc
	lbls   labelsCache
	start  time.Time
	stats  *log.Counters

	batch  *pb.SampleQueryResponse
	series []labels.Labels
	i      int
	err    error
	done   bool
}

func (s *sampleStream) Next() bool {
	for s.batch == nil || s.i+1 >= len(s.batch.Samples) {
		if s.done {
			return false
		}
		resp, err := s.stream.Recv()
		if err != nil {
			s.finish(err)
			return false
		}
		if err := s.load(resp); err != nil {
			s.finish(err)
			return false
		}
	}
	s.i++
	return true
}

func (s *sampleStream) load(resp *pb.SampleQueryResponse) error {
	s.series = s.series[:0]
	for _, sl := range resp.GetSeries() {
		l, err := s.lbls.get(sl.GetLabels())
		if err != nil {
			return err
		}
		s.series = append(s.series, l)
	}
	for _, smp := range resp.GetSamples() {
		if int(smp.GetSeries()) >= len(s.series) {
			return &remoteError{addr: s.c.addr, code: codes.Internal, msg: "sample names a series the batch does not have"}
		}
	}
	if s.stats != nil {
		s.stats.Lines += resp.GetLines()
		s.stats.Bytes += resp.GetBytes()
		s.stats.PostFilter += resp.GetPostFilterLines()
	}
	s.batch, s.i = resp, -1
	return nil
}

func (s *sampleStream) finish(err error) {
	s.done = true
	if err != io.EOF {
		s.err = fromStatus(s.c.addr, err)
	}
	s.c.observe("query_sample", s.start, s.err)
	s.cancel()
}

func (s *sampleStream) At() iter.Sample {
	smp := s.batch.Samples[s.i]
	return iter.Sample{Timestamp: smp.GetTimestamp(), Value: smp.GetValue(), Hash: smp.GetHash()}
}
func (s *sampleStream) Labels() labels.Labels { return s.series[s.batch.Samples[s.i].GetSeries()] }
func (s *sampleStream) StreamHash() uint64 {
	return s.batch.Series[s.batch.Samples[s.i].GetSeries()].GetHash()
}
func (s *sampleStream) Err() error { return s.err }
func (s *sampleStream) Close() error {
	if !s.done {
		s.done = true
		s.cancel()
	}
	s.batch = nil
	return nil
}
