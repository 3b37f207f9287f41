package client

import (
	"context"
	"io"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

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
	start := time.Now()
	dir := pb.Direction_BACKWARD
	if p.Direction == logproto.Forward {
		dir = pb.Direction_FORWARD
	}
	ctx, cancel := context.WithCancel(withTenant(ctx, tenant))
	stream, err := c.querier.Query(ctx, &pb.QueryRequest{
		Selector: p.Query, Start: p.Start, End: p.End, Direction: dir, Limit: p.Limit,
	})
	if err != nil {
		cancel()
		err = fromStatus(c.addr, err)
		c.observe("query", start, err)
		return nil, err
	}
	return &entryStream{c: c, stream: stream, cancel: cancel, lbls: labelsCache{}, start: start}, nil
}

// entryStream is an EntryIterator over a Query stream.
type entryStream struct {
	c      *Client
	stream grpc.ServerStreamingClient[pb.QueryResponse]
	cancel context.CancelFunc
	lbls   labelsCache
	start  time.Time

	batch   *pb.QueryResponse
	streams []labels.Labels
	i       int
	cur     logproto.Entry
	err     error
	done    bool
}

func (s *entryStream) Next() bool {
	for s.batch == nil || s.i+1 >= len(s.batch.Entries) {
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
	e := s.batch.Entries[s.i]
	s.cur = logproto.Entry{
		Timestamp:          e.GetTimestamp(),
		Line:               e.GetLine(),
		StructuredMetadata: fromPairs(e.GetStructuredMetadata()),
		Parsed:             fromPairs(e.GetParsed()),
	}
	return true
}

func (s *entryStream) load(resp *pb.QueryResponse) error {
	s.streams = s.streams[:0]
	for _, sl := range resp.GetStreams() {
		l, err := s.lbls.get(sl.GetLabels())
		if err != nil {
			return err
		}
		s.streams = append(s.streams, l)
	}
	for _, e := range resp.GetEntries() {
		if int(e.GetStream()) >= len(s.streams) {
			return &remoteError{addr: s.c.addr, code: codes.Internal, msg: "entry names a stream the batch does not have"}
		}
	}
	s.batch, s.i = resp, -1
	return nil
}

func (s *entryStream) finish(err error) {
	s.done = true
	if err != io.EOF {
		s.err = fromStatus(s.c.addr, err)
	}
	s.c.observe("query", s.start, s.err)
	s.cancel()
}

func (s *entryStream) At() logproto.Entry { return s.cur }
func (s *entryStream) Labels() labels.Labels {
	return s.streams[s.batch.Entries[s.i].GetStream()]
}
func (s *entryStream) StreamHash() uint64 {
	return s.batch.Streams[s.batch.Entries[s.i].GetStream()].GetHash()
}
func (s *entryStream) Err() error { return s.err }
func (s *entryStream) Close() error {
	if !s.done {
		s.done = true
		s.cancel()
	}
	s.batch = nil
	return nil
}

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
