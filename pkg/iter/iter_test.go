package iter

import (
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logproto"
)

func entries(lbls labels.Labels, hash uint64, pairs ...any) []StreamEntry {
	var out []StreamEntry
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, StreamEntry{Entry: logproto.Entry{Timestamp: int64(pairs[i].(int)), Line: pairs[i+1].(string)}, Labels: lbls, Hash: hash})
	}
	return out
}

func drain(t *testing.T, it EntryIterator) []string {
	t.Helper()
	var out []string
	for it.Next() {
		out = append(out, fmt.Sprintf("%s@%d:%s", it.Labels().Get("s"), it.At().Timestamp, it.At().Line))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMergeDedupe(t *testing.T) {
	a := labels.FromStrings("s", "a")
	b := labels.FromStrings("s", "b")
	// Source 1 and 2 hold the same entries of stream a (ingester and store),
	// with equal-timestamp entries in different orders; source 3 holds b.
	src1 := entries(a, 1, 1, "x", 2, "p", 2, "q", 4, "y")
	src2 := entries(a, 1, 2, "q", 2, "p", 3, "z", 4, "y")
	src3 := entries(b, 2, 2, "b2", 5, "b5")
	it := NewMergeIterator([]EntryIterator{NewSliceIterator(src1), NewSliceIterator(src2), NewSliceIterator(src3)}, logproto.Forward)
	got := drain(t, it)
	want := []string{"a@1:x", "a@2:p", "a@2:q", "b@2:b2", "a@3:z", "a@4:y", "b@5:b5"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("forward\n got %v\nwant %v", got, want)
	}
}

func TestMergeBackward(t *testing.T) {
	a := labels.FromStrings("s", "a")
	src1 := entries(a, 1, 9, "n", 5, "f", 1, "o")
	src2 := entries(a, 1, 7, "s", 5, "f")
	got := drain(t, NewMergeIterator([]EntryIterator{NewSliceIterator(src1), NewSliceIterator(src2)}, logproto.Backward))
	want := []string{"a@9:n", "a@7:s", "a@5:f", "a@1:o"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("backward\n got %v\nwant %v", got, want)
	}
}

func TestMergeKeepsDifferentMetadata(t *testing.T) {
	a := labels.FromStrings("s", "a")
	e1 := StreamEntry{Entry: logproto.Entry{Timestamp: 1, Line: "l", StructuredMetadata: []logproto.LabelAdapter{{Name: "k", Value: "1"}}}, Labels: a, Hash: 1}
	e2 := StreamEntry{Entry: logproto.Entry{Timestamp: 1, Line: "l", StructuredMetadata: []logproto.LabelAdapter{{Name: "k", Value: "2"}}}, Labels: a, Hash: 1}
	got := drain(t, NewMergeIterator([]EntryIterator{NewSliceIterator([]StreamEntry{e1}), NewSliceIterator([]StreamEntry{e2, e1})}, logproto.Forward))
	if len(got) != 2 {
		t.Errorf("got %v, want the two entries that differ in metadata", got)
	}
}
