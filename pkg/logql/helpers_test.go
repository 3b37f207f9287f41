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
// SelectSamples, the way the ingester answers them: samples are kept per
// stream (iter.SampleSet).
type memQuerier struct {
	streams []memStream
	// replicas: SelectSamples gives every stream a second part holding a
	// replica of every other entry, as when the ingesters and the store
	// both hold a stream's entries, and the parts of all streams in
	// reverse order after the first parts.
	replicas bool
	// merged: SelectSamples merges the streams in time order instead.
	merged bool
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
	var parts, replicas []iter.StreamSamples
	for i := range q.streams {
		s := &q.streams[i]
		if !matchesAll(s.lbls, p.Matchers) {
			continue
		}
		fp := index.Fingerprint(s.lbls)
		raw := &rawSlice{entries: s.window(p.Start, p.End, logproto.Forward), i: -1}
		parts = append(parts, iter.StreamSamples{Labels: s.lbls, Fingerprint: fp,
			It: log.NewStreamSampleIterator(raw, p.Extractor.ForStream(s.lbls), fp, p.Stats)})
		if q.replicas {
			var half []logproto.Entry
			for j, e := range s.window(p.Start, p.End, logproto.Forward) {
				if j%2 == 1 {
					half = append(half, e)
				}
			}
			raw := &rawSlice{entries: half, i: -1}
			replicas = append(replicas, iter.StreamSamples{Labels: s.lbls, Fingerprint: fp,
				It: log.NewStreamSampleIterator(raw, p.Extractor.ForStream(s.lbls), fp, nil)})
		}
	}
	slices.Reverse(replicas)
	set := iter.NewSampleSet(append(parts, replicas...))
	if q.merged {
		return iter.NewSampleMergeIterator([]iter.SampleIterator{set}), nil
	}
	return set, nil
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

// sources are the ways a test source can answer a metric query: per
// stream, per stream with replicas, merged in time order, and from
// SelectLogs (merged entries).
func sources(streams []memStream) map[string]Querier {
	q := &memQuerier{streams: streams}
	return map[string]Querier{
		"per stream":               q,
		"per stream with replicas": &memQuerier{streams: streams, replicas: true},
		"merged":                   &memQuerier{streams: streams, merged: true},
		"from logs":                logsOnly{q},
	}
}

// runBoth runs p on every kind of source (sources) and fails unless all
// give the same answer, which it returns.
func runBoth(t *testing.T, streams []memStream, p Params) (Result, error) {
	t.Helper()
	return runAll(t, streams, p)
}

func runAll(tb testing.TB, streams []memStream, p Params) (Result, error) {
	tb.Helper()
	q := &memQuerier{streams: streams}
	res, err := newTestEngine(q, 500).Query(context.Background(), "t", p)
	for name, src := range sources(streams) {
		res2, err2 := newTestEngine(src, 500).Query(context.Background(), "t", p)
		if fmt.Sprint(err) != fmt.Sprint(err2) {
			tb.Fatalf("%s: per stream error %v, %s error %v", p.Query, err, name, err2)
		}
		if err == nil && formatResult(res) != formatResult(res2) {
			tb.Fatalf("%s: per stream answer\n%s\ndiffers from the %s answer\n%s", p.Query, formatResult(res), name, formatResult(res2))
		}
	}
	return res, err
}
