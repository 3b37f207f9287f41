package client

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/grpc"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logproto/pb"
	"github.com/skald-logs/skald/pkg/logql"
)

// pushMethod is Loki's push RPC, which ingesters serve.
const pushMethod = "/logproto.Pusher/Push"

// Client talks to one ingester. It is safe for concurrent use.
type Client struct {
	addr    string
	cfg     Config
	conn    *grpc.ClientConn
	querier pb.QuerierClient
	m       *metrics
}

// Addr is the ingester's gRPC address.
func (c *Client) Addr() string { return c.addr }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

func (c *Client) observe(op string, start time.Time, err error) {
	code := "success"
	if err != nil {
		code = "error"
		if IsClientError(err) {
			code = "refused"
		}
	}
	c.m.duration.WithLabelValues(op, code).Observe(time.Since(start).Seconds())
}

// Push sends req, whose streams carry canonical labels and fingerprints, to
// the ingester. An error from the ingester refusing input matches
// validation.ErrInvalid or validation.ErrRateLimited.
func (c *Client) Push(ctx context.Context, tenant string, req *logproto.PushRequest) (err error) {
	start := time.Now()
	defer func() { c.observe("push", start, err) }()
	ctx, cancel := context.WithTimeout(withTenant(ctx, tenant), c.cfg.RemoteTimeout)
	defer cancel()
	msg := RawMessage{Data: AppendPushRequest(make([]byte, 0, PushRequestSize(req)), req)}
	var resp pb.PushResponse
	err = c.conn.Invoke(ctx, pushMethod, &msg, &resp, grpc.ForceCodecV2(Codec{}))
	return fromStatus(c.addr, err)
}

// SelectLogs streams the ingester's entries that match p. p.Query is the
// log selector the ingester compiles; p.Matchers and p.Pipeline are not
// sent. The iterator reads batches as it is consumed; Close ends the call.
func (c *Client) SelectLogs(ctx context.Context, tenant string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	dir := pb.Direction_BACKWARD
	if p.Direction == logproto.Forward {
		dir = pb.Direction_FORWARD
	}
	bs, err := openBatches(ctx, c, tenant, "query", func(ctx context.Context) (grpc.ServerStreamingClient[pb.QueryResponse], error) {
		return c.querier.Query(ctx, &pb.QueryRequest{
			Selector: p.Query, Start: p.Start, End: p.End, Direction: dir, Limit: p.Limit,
		})
	})
	if err != nil {
		return nil, err
	}
	bs.rows, bs.bad = queryRows, "entry names a stream the batch does not have"
	return &entryStream{batchStream: bs}, nil
}

func queryRows(resp *pb.QueryResponse, refs []uint32) ([]*pb.StreamLabels, []uint32) {
	for _, e := range resp.GetEntries() {
		refs = append(refs, e.GetStream())
	}
	return resp.GetStreams(), refs
}

// entryStream is an EntryIterator over a Query stream.
type entryStream struct {
	batchStream[pb.QueryResponse]
	cur logproto.Entry
}

func (s *entryStream) Next() bool {
	if !s.batchStream.Next() {
		return false
	}
	e := s.batch.Entries[s.i]
	s.cur = logproto.Entry{
		Timestamp:          e.GetTimestamp(),
		Line:               e.GetLine(),
		StructuredMetadata: fromPairs(e.GetStructuredMetadata()),
		Parsed:             fromPairs(e.GetParsed()),
	}
	return true
}

func (s *entryStream) At() logproto.Entry { return s.cur }

// LabelNames returns the label names of the ingester's matching streams
// with data in [from, through).
func (c *Client) LabelNames(ctx context.Context, tenant string, from, through int64, matchers []*labels.Matcher) ([]string, error) {
	return c.label(ctx, tenant, "", from, through, matchers)
}

// LabelValues returns the values of name in the ingester's matching streams.
func (c *Client) LabelValues(ctx context.Context, tenant, name string, from, through int64, matchers []*labels.Matcher) ([]string, error) {
	return c.label(ctx, tenant, name, from, through, matchers)
}

func (c *Client) label(ctx context.Context, tenant, name string, from, through int64, matchers []*labels.Matcher) (out []string, err error) {
	start := time.Now()
	defer func() { c.observe("label", start, err) }()
	ctx, cancel := context.WithTimeout(withTenant(ctx, tenant), c.cfg.RemoteTimeout)
	defer cancel()
	resp, err := c.querier.Label(ctx, &pb.LabelRequest{Name: name, Start: from, End: through, Matchers: ToMatchers(matchers)})
	if err != nil {
		return nil, fromStatus(c.addr, err)
	}
	return resp.GetValues(), nil
}

// Series returns the label sets of the ingester's streams with data in
// [from, through) that match any of groups.
func (c *Client) Series(ctx context.Context, tenant string, from, through int64, groups [][]*labels.Matcher) (out []labels.Labels, err error) {
	start := time.Now()
	defer func() { c.observe("series", start, err) }()
	ctx, cancel := context.WithTimeout(withTenant(ctx, tenant), c.cfg.RemoteTimeout)
	defer cancel()
	req := &pb.SeriesRequest{Start: from, End: through, Groups: make([]*pb.Matchers, len(groups))}
	for i, g := range groups {
		req.Groups[i] = &pb.Matchers{Matchers: ToMatchers(g)}
	}
	resp, err := c.querier.Series(ctx, req)
	if err != nil {
		return nil, fromStatus(c.addr, err)
	}
	cache := labelsCache{}
	out = make([]labels.Labels, 0, len(resp.GetSeries()))
	for _, s := range resp.GetSeries() {
		l, err := cache.get(s)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	slices.SortFunc(out, labels.Compare)
	return out, nil
}
