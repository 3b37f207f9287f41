package ingester

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

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

// Bounds of one batch of a streamed query answer.
const (
	queryBatchEntries = 256
	queryBatchBytes   = 1 << 20
)

// ErrNotAcceptingPushes is the answer to pushes after RefusePushes: the
// ingester is leaving and flushing, and the distributor must write to the
// stream's other replicas.
var ErrNotAcceptingPushes = errors.New("ingester is shutting down and accepts no pushes")

// GRPCServer serves an Ingester to distributors (Loki's Pusher service) and
// queriers (the Querier service of pkg/logproto/ingester.proto). The gRPC
// server it is registered on must be built with client.ServerCodec().
type GRPCServer struct {
	pb.UnimplementedQuerierServer

	ing      *Ingester
	logger   *slog.Logger
	refusing atomic.Bool
}

// NewGRPCServer returns the gRPC face of ing.
func NewGRPCServer(ing *Ingester, logger *slog.Logger) *GRPCServer {
	return &GRPCServer{ing: ing, logger: logger}
}

// Register registers the Pusher and Querier services on s.
func (g *GRPCServer) Register(s *grpc.Server) {
	s.RegisterService(&pusherServiceDesc, g)
	pb.RegisterQuerierServer(s, g)
}

// RefusePushes makes every later push fail with Unavailable, so that what
// the ingester flushes on shutdown is all it was sent.
func (g *GRPCServer) RefusePushes() { g.refusing.Store(true) }

// rawPusher is the handler type of pusherServiceDesc.
type rawPusher interface {
	pushRaw(ctx context.Context, body []byte) error
}

// pusherServiceDesc is Loki's logproto.Pusher service with a handler that
// decodes the request with Skald's own decoder from the raw bytes the
// client.Codec hands over.
var pusherServiceDesc = grpc.ServiceDesc{
	ServiceName: "logproto.Pusher",
	HandlerType: (*rawPusher)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Push",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			var msg client.RawMessage
			if err := dec(&msg); err != nil {
				return nil, err
			}
			defer msg.Free()
			call := func(ctx context.Context, _ any) (any, error) {
				if err := srv.(rawPusher).pushRaw(ctx, msg.Data); err != nil {
					return nil, err
				}
				return &pb.PushResponse{}, nil
			}
			if interceptor == nil {
				return call(ctx, &msg)
			}
			return interceptor(ctx, &msg, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/logproto.Pusher/Push"}, call)
		},
	}},
	Metadata: "logproto/push.proto",
}

func (g *GRPCServer) pushRaw(ctx context.Context, body []byte) error {
	if g.refusing.Load() {
		return status.Error(codes.Unavailable, ErrNotAcceptingPushes.Error())
	}
	tenant, err := client.TenantFromContext(ctx)
	if err != nil {
		return client.ToStatus(err)
	}
	var req logproto.PushRequest
	if err := logproto.UnmarshalPushRequest(body, &req); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return client.ToStatus(g.ing.Push(ctx, tenant, &req))
}

// Query implements pb.QuerierServer: it streams the entries of the selector
// in batches, each naming its streams once.
func (g *GRPCServer) Query(req *pb.QueryRequest, stream grpc.ServerStreamingServer[pb.QueryResponse]) error {
	ctx := stream.Context()
	tenant, err := client.TenantFromContext(ctx)
	if err != nil {
		return client.ToStatus(err)
	}
	ex, err := syntax.ParseLogSelector(req.GetSelector(), true)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	pipeline, err := log.NewPipeline(ex, index.Fingerprint)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	dir := logproto.Backward
	if req.GetDirection() == pb.Direction_FORWARD {
		dir = logproto.Forward
	}
	it, err := g.ing.SelectLogs(ctx, tenant, logql.SelectLogParams{
		Start: req.GetStart(), End: req.GetEnd(), Direction: dir, Limit: req.GetLimit(),
		Query: req.GetSelector(), Matchers: ex.Matchers(), Pipeline: pipeline,
	})
	if err != nil {
		return client.ToStatus(err)
	}
	defer it.Close()
	return sendEntries(it, stream.Send)
}

