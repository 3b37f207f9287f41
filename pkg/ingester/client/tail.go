package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logproto/pb"
)

// ErrTailEnded is returned by Tail when the ingester ends the tail without
// an error (it should not: it answers until the caller cancels).
var ErrTailEnded = errors.New("ingester ended the tail")

// tailLabelsCacheSize bounds the label sets a tail remembers parsed.
const tailLabelsCacheSize = 4096

// Tail follows the ingester's entries of query (a log selector with its
// pipeline) as they are pushed, with the contract of the ingester's own
// Tail: send is called once with nothing when the ingester has registered
// the tail, then with each batch it sends, until ctx is done (Tail returns
// nil), the call fails or send fails (Tail returns the error).
func (c *Client) Tail(ctx context.Context, tenant, query string, send func(entries, dropped []iter.StreamEntry) error) (err error) {
	start := time.Now()
	defer func() { c.observe("tail", start, err) }()
	ctx, cancel := context.WithCancel(withTenant(ctx, tenant))
	defer cancel()
	stream, err := c.querier.Tail(ctx, &pb.TailRequest{Selector: query})
	if err != nil {
		return c.tailErr(ctx, err)
	}
	cache := labelsCache{}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return c.tailErr(ctx, err)
		}
		if len(cache) > tailLabelsCacheSize {
			clear(cache)
		}
		entries, err := c.tailRows(cache, resp.GetStreams(), resp.GetEntries())
		if err != nil {
			return err
		}
		dropped, err := c.tailRows(cache, resp.GetStreams(), resp.GetDropped())
		if err != nil {
			return err
		}
		if err := send(entries, dropped); err != nil {
			return err
		}
	}
}

// tailErr is the error Tail returns for err: nil once ctx is done.
func (c *Client) tailErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("ingester %s: %w", c.addr, ErrTailEnded)
	}
	return fromStatus(c.addr, err)
}

// tailRows decodes the rows of a tail message.
func (c *Client) tailRows(cache labelsCache, table []*pb.StreamLabels, rows []*pb.QueryEntry) ([]iter.StreamEntry, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]iter.StreamEntry, len(rows))
	for i, r := range rows {
		ref := int(r.GetStream())
		if ref >= len(table) {
			return nil, &remoteError{addr: c.addr, code: codes.Internal, msg: "tailed entry names a stream the batch does not have"}
		}
		l, err := cache.get(table[ref].GetLabels())
		if err != nil {
			return nil, err
		}
		out[i] = iter.StreamEntry{
			Entry: logproto.Entry{
				Timestamp: r.GetTimestamp(), Line: r.GetLine(),
				StructuredMetadata: fromPairs(r.GetStructuredMetadata()), Parsed: fromPairs(r.GetParsed()),
			},
			Labels: l, Hash: table[ref].GetHash(),
		}
	}
	return out, nil
}
