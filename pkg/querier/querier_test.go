package querier

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

// source is a fixed set of entries of one stream, standing in for an
// ingester or the store; it records the ranges it was asked for.
type source struct {
	lbls   labels.Labels
	ts     []int64
	asked  [][2]int64
	names  []string
	series []labels.Labels
}

func (s *source) SelectLogs(_ context.Context, _ string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	s.asked = append(s.asked, [2]int64{p.Start, p.End})
	var es []iter.StreamEntry
	for _, t := range s.ts {
		if t >= p.Start && t < p.End {
			es = append(es, iter.StreamEntry{Entry: logproto.Entry{Timestamp: t, Line: fmt.Sprint(t)}, Labels: s.lbls, Hash: 1})
		}
	}
	if p.Direction == logproto.Backward {
		for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
			es[i], es[j] = es[j], es[i]
		}
	}
	return iter.NewSliceIterator(es), nil
}

func (s *source) LabelNames(context.Context, string, int64, int64, []*labels.Matcher) ([]string, error) {
	return s.names, nil
}

func (s *source) LabelValues(context.Context, string, string, int64, int64, []*labels.Matcher) ([]string, error) {
	return s.names, nil
}

func (s *source) Series(context.Context, string, int64, int64, [][]*labels.Matcher) ([]labels.Labels, error) {
	return s.series, nil
}

func TestMergesSourcesWithoutDuplicates(t *testing.T) {
	now := time.Unix(10000, 0)
	lbls := labels.FromStrings("app", "a")
	ing := &source{lbls: lbls, ts: []int64{5, 6, 7}, names: []string{"app", "pod"}, series: []labels.Labels{lbls}}
	st := &source{lbls: lbls, ts: []int64{1, 2, 5, 6}, names: []string{"app", "job"}, series: []labels.Labels{lbls, labels.FromStrings("app", "b")}}
	q := New(Config{}, ing, st, nil)
	q.now = func() time.Time { return now }

	it, err := q.SelectLogs(context.Background(), "t", logql.SelectLogParams{Start: 0, End: 100, Direction: logproto.Backward})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for it.Next() {
		got = append(got, it.At().Timestamp)
	}
	if fmt.Sprint(got) != "[7 6 5 2 1]" {
		t.Errorf("merged %v, want [7 6 5 2 1]", got)
	}
	names, err := q.Labels(context.Background(), "t", logproto.LabelRequest{Start: 0, End: 100})
	if err != nil || fmt.Sprint(names) != "[app job pod]" {
		t.Errorf("labels %v %v", names, err)
	}
	series, err := q.Series(context.Background(), "t", logproto.SeriesRequest{Start: 0, End: 100, Groups: []string{`{app=~".+"}`}})
	if err != nil || len(series) != 2 {
		t.Errorf("series %v %v", series, err)
	}
	if _, err := q.Series(context.Background(), "t", logproto.SeriesRequest{Groups: []string{`foo`}}); err == nil {
		t.Error("bad series selector: no error")
	}
}

func TestIngestersAskedOnlyForRecentRanges(t *testing.T) {
	now := time.Unix(100000, 0)
	ing, st := &source{}, &source{}
	q := New(Config{QueryIngestersWithin: 3 * time.Hour}, ing, st, nil)
	q.now = func() time.Time { return now }
	within := now.Add(-3 * time.Hour).UnixNano()

	// A range that ends before the window: the ingesters are not asked.
	if _, err := q.SelectLogs(context.Background(), "t", logql.SelectLogParams{Start: 0, End: within - 1}); err != nil {
		t.Fatal(err)
	}
	if len(ing.asked) != 0 || len(st.asked) != 1 {
		t.Errorf("old range: ingesters asked %v, store %v", ing.asked, st.asked)
	}
	// A range reaching into the window: the ingesters get the recent part.
	if _, err := q.SelectLogs(context.Background(), "t", logql.SelectLogParams{Start: 0, End: now.UnixNano()}); err != nil {
		t.Fatal(err)
	}
	if len(ing.asked) != 1 || ing.asked[0] != [2]int64{within, now.UnixNano()} {
		t.Errorf("recent range: ingesters asked %v", ing.asked)
	}
}
