package logql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/logql/syntax"
	"github.com/skald-logs/skald/pkg/validation"
)

// Querier is where the engine reads entries from.
type Querier interface {
	SelectLogs(ctx context.Context, tenant string, p SelectLogParams) (iter.EntryIterator, error)
}

// Engine evaluates LogQL queries.
type Engine struct {
	q      Querier // a limitedQuerier over the querier given
	limits *validation.Overrides
	logger *slog.Logger
	now    func() time.Time
}

// NewEngine returns an engine reading from q. Each tenant's queries read
// no further back than its max_query_lookback and stop after its
// query_timeout.
func NewEngine(q Querier, limits *validation.Overrides, logger *slog.Logger) *Engine {
	e := &Engine{limits: limits, logger: logger, now: time.Now}
	e.q = limitedQuerier{q: q, e: e}
	return e
}

// limitedQuerier is the engine's querier as its queries read it: no
// further back than the tenant's max_query_lookback (Loki's querier clips
// each read so; the API clips the query's range before), so the windows of
// a metric query that reach further read nothing there.
type limitedQuerier struct {
	q Querier
	e *Engine
}

// clip returns the part of [start, end) within the tenant's lookback;
// false when nothing is left.
func (l limitedQuerier) clip(tenant string, start, end int64) (int64, bool) {
	lookback := time.Duration(l.e.limits.For(tenant).MaxQueryLookback)
	if lookback <= 0 {
		return start, true
	}
	start = max(start, l.e.now().Add(-lookback).UnixNano())
	return start, start < end
}

func (l limitedQuerier) SelectLogs(ctx context.Context, tenant string, p SelectLogParams) (iter.EntryIterator, error) {
	var ok bool
	if p.Start, ok = l.clip(tenant, p.Start, p.End); !ok {
		return iter.NewSliceIterator(nil), nil
	}
	return l.q.SelectLogs(ctx, tenant, p)
}

func (l limitedQuerier) SelectSamples(ctx context.Context, tenant string, p SelectSampleParams) (iter.SampleIterator, error) {
	var ok bool
	if p.Start, ok = l.clip(tenant, p.Start, p.End); !ok {
		return iter.NewSampleSet(nil), nil
	}
	if sq, ok := l.q.(SampleQuerier); ok {
		return sq.SelectSamples(ctx, tenant, p)
	}
	return SamplesFromLogs(ctx, l.q, tenant, p)
}

// badRequest is an error the caller must fix; its text is what the user sees.
type badRequest string

func (e badRequest) Error() string        { return string(e) }
func (e badRequest) Is(target error) bool { return target == ErrBadRequest }

// timeoutError reports a query that ran past the tenant's query timeout.
type timeoutError string

func (e timeoutError) Error() string        { return string(e) }
func (e timeoutError) Is(target error) bool { return target == ErrTimeout }

// Query parses and evaluates p.Query.
func (e *Engine) Query(ctx context.Context, tenant string, p Params) (Result, error) {
	began := time.Now()
	expr, err := syntax.ParseExpr(p.Query)
	if err != nil {
		return Result{}, err
	}
	limits := e.limits.For(tenant)
	if limits.QueryTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(limits.QueryTimeout))
		defer cancel()
	}
	var res Result
	switch ex := expr.(type) {
	case syntax.LogSelectorExpr:
		if p.Instant {
			return Result{}, badRequest("log queries are not supported as an instant query type, please change your query to a range query type")
		}
		res, err = e.execLogs(ctx, tenant, ex, p)
	case syntax.SampleExpr:
		res, err = e.execSamples(ctx, tenant, ex, p)
	default:
		return Result{}, badRequest(fmt.Sprintf("unsupported query %q", p.Query))
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return Result{}, timeoutError(fmt.Sprintf("query timed out after %s", time.Duration(limits.QueryTimeout)))
	}
	if err != nil {
		return Result{}, err
	}
	res.Stats.ExecTimeSeconds = time.Since(began).Seconds()
	return res, nil
}

// execLogs runs a log query: the newest (backward) or oldest (forward) Limit
// entries of [Start, End), grouped by stream.
func (e *Engine) execLogs(ctx context.Context, tenant string, ex syntax.LogSelectorExpr, p Params) (Result, error) {
	pipeline, err := log.NewPipeline(ex, index.Fingerprint)
	if errors.Is(err, log.ErrUnsupported) {
		return Result{}, badRequest(err.Error())
	}
	if err != nil {
		return Result{}, err
	}
	it, err := e.q.SelectLogs(ctx, tenant, SelectLogParams{
		Start: p.Start, End: p.End, Direction: p.Direction, Limit: p.Limit,
		Query: ex.String(), Matchers: ex.Matchers(), Pipeline: pipeline,
	})
	if err != nil {
		return Result{}, err
	}
	defer it.Close()

	type group struct {
		lbls labels.Labels
		idx  int
	}
	byHash := map[uint64][]group{}
	res := Result{Type: ValueStreams}
	var (
		n       uint32
		last    int64
		emitted bool
	)
	for n < p.Limit && it.Next() {
		entry := it.At()
		if p.Interval > 0 && emitted {
			if p.Direction == logproto.Forward && entry.Timestamp < last+p.Interval ||
				p.Direction == logproto.Backward && entry.Timestamp > last-p.Interval {
				continue
			}
		}
		emitted, last = true, entry.Timestamp
		lbls, h := it.Labels(), it.StreamHash()
		gi := -1
		for _, g := range byHash[h] {
			if labels.Equal(g.lbls, lbls) {
				gi = g.idx
				break
			}
		}
		if gi < 0 {
			gi = len(res.Streams)
			res.Streams = append(res.Streams, Stream{Labels: lbls})
			byHash[h] = append(byHash[h], group{lbls: lbls, idx: gi})
		}
		res.Streams[gi].Entries = append(res.Streams[gi].Entries, entry)
		n++
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
		}
	}
	if err := it.Err(); err != nil {
		return Result{}, err
	}
	res.Stats.TotalEntriesReturned = int64(n)
	return res, nil
}
