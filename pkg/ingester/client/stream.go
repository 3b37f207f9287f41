package client

import (
	"context"
	"io"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/skald-logs/skald/pkg/logproto/pb"
)

// batchStream is what the iterators over the Query and QuerySample streams
// share. Each batch R of such a stream holds a table of label sets and rows
// that name one of them by index; batchStream reads the batches as they are
// consumed, resolves and checks each batch's table, and moves over its rows.
// The embedding iterator reads the current row, s.batch's row s.i.
type batchStream[R any] struct {
	c      *Client
	op     string // for the duration metric
	stream grpc.ServerStreamingClient[R]
	cancel context.CancelFunc
	lbls   labelsCache
	start  time.Time

	// rows returns a batch's label table and appends, for each of its rows,
	// the index of the label set it names to refs.
	rows func(resp *R, refs []uint32) ([]*pb.StreamLabels, []uint32)
	// loaded, if set, is called for each batch that passed its checks.
	loaded func(resp *R)
	bad    string // the error when a row names no label set

	batch *R
	table []*pb.StreamLabels
	sets  []labels.Labels // table, parsed
	refs  []uint32
	i     int
	err   error
	done  bool
}

// openBatches starts a streaming call with the tenant's context. The
// context is cancelled when the stream ends or is closed.
func openBatches[R any](ctx context.Context, c *Client, tenant, op string, call func(context.Context) (grpc.ServerStreamingClient[R], error)) (batchStream[R], error) {
	start := time.Now()
	ctx, cancel := context.WithCancel(withTenant(ctx, tenant))
	stream, err := call(ctx)
	if err != nil {
		cancel()
		err = fromStatus(c.addr, err)
		c.observe(op, start, err)
		return batchStream[R]{}, err
	}
	return batchStream[R]{c: c, op: op, stream: stream, cancel: cancel, lbls: labelsCache{}, start: start}, nil
}

// Next moves to the next row, reading batches as needed.
func (s *batchStream[R]) Next() bool {
	for s.batch == nil || s.i+1 >= len(s.refs) {
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

func (s *batchStream[R]) load(resp *R) error {
	s.table, s.refs = s.rows(resp, s.refs[:0])
	s.sets = s.sets[:0]
	for _, sl := range s.table {
		l, err := s.lbls.get(sl.GetLabels())
		if err != nil {
			return err
		}
		s.sets = append(s.sets, l)
	}
	for _, ref := range s.refs {
		if int(ref) >= len(s.sets) {
			return &remoteError{addr: s.c.addr, code: codes.Internal, msg: s.bad}
		}
	}
	if s.loaded != nil {
		s.loaded(resp)
	}
	s.batch, s.i = resp, -1
	return nil
}

func (s *batchStream[R]) finish(err error) {
	s.done = true
	if err != io.EOF {
		s.err = fromStatus(s.c.addr, err)
	}
	s.c.observe(s.op, s.start, s.err)
	s.cancel()
}

func (s *batchStream[R]) Labels() labels.Labels { return s.sets[s.refs[s.i]] }
func (s *batchStream[R]) StreamHash() uint64    { return s.table[s.refs[s.i]].GetHash() }
func (s *batchStream[R]) Err() error            { return s.err }
func (s *batchStream[R]) Close() error {
	if !s.done {
		s.done = true
		s.cancel()
	}
	s.batch = nil
	return nil
}