// sendEntries sends the entries of it in batches through send.
func sendEntries(it interface {
	Next() bool
	At() logproto.Entry
	Labels() labels.Labels
	StreamHash() uint64
	Err() error
}, send func(*pb.QueryResponse) error) error {
	var (
		resp    pb.QueryResponse
		entries [queryBatchEntries]pb.QueryEntry
		byHash  = map[uint64][]uint32{}
		lbls    []labels.Labels
		bytes   int
	)
	flush := func() error {
		if len(resp.Entries) == 0 {
			return nil
		}
		err := send(&resp) // serialises resp before it returns
		resp.Streams, resp.Entries = resp.Streams[:0], resp.Entries[:0]
		clear(byHash)
		lbls, bytes = lbls[:0], 0
		return err
	}
	for it.Next() {
		e := it.At()
		l, h := it.Labels(), it.StreamHash()
		idx := -1
		for _, k := range byHash[h] {
			if labels.Equal(lbls[k], l) {
				idx = int(k)
				break
			}
		}
		if idx < 0 {
			idx = len(resp.Streams)
			byHash[h] = append(byHash[h], uint32(idx))
			lbls = append(lbls, l)
			resp.Streams = append(resp.Streams, &pb.StreamLabels{Labels: logproto.LabelsString(l), Hash: h})
		}
		pe := &entries[len(resp.Entries)]
		*pe = pb.QueryEntry{
			Stream: uint32(idx), Timestamp: e.Timestamp, Line: e.Line,
			StructuredMetadata: client.ToPairs(e.StructuredMetadata), Parsed: client.ToPairs(e.Parsed),
		}
		resp.Entries = append(resp.Entries, pe)
		bytes += len(e.Line)
		if len(resp.Entries) == queryBatchEntries || bytes >= queryBatchBytes {
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

// Label implements pb.QuerierServer.
func (g *GRPCServer) Label(ctx context.Context, req *pb.LabelRequest) (*pb.LabelResponse, error) {
	tenant, err := client.TenantFromContext(ctx)
	if err != nil {
		return nil, client.ToStatus(err)
	}
	ms, err := client.FromMatchers(req.GetMatchers())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	var vs []string
	if req.GetName() == "" {
		vs, err = g.ing.LabelNames(ctx, tenant, req.GetStart(), req.GetEnd(), ms)
	} else {
		vs, err = g.ing.LabelValues(ctx, tenant, req.GetName(), req.GetStart(), req.GetEnd(), ms)
	}
	if err != nil {
		return nil, client.ToStatus(err)
	}
	return &pb.LabelResponse{Values: vs}, nil
}

// Series implements pb.QuerierServer.
func (g *GRPCServer) Series(ctx context.Context, req *pb.SeriesRequest) (*pb.SeriesResponse, error) {
	tenant, err := client.TenantFromContext(ctx)
	if err != nil {
		return nil, client.ToStatus(err)
	}
	groups := make([][]*labels.Matcher, 0, len(req.GetGroups()))
	for _, g := range req.GetGroups() {
		ms, err := client.FromMatchers(g.GetMatchers())
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		groups = append(groups, ms)
	}
	ss, err := g.ing.Series(ctx, tenant, req.GetStart(), req.GetEnd(), groups)
	if err != nil {
		return nil, client.ToStatus(err)
	}
	out := make([]string, len(ss))
	for i, l := range ss {
		out[i] = logproto.LabelsString(l)
	}
	return &pb.SeriesResponse{Series: out}, nil
}

// Tail implements pb.QuerierServer: it follows the tenant's pushes
// (Ingester.Tail) and streams what they append. The first message is empty
// and says the tail is registered; each batch after it is split to the
// bounds of a query batch.
func (g *GRPCServer) Tail(req *pb.TailRequest, stream grpc.ServerStreamingServer[pb.TailResponse]) error {
	ctx := stream.Context()
	tenant, err := client.TenantFromContext(ctx)
	if err != nil {
		return client.ToStatus(err)
	}
	var w tailWriter
	err = g.ing.Tail(ctx, tenant, req.GetSelector(), func(entries, dropped []iter.StreamEntry) error {
		return w.send(entries, dropped, stream.Send)
	})
	if errors.Is(err, ErrTailStopping) {
		return status.Error(codes.Unavailable, err.Error())
	}
	return client.ToStatus(err)
}

// tailWriter encodes tail batches, naming each stream once per message.
type tailWriter struct {
	resp   pb.TailResponse
	byHash map[uint64][]uint32
	lbls   []labels.Labels
}

// send sends entries and dropped in messages of at most queryBatchEntries
// entries or queryBatchBytes of lines; the dropped go with the first. With
// neither, it sends one empty message.
func (w *tailWriter) send(entries, dropped []iter.StreamEntry, send func(*pb.TailResponse) error) error {
	if w.byHash == nil {
		w.byHash = map[uint64][]uint32{}
	}
	w.reset()
	for i := range dropped {
		w.resp.Dropped = append(w.resp.Dropped, w.row(&dropped[i], false))
	}
	bytes := 0
	for i := range entries {
		w.resp.Entries = append(w.resp.Entries, w.row(&entries[i], true))
		bytes += len(entries[i].Line)
		if len(w.resp.Entries) == queryBatchEntries || bytes >= queryBatchBytes {
			if err := send(&w.resp); err != nil { // serialises before it returns
				return err
			}
			w.reset()
			bytes = 0
		}
	}
	if len(w.resp.Entries) > 0 || len(w.resp.Dropped) > 0 || len(entries) == 0 {
		return send(&w.resp)
	}
	return nil
}

func (w *tailWriter) reset() {
	w.resp.Streams, w.resp.Entries, w.resp.Dropped = w.resp.Streams[:0], w.resp.Entries[:0], w.resp.Dropped[:0]
	clear(w.byHash)
	w.lbls = w.lbls[:0]
}

// row returns the wire row of e, adding its stream to the message's table.
// A row without its line is a dropped entry's.
func (w *tailWriter) row(e *iter.StreamEntry, withLine bool) *pb.QueryEntry {
	idx := -1
	for _, k := range w.byHash[e.Hash] {
		if labels.Equal(w.lbls[k], e.Labels) {
			idx = int(k)
			break
		}
	}
	if idx < 0 {
		idx = len(w.resp.Streams)
		w.byHash[e.Hash] = append(w.byHash[e.Hash], uint32(idx))
		w.lbls = append(w.lbls, e.Labels)
		w.resp.Streams = append(w.resp.Streams, &pb.StreamLabels{Labels: logproto.LabelsString(e.Labels), Hash: e.Hash})
	}
	r := &pb.QueryEntry{Stream: uint32(idx), Timestamp: e.Timestamp, StructuredMetadata: client.ToPairs(e.StructuredMetadata)}
	if withLine {
		r.Line, r.Parsed = e.Line, client.ToPairs(e.Parsed)
	}
	return r
}
