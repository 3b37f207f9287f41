package querier

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/iter"
	"github.com/skald-logs/skald/pkg/logproto"
	"github.com/skald-logs/skald/pkg/logql"
)

// labelSource answers label names and values of fixed series, filtered
// by the matchers it is given.
type labelSource struct{ series []labels.Labels }

func (s labelSource) matching(ms []*labels.Matcher) []labels.Labels {
	var out []labels.Labels
	for _, ls := range s.series {
		if matchAll(ls, ms) {
			out = append(out, ls)
		}
	}
	return out
}

func (s labelSource) LabelNames(_ context.Context, _ string, _, _ int64, ms []*labels.Matcher) ([]string, error) {
	var out []string
	for _, ls := range s.matching(ms) {
		ls.Range(func(l labels.Label) { out = append(out, l.Name) })
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (s labelSource) LabelValues(_ context.Context, _, name string, _, _ int64, ms []*labels.Matcher) ([]string, error) {
	var out []string
	for _, ls := range s.matching(ms) {
		if v := ls.Get(name); v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (labelSource) SelectLogs(context.Context, string, logql.SelectLogParams) (iter.EntryIterator, error) {
	return iter.Empty, nil
}

func (labelSource) Series(context.Context, string, int64, int64, [][]*labels.Matcher) ([]labels.Labels, error) {
	return nil, nil
}

func TestDetectedLabels(t *testing.T) {
	ing := labelSource{series: []labels.Labels{
		labels.FromStrings("app", "api", "job", "smoke", "level", "info", "service_name", "api"),
		labels.FromStrings("app", "worker", "job", "smoke", "service_name", "worker", "pod", "17"),
	}}
	store := labelSource{series: []labels.Labels{
		labels.FromStrings("app", "api", "job", "smoke", "level", "error", "service_name", "api", "pod", "18"),
		labels.FromStrings("app", "old", "job", "other", "trace", "0f8fad5b-d9cb-469f-a165-70867728950e", "debug", "1", "port", "8080"),
		labels.FromStrings("app", "old2", "job", "other", "trace", "{7c9e6679-7425-40de-944b-e07fc1f90ae7}", "debug", "0", "port", "8081", "shard", "3"),
		labels.FromStrings("app", "old3", "job", "other", "trace", "25bbdcd06c32d477f7fa1c3e4a91b032", "port", "x8082"),
	}}
	q := New(Config{}, ing, store, nil)
	for _, tc := range []struct {
		query string
		want  string
	}{
		// Labels with only IDs go (trace: UUIDs, shard: a number); a boolean
		// 0/1 label stays, and so do pod (static) and port (one non-number).
		// Highest cardinality first, then by name.
		{"", "[app:5 port:3 debug:2 job:2 level:2 pod:2 service_name:2]"},
		{`{job="smoke"}`, "[app:2 level:2 pod:2 service_name:2 job:1]"},
	} {
		got, err := q.DetectedLabels(context.Background(), "t", logproto.DetectedLabelsRequest{Start: 0, End: 10, Query: tc.query})
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, dl := range got {
			s = append(s, fmt.Sprintf("%s:%d", dl.Label, dl.Cardinality))
		}
		if fmt.Sprint(s) != tc.want {
			t.Errorf("query %q: %v, want %v", tc.query, s, tc.want)
		}
	}
}

func TestAllIDs(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{[]string{"1", "2", "3"}, true},
		{[]string{"0", "1"}, false},
		{[]string{"1"}, false},
		{[]string{"2"}, true},
		{[]string{"1.5", "0f8fad5b-d9cb-469f-a165-70867728950e"}, true},
		{[]string{"urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e", "7"}, true},
		{[]string{"0f8fad5bd9cb469fa16570867728950e", "x"}, false},
		{[]string{"0f8fad5b-d9cb-469f-a165-70867728950", "1", "2"}, false},
		{[]string{"api"}, false},
	} {
		if got := allIDs(tc.values); got != tc.want {
			t.Errorf("allIDs(%q) = %v, want %v", tc.values, got, tc.want)
		}
	}
}
