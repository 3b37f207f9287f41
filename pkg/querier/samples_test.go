package querier

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/index"
	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
	"github.com/skald-logs/skald/pkg/logql/log"
	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// rawEntries is a log.RawIterator over the entries of a source.
type rawEntries struct {
	es []logproto.Entry
	i  int
}

func (r *rawEntries) Next() bool { r.i++; return r.i < len(r.es) }
func (r *rawEntries) At() (int64, []byte, []logproto.LabelAdapter) {
	return r.es[r.i].Timestamp, []byte(r.es[r.i].Line), r.es[r.i].StructuredMetadata
}
func (r *rawEntries) Err() error   { return nil }
func (r *rawEntries) Close() error { return nil }

// sampleSource extracts samples itself, as the ingester and the store do.
type sampleSource struct {
	*source
	sampleAsked [][2]int64
}

func (s *sampleSource) entries(from, through int64) []logproto.Entry {
	var es []logproto.Entry
	for _, t := range s.ts {
		if t >= from && t < through {
			es = append(es, logproto.Entry{Timestamp: t, Line: fmt.Sprint(t), StructuredMetadata: []logproto.LabelAdapter{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}})
		}
	}
	return es
}

func (s *sampleSource) SelectSamples(_ context.Context, _ string, p logql.SelectSampleParams) (iter.SampleIterator, error) {
	s.sampleAsked = append(s.sampleAsked, [2]int64{p.Start, p.End})
	raw := &rawEntries{es: s.entries(p.Start, p.End), i: -1}
	return log.NewSampleIterator(raw, p.Extractor.ForStream(s.lbls), index.Fingerprint(s.lbls), p.Stats), nil
}

// logSource has SelectLogs but not SelectSamples; its metadata comes in
// the other order.
type logSource struct{ s *sampleSource }

func (l logSource) LabelNames(ctx context.Context, t string, f, u int64, ms []*labels.Matcher) ([]string, error) {
	return l.s.LabelNames(ctx, t, f, u, ms)
}

func (l logSource) LabelValues(ctx context.Context, t, n string, f, u int64, ms []*labels.Matcher) ([]string, error) {
	return l.s.LabelValues(ctx, t, n, f, u, ms)
}

func (l logSource) Series(ctx context.Context, t string, f, u int64, g [][]*labels.Matcher) ([]labels.Labels, error) {
	return l.s.Series(ctx, t, f, u, g)
}

func (l logSource) SelectLogs(_ context.Context, _ string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	l.s.asked = append(l.s.asked, [2]int64{p.Start, p.End})
	var out []iter.StreamEntry
	for _, e := range l.s.entries(p.Start, p.End) {
		e.StructuredMetadata = []logproto.LabelAdapter{e.StructuredMetadata[1], e.StructuredMetadata[0]}
		out = append(out, iter.StreamEntry{Entry: e, Labels: l.s.lbls, Hash: index.Fingerprint(l.s.lbls)})
	}
	return iter.NewSliceIterator(out), nil
}

func TestSelectSamplesMergesSources(t *testing.T) {
	now := time.Unix(0, 10000)
	lbls := labels.FromStrings("app", "a")
	ing := &sampleSource{source: &source{lbls: lbls, ts: []int64{5, 6, 7}}}
	st := &sampleSource{source: &source{lbls: lbls, ts: []int64{1, 2, 5, 6}}}
	e, err := syntax.ParseExpr(`count_over_time({app="a"}[1m])`)
	if err != nil {
		t.Fatal(err)
	}
	x, err := log.NewSampleExtractor(e.(syntax.SampleExpr), index.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	ms := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "app", "a")}
	// The store answers from SelectLogs: the same entries must still be
	// recognised as replicas of the ingester's.
	var _ SampleSource = st
	if _, ok := Source(logSource{st}).(SampleSource); ok {
		t.Fatal("logSource must not extract samples")
	}
	for _, store := range []Source{st, logSource{st}} {
		q := New(Config{QueryIngestersWithin: 10000 - 4}, ing, store, nil)
		q.now = func() time.Time { return now }
		var c log.Counters
		it, err := q.SelectSamples(context.Background(), "t", logql.SelectSampleParams{Start: 0, End: 100, Matchers: ms, Extractor: x, Stats: &c})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for it.Next() {
			got = append(got, fmt.Sprintf("%d=%g", it.At().Timestamp, it.At().Value))
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		_ = it.Close()
		if fmt.Sprint(got) != "[1=1 2=1 5=1 6=1 7=1]" {
			t.Errorf("%T: merged %v", store, got)
		}
		if c.Lines != 7 {
			t.Errorf("%T: counted %d lines, want 7", store, c.Lines)
		}
	}
	// The ingesters were asked only for the recent part of the range.
	if fmt.Sprint(ing.sampleAsked) != "[[4 100] [4 100]]" {
		t.Errorf("ingester asked for %v", ing.sampleAsked)
	}
	if fmt.Sprint(st.sampleAsked) != "[[0 100]]" || fmt.Sprint(st.asked) != "[[0 100]]" {
		t.Errorf("store asked for samples %v and entries %v, want each once", st.sampleAsked, st.asked)
	}
}
