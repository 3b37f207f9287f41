package logql

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/validation"
)

// memStream is a stream held in memory by memQuerier, entries oldest first.
type memStream struct {
	lbls    labels.Labels
	entries []logproto.Entry
}

// memQuerier is an in-memory source with both SelectLogs and
// SelectSamples, the way the ingester answers them.
type memQuerier struct {
	streams []memStream
}

// logsOnly hides SelectSamples, so the engine takes its SelectLogs path.
type logsOnly struct{ q *memQuerier }

func (l logsOnly) SelectLogs(ctx context.Context, tenant string, p SelectLogParams) (iter.EntryIterator, error) {
	return l.q.SelectLogs(ctx, tenant, p)
}

func matchesAll(lbls labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lbls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// window returns the entries of s in [start, end), in dir order; forward
// it is a part of s.entries, not a copy.
func (s *memStream) window(start, end int64, dir logproto.Direction) []logproto.Entry {
	byTS := func(e logproto.Entry, t int64) int { return cmp.Compare(e.Timestamp, t) }
	i, _ := slices.BinarySearchFunc(s.entries, start, byTS)
	j, _ := slices.BinarySearchFunc(s.entries, end, byTS)
	out := s.entries[i:max(i, j)]
	if dir == logproto.Backward {
		out = slices.Clone(out)
		slices.Reverse(out)
	}
	return out
}

func (q *memQuerier) SelectLogs(_ context.Context, _ string, p SelectLogParams) (iter.EntryIterator, error) {
	var its []iter.EntryIterator
	for i := range q.streams {
		s := &q.streams[i]
		if !matchesAll(s.lbls, p.Matchers) {
			continue
		}
		raw := &rawSlice{entries: s.window(p.Start, p.End, p.Direction), i: -1}
		its = append(its, log.NewEntryIterator(raw, p.Pipeline.ForStream(s.lbls), nil))
	}
	return iter.NewMergeIterator(its, p.Direction), nil
}

func (q *memQuerier) SelectSamples(_ context.Context, _ string, p SelectSampleParams) (iter.SampleIterator, error) {
	var its []iter.SampleIterator
	for i := range q.streams {
		s := &q.streams[i]
		if !matchesAll(s.lbls, p.Matchers) {
			continue
		}
		raw := &rawSlice{entries: s.window(p.Start, p.End, logproto.Forward), i: -1}
		its = append(its, log.NewSampleIterator(raw, p.Extractor.ForStream(s.lbls), index.Fingerprint(s.lbls), p.Stats))
	}
	return iter.NewSampleMergeIterator(its), nil
}

// rawSlice is a log.RawIterator over entries.
type rawSlice struct {
	entries []logproto.Entry
	i       int
	buf     []byte
}

func (r *rawSlice) Next() bool {
	r.i++
	return r.i < len(r.entries)
}

func (r *rawSlice) At() (int64, []byte, []logproto.LabelAdapter) {
	e := &r.entries[r.i]
	r.buf = append(r.buf[:0], e.Line...)
	return e.Timestamp, r.buf, e.StructuredMetadata
}
func (r *rawSlice) Err() error   { return nil }
func (r *rawSlice) Close() error { return nil }

// sec is a time in Unix ns from seconds.
func sec(s float64) int64 { return int64(s * float64(time.Second)) }

// stream builds a memStream from a selector-like label string and entries
// given as "seconds line" pairs (seconds may be fractional).
func stream(lbls string, entries ...string) memStream {
	ls, err := logproto.ParseLabels(lbls)
	if err != nil {
		panic(err)
	}
	s := memStream{lbls: ls}
	for _, e := range entries {
		ts, line, _ := strings.Cut(e, " ")
		f, err := strconv.ParseFloat(ts, 64)
		if err != nil {
			panic(err)
		}
		s.entries = append(s.entries, logproto.Entry{Timestamp: sec(f), Line: line})
	}
	slices.SortStableFunc(s.entries, func(a, b logproto.Entry) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	return s
}

// withMetadata sets structured metadata on every entry of s.
func withMetadata(s memStream, kv ...string) memStream {
	var sm []logproto.LabelAdapter
	for i := 0; i+1 < len(kv); i += 2 {
		sm = append(sm, logproto.LabelAdapter{Name: kv[i], Value: kv[i+1]})
	}
	for i := range s.entries {
		s.entries[i].StructuredMetadata = sm
	}
	return s
}

func newTestEngine(q Querier, maxSeries int) *Engine {
	lim := validation.Limits{MaxQuerySeries: maxSeries}
	return NewEngine(q, validation.NewOverrides(lim, nil), slog.New(slog.DiscardHandler))
}

// rangeParams is a range query from start to end (seconds) every step.
func rangeParams(q string, start, end, step float64) Params {
	return Params{Query: q, Start: sec(start), End: sec(end), Step: sec(step), Limit: 100, Direction: logproto.Backward}
}

func instantParams(q string, at float64) Params {
	return Params{Query: q, Start: sec(at), End: sec(at), Limit: 100, Direction: logproto.Backward, Instant: true}
}

// formatResult prints a metric result compactly, one series or sample per
// line: `{labels} t=v t=v`, times in seconds, values as %g.
func formatResult(r Result) string {
	var b strings.Builder
	fv := func(v float64) string {
		if math.IsNaN(v) {
			return "NaN"
		}
		return strconv.FormatFloat(v, 'g', 10, 64)
	}
	ft := func(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64) }
	switch r.Type {
	case ValueMatrix:
		for _, s := range r.Matrix {
			b.WriteString(s.Metric.String())
			for _, p := range s.Points {
				fmt.Fprintf(&b, " %s=%s", ft(p.T), fv(p.V))
			}
			b.WriteByte('\n')
		}
	case ValueVector:
		for _, s := range r.Vector {
			fmt.Fprintf(&b, "%s %s=%s\n", s.Metric.String(), ft(s.T), fv(s.V))
		}
	case ValueScalar:
		fmt.Fprintf(&b, "scalar %s=%s\n", ft(r.Scalar.T), fv(r.Scalar.V))
	default:
		fmt.Fprintf(&b, "type %s\n", r.Type)
	}
	return b.String()
}

// runBoth runs p on a SelectSamples source and on a SelectLogs-only one
// and fails unless both give the same answer, which it returns.
func runBoth(t *testing.T, streams []memStream, p Params) (Result, error) {
	t.Helper()
	q := &memQuerier{streams: streams}
	res, err := newTestEngine(q, 500).Query(context.Background(), "t", p)
	res2, err2 := newTestEngine(logsOnly{q}, 500).Query(context.Background(), "t", p)
	if fmt.Sprint(err) != fmt.Sprint(err2) {
		t.Fatalf("SelectSamples error %v, SelectLogs error %v", err, err2)
	}
	if err == nil && formatResult(res) != formatResult(res2) {
		t.Fatalf("SelectSamples answer\n%s\ndiffers from SelectLogs answer\n%s", formatResult(res), formatResult(res2))
	}
	return res, err
}
