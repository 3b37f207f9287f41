package objstoretest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/skald-logs/skald/pkg/objstore"
)

func testList(t *testing.T, b objstore.Bucket) {
	// Put in an order unrelated to the sorted order.
	keys := []string{
		"index/fake/20412/b",
		"a/bc",
		"a/b/d",
		"a/b.txt",
		"c/d/e/f",
		"a/b/c",
		"a/b0/x",
		"a/b-/y",
		"index/fake/20411/a",
		"a/ba/z",
		"b",
		"index/fake/20412/a/deep/key",
		"index/other/20412/a",
		"chunks/fake/00ab/1",
	}
	for _, k := range keys {
		mustPut(t, b, k, []byte(k))
	}
	all := slices.Sorted(slices.Values(keys))
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", all},
		{"a", []string{"a/b-/y", "a/b.txt", "a/b/c", "a/b/d", "a/b0/x", "a/ba/z", "a/bc"}},
		{"a/", []string{"a/b-/y", "a/b.txt", "a/b/c", "a/b/d", "a/b0/x", "a/ba/z", "a/bc"}},
		{"a/b", []string{"a/b/c", "a/b/d"}},
		{"a/b/", []string{"a/b/c", "a/b/d"}},
		{"a/b/c", nil},
		{"a/bc", nil},
		{"c", []string{"c/d/e/f"}},
		{"c/d/e", []string{"c/d/e/f"}},
		{"index", []string{"index/fake/20411/a", "index/fake/20412/a/deep/key", "index/fake/20412/b", "index/other/20412/a"}},
		{"index/fake", []string{"index/fake/20411/a", "index/fake/20412/a/deep/key", "index/fake/20412/b"}},
		{"index/fake/20412", []string{"index/fake/20412/a/deep/key", "index/fake/20412/b"}},
		{"index/fak", nil},
		{"b", nil},
		{"nope", nil},
		{"nope/deeper", nil},
	}
	for _, tc := range tests {
		got := listAll(t, b, tc.prefix)
		if !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func testListEmpty(t *testing.T, b objstore.Bucket) {
	for _, prefix := range []string{"", "a", "a/b/"} {
		if got := listAll(t, b, prefix); len(got) != 0 {
			t.Errorf("List(%q) of an empty bucket = %q", prefix, got)
		}
	}
}

func testListStop(t *testing.T, b objstore.Bucket) {
	for _, k := range []string{"x/1", "x/2", "x/3", "y/1"} {
		mustPut(t, b, k, []byte(k))
	}
	stop := errors.New("stop")
	var seen []string
	err := b.List(context.Background(), "", func(key string) error {
		seen = append(seen, key)
		if len(seen) == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("List error = %v, want the error of fn", err)
	}
	if want := []string{"x/1", "x/2"}; !slices.Equal(seen, want) {
		t.Errorf("List called fn with %q, want %q", seen, want)
	}
}

func testDelete(t *testing.T, b objstore.Bucket) {
	ctx := context.Background()
	keys := []string{"chunks/fake/00ab/1", "chunks/fake/00ab/2", "chunks/fake/00cd/1", "index/fake/1"}
	for _, k := range keys {
		mustPut(t, b, k, []byte(k))
	}
	if err := b.Delete(ctx, "chunks/fake/00ab/1"); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, b, "chunks/fake/00ab/1")
	if got, want := listAll(t, b, ""), []string{"chunks/fake/00ab/2", "chunks/fake/00cd/1", "index/fake/1"}; !slices.Equal(got, want) {
		t.Errorf("List after one delete = %q, want %q", got, want)
	}
	// Deleting again, and deleting keys that never existed, is fine.
	for _, k := range []string{"chunks/fake/00ab/1", "never", "never/was/here"} {
		if err := b.Delete(ctx, k); err != nil {
			t.Errorf("Delete(%q) of a missing key: %v", k, err)
		}
	}
	// Empty the "directory" chunks/fake/00ab, then use it again.
	if err := b.Delete(ctx, "chunks/fake/00ab/2"); err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, b, "chunks/fake/00ab"); len(got) != 0 {
		t.Errorf("List(chunks/fake/00ab) after deleting all = %q", got)
	}
	if got, want := listAll(t, b, "chunks"), []string{"chunks/fake/00cd/1"}; !slices.Equal(got, want) {
		t.Errorf("List(chunks) = %q, want %q", got, want)
	}
	mustPut(t, b, "chunks/fake/00ab/3", []byte("again"))
	if got := mustGet(t, b, "chunks/fake/00ab/3"); string(got) != "again" {
		t.Errorf("Get after re-put = %q", got)
	}
	for _, k := range []string{"chunks/fake/00ab/3", "chunks/fake/00cd/1", "index/fake/1"} {
		if err := b.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if got := listAll(t, b, ""); len(got) != 0 {
		t.Errorf("List after deleting everything = %q", got)
	}
}
